using System.CommandLine;
using CafConnect.Infrastructure.Admin;
using Spectre.Console;

namespace CafConnect.Cli.Commands;

/// <summary>
/// <c>cafconnect files event --json FILE</c>: applies one file event exactly as <c>POST /admin/v1/file-events</c> does
/// (same JSON, same service, same idempotency by event id), for operators when the benefits system cannot call the API.
/// </summary>
public static class FileCommands
{
    public static Command Create(GlobalOptions globals) => new("files", "Caf files: events from the benefits system")
    {
        Event(globals),
    };

    private static Command Event(GlobalOptions globals)
    {
        var json = new Option<FileInfo>("--json")
        {
            Description = "A JSON file holding one event, as the admin API takes it (docs/admin-api.md): event_id, type "
                + "(person_added, person_removed, separation, mutation, nir_attached, death, file_opened) and its fields",
            HelpName = "FILE",
            Required = true,
        };
        var command = new Command("event",
            "Apply a file event (person added or removed, separation, mutation, NIR attached, death, file opened). "
            + "Sending the same event id again changes nothing; the same id with other content is refused.")
        {
            json,
        };
        CafConnectCli.SetAction(command, globals, requireMigratedStore: true, async (session, parseResult, cancellationToken) =>
        {
            var file = parseResult.GetRequiredValue(json);
            if (!file.Exists)
            {
                throw CliException.Usage($"--json: file '{file.FullName}' not found");
            }
            if (file.Length > AdminJson.MaxBodyBytes)
            {
                throw CliException.Usage($"--json: the file is larger than {AdminJson.MaxBodyBytes} bytes");
            }
            var text = await File.ReadAllTextAsync(file.FullName, cancellationToken);
            if (!AdminJson.TryParse<FileEventRequest>(text, out var request, out var malformed))
            {
                throw CliException.Usage($"--json: {malformed!.Detail}");
            }

            var response = await session.Get<FileEventService>().ApplyAsync(request!, new AdminCaller(null, CliSession.OperatorName), cancellationToken);
            if (response.Problem is { } problem)
            {
                var lines = new List<string> { $"{problem.Code}: {problem.Detail}" };
                lines.AddRange((problem.Errors ?? new Dictionary<string, string[]>()).SelectMany(e => e.Value.Select(message => $"{e.Key}: {message}")));
                throw new CliException(problem.Status == 400 ? ExitCodes.Usage : ExitCodes.Failure, lines);
            }
            session.Console.MarkupLine(response.Replayed
                ? $"Event [bold]{Markup.Escape(request!.EventId!)}[/] was already applied: nothing changed."
                : $"Event [bold]{Markup.Escape(request!.EventId!)}[/] ({Markup.Escape(request.Type!)}) applied.");
            session.Console.WriteLine(response.Body?.GetRawText() ?? "{}");
            return ExitCodes.Success;
        });
        return command;
    }
}
