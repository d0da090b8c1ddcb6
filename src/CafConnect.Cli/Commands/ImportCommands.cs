using System.CommandLine;
using CafConnect.Infrastructure.Audit;
using CafConnect.Infrastructure.Imports;
using Spectre.Console;

namespace CafConnect.Cli.Commands;

/// <summary><c>cafconnect accounts import FILE.csv [--dry-run]</c>: loads persons and files from the agency's export.</summary>
public static class ImportCommands
{
    public const string ImportedEventType = "admin.accounts.imported";

    public static Command Import(GlobalOptions globals)
    {
        var file = new Argument<FileInfo>("file") { Description = "CSV with the header documented in docs/import.md" };
        var dryRun = new Option<bool>("--dry-run") { Description = "Check every row and report, write nothing" };
        var command = new Command("import", "Import persons and files (households) from CSV; a file with a bad row is not imported") { file, dryRun };
        CafConnectCli.SetAction(command, globals, requireMigratedStore: true, async (session, parseResult, cancellationToken) =>
        {
            var path = parseResult.GetValue(file)!;
            if (!path.Exists)
            {
                throw new CliException(ExitCodes.Usage, $"{path.FullName}: no such file");
            }
            var options = new ImportOptions(DryRun: parseResult.GetValue(dryRun));
            var importer = session.Get<AccountImporter>();

            ImportReport report = null!;
            await session.Console.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
                .StartAsync(async context =>
                {
                    var reading = context.AddTask("read and check", maxValue: 1);
                    var writing = context.AddTask(options.DryRun ? "write (dry run: nothing)" : "write", maxValue: 1);
                    var started = DateTime.UtcNow;
                    // Called by the importer from its reading and its writing side, never both at once; at once, on
                    // their thread (System.Progress<T> would run it later on the thread pool, after the import ended).
                    var progress = new InlineProgress<ImportProgress>(p =>
                    {
                        var seconds = Math.Max(0.001, (DateTime.UtcNow - started).TotalSeconds);
                        reading.MaxValue = Math.Max(1, p.RowsTotal);
                        reading.Value = p.RowsRead;
                        reading.Description = $"read and check: {p.RowsRead:N0} rows ({p.RowsRead / seconds:N0} rows/s), {p.RowsRefused:N0} refused";
                        if (p.RowsWritten > 0)
                        {
                            writing.MaxValue = Math.Max(1, p.RowsTotal);
                            writing.Value = p.RowsWritten;
                            writing.Description = $"write: {p.RowsWritten:N0} rows ({p.RowsWritten / seconds:N0} rows/s)";
                        }
                    });
                    // The importer reads the file twice: a quick pass to find where each file ends, then the import.
                    report = await importer.ImportAsync(
                        () => new StreamReader(new FileStream(path.FullName, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16), System.Text.Encoding.UTF8, detectEncodingFromByteOrderMarks: true),
                        options, progress, cancellationToken);
                    reading.Value = reading.MaxValue;
                    writing.Value = writing.MaxValue;
                });

            foreach (var problem in report.Problems.Take(200))
            {
                await session.Error.WriteLineAsync($"refused: line {problem.Line}: {problem.Reason}");
            }
            if (report.Problems.Count > 200)
            {
                await session.Error.WriteLineAsync($"refused: … and {report.Problems.Count - 200} more");
            }
            foreach (var warning in report.Warnings.Take(50))
            {
                await session.Error.WriteLineAsync($"warning: line {warning.Line}: {warning.Reason}");
            }

            var summary = $"rows read={report.RowsRead}; rows {(report.DryRun ? "valid" : "imported")}={report.RowsImported}; " +
                $"files={report.HouseholdsImported}; refused={report.Problems.Count}; warnings={report.Warnings.Count}; " +
                // Rows that named an existing person with another civil status (issue 18): counted in the audit row.
                $"identity_conflicts={report.Problems.Count(p => p.Reason.EndsWith(CafConnect.Domain.Imports.ImportReconciliation.CivilStatusConflict, StringComparison.Ordinal))}; " +
                $"elapsed={report.Elapsed.TotalSeconds:F1}s; rate={report.RowsImported / Math.Max(0.001, report.Elapsed.TotalSeconds):F0} rows/s";
            session.Console.MarkupLine(Markup.Escape((report.DryRun ? "Dry run, nothing written: " : "Imported: ") + summary));
            if (!report.DryRun)
            {
                await session.AuditedAsync(_ => Task.FromResult(new AuditEntry(ImportedEventType, report.Problems.Count == 0 ? "complete" : "partial",
                    Details: $"file={path.Name}; {summary}")), cancellationToken);
            }
            return report.Problems.Count == 0 ? ExitCodes.Success : ExitCodes.Usage;
        });
        return command;
    }
}

/// <summary>Reports progress on the caller's thread, at once.</summary>
internal sealed class InlineProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
