using System.CommandLine;
using CafConnect.Application.Admin;
using Spectre.Console;

namespace CafConnect.Cli.Commands;

/// <summary>
/// <c>cafconnect files event --json FILE</c>: applies one file event exactly as <c>POST /admin/v1/file-events</c> does
/// (same JSON, same service, same idempotency by event id), for operators when the benefits system cannot call the API.
/// <c>cafconnect files register-applicant --json FILE</c>: registers a first-time applicant exactly as
/// <c>POST /admin/v1/applicants</c> does (same service, idempotent by application id).
/// </summary>
public static class FileCommands
{
    public static Command Create(GlobalOptions globals) => new("files", "Caf files: events and first-time applicants from the benefits system")
    {
        Event(globals),
        RegisterApplicant(globals),
    };

    private static Command RegisterApplicant(GlobalOptions globals)
    {
        var json = new Option<FileInfo>("--json")
        {
            Description = "A JSON file holding one application, as the admin API takes it (docs/admin-api.md): application_id, "
                + "channel (en_ligne, papier), benefit (aide_logement, prime_naissance) and applicant (nir or civil status, contact)",
            HelpName = "FILE",
            Required = true,
        };
        var client = ClientOption();
        var command = new Command("register-applicant",
            "Register a first-time applicant: a pending file, an account if none, and a provisional password sent by SMS or "
            + "letter (two letters for a paper application). Prints the new file number, never the password. Sending the "
            + "same application id again changes nothing; the same id with other content is refused.")
        {
            json, client,
        };
        CafConnectCli.SetAction(command, globals, requireMigratedStore: true, async (session, parseResult, cancellationToken) =>
        {
            var request = await ReadAsync<ApplicantRegistrationRequest>(parseResult.GetRequiredValue(json), cancellationToken);
            var caller = await CallerAsync(session, parseResult.GetValue(client), cancellationToken);
            var response = await session.Get<ApplicantRegistration>().RegisterAsync(request, caller, cancellationToken);
            ThrowIfProblem(response);
            var body = response.Body!.Value;
            var fileNumber = body.GetProperty("file_number").GetString()!;
            var delivery = body.GetProperty("password_delivery").GetString();
            session.Console.MarkupLine(response.Replayed
                ? $"Application [bold]{Markup.Escape(request.ApplicationId!)}[/] was already registered: file number [bold]{fileNumber}[/]; nothing changed or sent again."
                : $"Application [bold]{Markup.Escape(request.ApplicationId!)}[/] registered: file number [bold]{fileNumber}[/]; "
                    + (delivery == "none" ? "the person keeps their own password." : $"provisional password sent by {Markup.Escape(delivery ?? "?")}."));
            // The answer of the API: file number, login kind, provisional identifier, delivery; no password in it.
            session.Console.WriteLine(body.GetRawText());
            return ExitCodes.Success;
        });
        return command;
    }

    private static Option<string?> ClientOption() => new("--client")
    {
        Description = "The service client whose ids the JSON carries (the benefits system's client at the admin API): an id "
            + "already applied through the API is not applied again. Default: the only service client with the scope cafconnect.admin",
        HelpName = "CLIENT_ID",
    };

    /// <summary>The operator, acting in the id namespace of the service client (decision 20: one id, one application, whichever door).</summary>
    private static async Task<AdminCaller> CallerAsync(CliSession session, string? clientId, CancellationToken cancellationToken)
    {
        var (caller, problem) = await session.Get<OperatorCaller>().ResolveAsync(CliSession.OperatorName, clientId, cancellationToken);
        return caller ?? throw CliException.Usage(problem!);
    }

    /// <summary>The JSON file of one admin request, with the API's rules (size, snake_case, unknown fields refused).</summary>
    private static async Task<T> ReadAsync<T>(FileInfo file, CancellationToken cancellationToken) where T : class
    {
        if (!file.Exists)
        {
            throw CliException.Usage($"--json: file '{file.FullName}' not found");
        }
        if (file.Length > AdminJson.MaxBodyBytes)
        {
            throw CliException.Usage($"--json: the file is larger than {AdminJson.MaxBodyBytes} bytes");
        }
        var text = await File.ReadAllTextAsync(file.FullName, cancellationToken);
        if (!AdminJson.TryParse<T>(text, out var request, out var malformed))
        {
            throw CliException.Usage($"--json: {malformed!.Detail}");
        }
        return request!;
    }

    /// <summary>A refusal of the service as the CLI's error lines: exit code 2 for a bad request, 1 otherwise.</summary>
    private static void ThrowIfProblem(AdminResponse response)
    {
        if (response.Problem is { } problem)
        {
            var lines = new List<string> { $"{problem.Code}: {problem.Detail}" };
            lines.AddRange((problem.Errors ?? new Dictionary<string, string[]>()).SelectMany(e => e.Value.Select(message => $"{e.Key}: {message}")));
            throw new CliException(problem.Status == 400 ? ExitCodes.Usage : ExitCodes.Failure, lines);
        }
    }

    private static Command Event(GlobalOptions globals)
    {
        var json = new Option<FileInfo>("--json")
        {
            Description = "A JSON file holding one event, as the admin API takes it (docs/admin-api.md): event_id, type "
                + "(person_added, person_removed, separation, mutation, nir_attached, death, file_opened) and its fields; a separation names "
                + "each child with the file that keeps them (children)",
            HelpName = "FILE",
            Required = true,
        };
        var client = ClientOption();
        var command = new Command("event",
            "Apply a file event (person added or removed, separation, mutation, NIR attached, death, file opened). "
            + "Sending the same event id again changes nothing; the same id with other content is refused.")
        {
            json, client,
        };
        CafConnectCli.SetAction(command, globals, requireMigratedStore: true, async (session, parseResult, cancellationToken) =>
        {
            var request = await ReadAsync<FileEventRequest>(parseResult.GetRequiredValue(json), cancellationToken);
            var caller = await CallerAsync(session, parseResult.GetValue(client), cancellationToken);
            var response = await session.Get<FileEventService>().ApplyAsync(request, caller, cancellationToken);
            ThrowIfProblem(response);
            session.Console.MarkupLine(response.Replayed
                ? $"Event [bold]{Markup.Escape(request!.EventId!)}[/] was already applied: nothing changed."
                : $"Event [bold]{Markup.Escape(request!.EventId!)}[/] ({Markup.Escape(request.Type!)}) applied.");
            session.Console.WriteLine(response.Body?.GetRawText() ?? "{}");
            return ExitCodes.Success;
        });
        return command;
    }
}
