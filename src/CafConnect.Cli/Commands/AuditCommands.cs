using System.CommandLine;
using System.Globalization;
using CafConnect.Domain.Identity;
using CafConnect.Infrastructure.Accounts;
using CafConnect.Infrastructure.Audit;
using CafConnect.Infrastructure.Persistence;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Spectre.Console;

namespace CafConnect.Cli.Commands;

/// <summary><c>cafconnect audit query|purge</c>: what an operator reads from the audit trail, and its retention.</summary>
public static class AuditCommands
{
    /// <summary>Days an audit row is kept when <c>Audit:RetentionDays</c> is not configured.</summary>
    public const int DefaultRetentionDays = CafConnect.Infrastructure.Persistence.RetentionPolicy.DefaultAuditDays;

    /// <summary>A query never returns more than this many rows (narrow the window instead).</summary>
    public const int MaxRows = 100_000;

    public static Command Create(GlobalOptions globals) => new("audit", "The audit trail: query it, purge what is past the retention period")
    {
        Query(globals),
        Purge(globals),
    };

    private static Command Query(GlobalOptions globals)
    {
        var person = new Option<string?>("--person") { Description = "The person's internal id (a GUID)", HelpName = "id" };
        var nir = new Option<string?>("--nir") { Description = "The person's NIR: looked up, then the internal id is printed, never the NIR", HelpName = "nir" };
        var from = new Option<string>("--from") { Description = "Start of the window, inclusive (ISO 8601; without an offset: UTC)", HelpName = "time", Required = true };
        var to = new Option<string>("--to") { Description = "End of the window, exclusive (ISO 8601; without an offset: UTC)", HelpName = "time", Required = true };
        var type = new Option<string?>("--type") { Description = "Only events of this type (e.g. login.failed)", HelpName = "type" };
        var client = new Option<string?>("--client") { Description = "Only events of this client id", HelpName = "client-id" };
        var format = new Option<string>("--format") { Description = "table (default) or csv", HelpName = "table|csv", DefaultValueFactory = _ => "table" };
        format.AcceptOnlyFromAmong("table", "csv");
        var command = new Command("query", "List a person's audit events in a time window, oldest first")
        {
            person, nir, from, to, type, client, format,
        };
        CafConnectCli.SetAction(command, globals, requireMigratedStore: true, async (session, parseResult, cancellationToken) =>
        {
            var start = ParseTime("--from", parseResult.GetRequiredValue(from));
            var end = ParseTime("--to", parseResult.GetRequiredValue(to));
            if (end <= start)
            {
                throw CliException.Usage("--to must be after --from");
            }
            var personId = await ResolvePersonAsync(session, parseResult.GetValue(person), parseResult.GetValue(nir), cancellationToken);
            var eventType = parseResult.GetValue(type)?.Trim();
            var clientId = parseResult.GetValue(client)?.Trim();

            var db = session.Get<CafConnectDbContext>();
            var query = db.AuditEvents.AsNoTracking().Where(e => e.PersonId == personId && e.OccurredAt >= start && e.OccurredAt < end);
            if (!string.IsNullOrEmpty(eventType))
            {
                query = query.Where(e => e.Type == eventType);
            }
            if (!string.IsNullOrEmpty(clientId))
            {
                query = query.Where(e => e.ClientId == clientId);
            }
            // Id follows insertion order: stable ordering for events within the same tick, and on SQLite
            // (where the time is stored as a binary number) it is also the cheapest order.
            var rows = await query.OrderBy(e => e.Id).Take(MaxRows + 1).ToListAsync(cancellationToken);
            if (rows.Count > MaxRows)
            {
                throw CliException.Usage($"more than {MaxRows} events match: narrow the window (--from/--to), --type or --client");
            }
            rows = [.. rows.OrderBy(e => e.OccurredAt).ThenBy(e => e.Id)];

            if (parseResult.GetValue(format) == "csv")
            {
                var output = parseResult.InvocationConfiguration.Output;
                await output.WriteLineAsync(string.Join(',', Columns));
                foreach (var row in rows)
                {
                    await output.WriteLineAsync(string.Join(',', Cells(row).Select(Csv)));
                }
            }
            else
            {
                var table = new Table().Border(TableBorder.Rounded);
                foreach (var column in Columns)
                {
                    table.AddColumn(column);
                }
                foreach (var row in rows)
                {
                    // Text, not markup, and never a control character: a value written by whoever reached an audited
                    // endpoint must not drive the operator's terminal (escape sequences, bell, bidi overrides).
                    table.AddRow(Cells(row).Select(c => new Text(OperatorText.Printable(c))).ToArray());
                }
                session.Console.Write(table);
                session.Console.MarkupLine($"{rows.Count} event(s) for person {personId} from {Format(start)} to {Format(end)}.");
            }
            return ExitCodes.Success;
        }, parseResult => parseResult.GetValue(format) == "csv");
        return command;
    }

    private static Command Purge(GlobalOptions globals)
    {
        var olderThan = new Option<int?>("--older-than")
        {
            Description = $"Delete events older than this many days (default: Audit:RetentionDays, {DefaultRetentionDays})",
            HelpName = "days",
        };
        var dryRun = new Option<bool>("--dry-run") { Description = "Count what would be deleted, delete nothing (audited too)" };
        var force = new Option<bool>("--force") { Description = "Allow --older-than below Audit:RetentionDays (deletes events the policy still keeps)" };
        var command = new Command("purge",
            "Delete audit events past the retention period. The purge itself is audited (admin.audit.purged), "
            + "and that row is never deleted by the run that writes it. Going below Audit:RetentionDays needs --force.")
        {
            olderThan, dryRun, force,
        };
        CafConnectCli.SetAction(command, globals, requireMigratedStore: true, async (session, parseResult, cancellationToken) =>
        {
            var retention = RetentionDays(session.Host.Configuration);
            var days = parseResult.GetValue(olderThan) ?? retention;
            if (days < 1)
            {
                throw CliException.Usage("--older-than: expected a number of days, at least 1");
            }
            var forced = parseResult.GetValue(force);
            // The retention period is a policy (the trail is evidence); a shorter purge is a deliberate, audited exception.
            if (days < retention && !forced && !parseResult.GetValue(dryRun))
            {
                throw CliException.Usage($"--older-than {days} is below the retention period (Audit:RetentionDays = {retention} days): "
                    + "add --force to delete events the policy still keeps");
            }
            var cutoff = session.Get<TimeProvider>().GetUtcNow().AddDays(-days);
            var db = session.Get<CafConnectDbContext>();

            if (parseResult.GetValue(dryRun))
            {
                var count = await db.AuditEvents.CountAsync(e => e.OccurredAt < cutoff, cancellationToken);
                // Who looked at what a purge would delete is worth a row too (it counts nothing personal).
                await session.AuditedAsync(_ => Task.FromResult(new AuditEntry(AuditEventTypes.AuditPurgeDryRun, count.ToString(CultureInfo.InvariantCulture),
                    Details: $"older_than_days={days}; retention_days={retention}; cutoff={Format(cutoff)}; would_delete={count}")), cancellationToken);
                session.Console.MarkupLine($"Dry run: {count} audit event(s) older than {Format(cutoff)} ({days} days) would be deleted.");
                return ExitCodes.Success;
            }

            // The delete runs before the purge row is written, in the same transaction: the row recording
            // this purge cannot be one of the rows it deletes, and neither exists without the other.
            var deleted = await session.AuditedAsync(async ct =>
            {
                var n = await db.AuditEvents.Where(e => e.OccurredAt < cutoff).ExecuteDeleteAsync(ct);
                return (n, new AuditEntry(AuditEventTypes.AuditPurged, n.ToString(CultureInfo.InvariantCulture),
                    Details: $"older_than_days={days}; retention_days={retention}; forced={(days < retention ? "yes" : "no")}; cutoff={Format(cutoff)}; deleted={n}"));
            }, cancellationToken);
            session.Console.MarkupLine($"Deleted {deleted} audit event(s) older than {Format(cutoff)} ({days} days).");
            return ExitCodes.Success;
        });
        return command;
    }

    public static int RetentionDays(IConfiguration configuration)
    {
        var value = configuration["Audit:RetentionDays"];
        if (string.IsNullOrWhiteSpace(value))
        {
            return DefaultRetentionDays;
        }
        return int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var days) && days >= 1
            ? days
            : throw CliException.Usage($"Audit:RetentionDays: expected a number of days, at least 1 (got '{value}')");
    }

    private static readonly string[] Columns =
        ["Time (UTC)", "Type", "Outcome", "Person id", "Client", "Channel", "IP", "Session id", "Correlation id", "Details"];

    private static IEnumerable<string> Cells(AuditEvent e) =>
    [
        Format(e.OccurredAt), e.Type, e.Outcome ?? "", e.PersonId?.ToString() ?? "", e.ClientId ?? "", e.Channel ?? "",
        e.IpAddress ?? "", e.SessionId ?? "", e.CorrelationId ?? "", e.Details ?? "",
    ];

    private static async Task<Guid> ResolvePersonAsync(CliSession session, string? person, string? nir, CancellationToken cancellationToken)
    {
        if ((person is null) == (nir is null))
        {
            throw CliException.Usage("give exactly one of --person and --nir");
        }
        if (person is not null)
        {
            return Guid.TryParse(person.Trim(), out var id)
                ? id
                : throw CliException.Usage("--person: expected the person's internal id (a GUID); use --nir to look a person up by NIR");
        }
        if (!Nir.TryParse(nir, out var parsed, out var error))
        {
            throw CliException.Usage($"--nir: {Nir.MessageFor(error)}");
        }
        // The NIR is only ever printed masked: the output names the person by internal id.
        var found = await session.Get<PersonDirectory>().FindByNirAsync(parsed.Value, cancellationToken)
            ?? throw CliException.Failure($"no account with NIR {parsed.ToMaskedString()}");
        return found.Id;
    }

    internal static DateTimeOffset ParseTime(string option, string value)
    {
        string[] formats = ["yyyy-MM-dd", "yyyy-MM-ddTHH:mm", "yyyy-MM-ddTHH:mm:ss", "yyyy-MM-ddTHH:mm:ss.FFFFFFF",
            "yyyy-MM-ddTHH:mmK", "yyyy-MM-ddTHH:mm:ssK", "yyyy-MM-ddTHH:mm:ss.FFFFFFFK"];
        return DateTimeOffset.TryParseExact(value.Trim(), formats, CultureInfo.InvariantCulture,
            DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var time)
            ? time.ToUniversalTime()
            : throw CliException.Usage($"{option}: expected an ISO 8601 date or time, e.g. 2026-03-01 or 2026-03-01T08:30:00Z or 2026-03-01T09:30:00+01:00");
    }

    internal static string Format(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);

    /// <summary>
    /// One CSV cell an operator can open in a spreadsheet, whether it splits on <c>,</c> or on <c>;</c> (French
    /// locales): control characters shown as escapes (no CR, LF or tab to start a row or a cell), every place a reader
    /// may start a cell — the beginning, and after each <c>,</c> or <c>;</c> should a reader ignore the quotes — never
    /// starts with <c>= + - @</c> (a quote is put before it, as spreadsheets read text), and a cell holding a
    /// separator or a quote is quoted (RFC 4180).
    /// </summary>
    internal static string Csv(string value)
    {
        var printable = OperatorText.Printable(value);
        var builder = new System.Text.StringBuilder(printable.Length + 8);
        var cellStart = true;
        foreach (var c in printable)
        {
            // Spaces and quotes before the first character are skipped: a reader may trim them.
            if (cellStart && c is not (' ' or '"'))
            {
                if (c is '=' or '+' or '-' or '@')
                {
                    builder.Append('\'');
                }
                cellStart = false;
            }
            builder.Append(c);
            if (c is ',' or ';')
            {
                cellStart = true;
            }
        }
        var text = builder.ToString();
        return text.IndexOfAny([',', ';', '"']) < 0 ? text : "\"" + text.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
    }
}
