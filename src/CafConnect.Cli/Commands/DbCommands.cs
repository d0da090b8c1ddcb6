using System.CommandLine;
using CafConnect.Infrastructure.Audit;
using CafConnect.Infrastructure.Persistence;
using Spectre.Console;

namespace CafConnect.Cli.Commands;

/// <summary><c>cafconnect db migrate</c>.</summary>
public static class DbCommands
{
    /// <summary>Audit event of a migration run that applied something (the CLI's own: the IdP migrates silently at start-up).</summary>
    public const string StoreMigratedEventType = "admin.store.migrated";

    public static Command Create(GlobalOptions globals)
    {
        var migrate = new Command("migrate", "Apply the pending migrations, creating the store when it does not exist yet");
        CafConnectCli.SetAction(migrate, globals, requireMigratedStore: false, async (session, _, cancellationToken) =>
        {
            var migrator = session.Get<DatabaseMigrator>();
            var applied = await session.Console.Status()
                .StartAsync("Applying migrations…", _ => migrator.MigrateAsync(cancellationToken));

            if (applied.Count == 0)
            {
                session.Console.MarkupLine("The store is up to date: no migration to apply.");
                return ExitCodes.Success;
            }

            await session.AuditedAsync(_ => Task.FromResult(
                new AuditEntry(StoreMigratedEventType, "success", Details: "applied=" + string.Join(',', applied))), cancellationToken);
            session.Console.MarkupLine($"Applied {applied.Count} migration(s):");
            foreach (var migration in applied)
            {
                session.Console.MarkupLine($"  [green]✓[/] {Markup.Escape(migration)}");
            }
            return ExitCodes.Success;
        });

        return new Command("db", "The store itself") { migrate };
    }
}
