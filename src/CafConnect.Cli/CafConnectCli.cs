using System.CommandLine;
using System.CommandLine.Invocation;
using CafConnect.Cli.Commands;
using FluentValidation;
using Microsoft.Extensions.DependencyInjection;
using Spectre.Console;

namespace CafConnect.Cli;

/// <summary>The <c>cafconnect</c> administration tool, callable in-process (tests) as well as from <c>Program</c>.</summary>
public static class CafConnectCli
{
    public const string Description = """
        Administers a CafConnect identity provider's store: migrations, relying parties (clients), token keys and
        provisional passwords for people's accounts, the audit trail (query, retention purge) and incident response
        (revoke every session and token issued in a time window).

        The store comes from, lowest precedence first: appsettings.json next to this binary, environment variables
        (Storage__Provider, ConnectionStrings__CafConnect, Storage__DataDirectory), the --config file, then
        --provider and --connection-string. With nothing configured it is the IdP's development store:
        SQLite in data/cafconnect.db under the current directory (Storage:DataDirectory, default 'data').
        Every command prints the store it works on first. Changes are written to the audit trail (channel 'cli').

        Exit codes: 0 done, 2 invalid command line, configuration or data, 1 any other failure,
        3 done but some relying parties could not be told (incident revoke: run it again later).
        """;

    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken = default)
    {
        var globals = new GlobalOptions();
        var root = new RootCommand(Description);
        globals.AddTo(root);
        root.Subcommands.Add(DbCommands.Create(globals));
        root.Subcommands.Add(ClientCommands.Create(globals));
        root.Subcommands.Add(KeyCommands.Create(globals));
        root.Subcommands.Add(AccountCommands.Create(globals));
        root.Subcommands.Add(FileCommands.Create(globals));
        root.Subcommands.Add(AuditCommands.Create(globals));
        root.Subcommands.Add(IncidentCommands.Create(globals));
        root.Subcommands.Add(MaintenanceCommands.Create(globals));

        var parseResult = root.Parse(args);
        if (parseResult.Action is ParseErrorAction)
        {
            foreach (var error in parseResult.Errors)
            {
                await stderr.WriteLineAsync($"error: {OneLine(error.Message)}");
            }
            await stderr.WriteLineAsync($"Run '{CommandPath(parseResult.CommandResult.Command)} --help' for usage.");
            return ExitCodes.Usage;
        }

        var verbose = parseResult.GetValue(globals.Verbose);
        try
        {
            return await parseResult.InvokeAsync(
                new InvocationConfiguration { Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false },
                cancellationToken);
        }
        catch (Exception e)
        {
            return await ReportAsync(e, stderr, verbose);
        }
    }

    /// <summary>Gives <paramref name="command"/> an action that opens the store, prints which one it is, then runs <paramref name="body"/>.</summary>
    internal static void SetAction(Command command, GlobalOptions globals, bool requireMigratedStore,
        Func<CliSession, ParseResult, CancellationToken, Task<int>> body, Func<ParseResult, bool>? machineReadableOutput = null)
    {
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var output = parseResult.InvocationConfiguration.Output;
            var error = parseResult.InvocationConfiguration.Error;
            var console = CliConsole.Create(output);

            await using var host = CliHost.Create(globals.Read(parseResult), error);
            // Machine-readable output (CSV) must stay parseable: the store line goes to stderr then.
            if (machineReadableOutput?.Invoke(parseResult) == true)
            {
                await error.WriteLineAsync($"Store: {CliHost.Describe(host.Storage)}");
            }
            else
            {
                console.MarkupLine($"[grey]Store:[/] {Markup.Escape(CliHost.Describe(host.Storage))}");
            }
            if (requireMigratedStore)
            {
                await host.EnsureStoreReadyAsync(cancellationToken);
            }

            await using var scope = host.Services.CreateAsyncScope();
            return await body(new CliSession(host, scope.ServiceProvider, console, error), parseResult, cancellationToken);
        });
    }

    private static async Task<int> ReportAsync(Exception exception, TextWriter stderr, bool verbose)
    {
        int exitCode;
        switch (exception)
        {
            case CliException cli:
                foreach (var message in cli.Messages)
                {
                    await stderr.WriteLineAsync($"error: {OneLine(message)}");
                }
                exitCode = cli.ExitCode;
                break;
            case ValidationException validation:
                foreach (var failure in validation.Errors)
                {
                    await stderr.WriteLineAsync($"error: {OneLine(ClientCommands.Describe(failure))}");
                }
                exitCode = ExitCodes.Usage;
                break;
            case OperationCanceledException:
                await stderr.WriteLineAsync("error: cancelled");
                exitCode = ExitCodes.Failure;
                break;
            default:
                await stderr.WriteLineAsync($"error: {OneLine(Flatten(exception))}" + (verbose ? string.Empty : " (--verbose shows the details)"));
                exitCode = ExitCodes.Failure;
                break;
        }

        if (verbose)
        {
            await stderr.WriteLineAsync(exception.ToString());
        }
        return exitCode;
    }

    /// <summary>The messages of an exception and its causes, skipping the "see the inner exception" ones.</summary>
    private static string Flatten(Exception exception)
    {
        var messages = new List<string>();
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (!e.Message.Contains("inner exception", StringComparison.OrdinalIgnoreCase) && !messages.Contains(e.Message))
            {
                messages.Add(e.Message);
            }
        }
        return messages.Count == 0 ? exception.GetType().Name : string.Join(": ", messages);
    }

    private static string OneLine(string message) =>
        string.Join(' ', message.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

    private static string CommandPath(Command command)
    {
        var names = new List<string>();
        for (Symbol? symbol = command; symbol is Command c; symbol = c.Parents.FirstOrDefault())
        {
            names.Insert(0, c is RootCommand ? "cafconnect" : c.Name);
        }
        return string.Join(' ', names);
    }
}
