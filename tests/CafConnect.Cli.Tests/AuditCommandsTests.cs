using CafConnect.Domain.Accounts;
using CafConnect.Infrastructure.Audit;
using CafConnect.Infrastructure.Persistence;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace CafConnect.Cli.Tests;

/// <summary><c>cafconnect audit query</c> and <c>audit purge</c> on every store provider (fixtures below).</summary>
public abstract class AuditCommandsTests
{
    private const string JeanneNir = "2850375112048";
    private static readonly DateTimeOffset Base = new(2026, 3, 1, 0, 0, 0, TimeSpan.Zero);

    private ITestStore _store = null!;
    private Guid _jeanne;
    private Guid _marc;

    protected CliRunner Cli => _store.Cli;

    protected abstract Task<ITestStore> CreateStoreAsync();

    [SetUp]
    public async Task CreateStoreWithEvents()
    {
        _store = await CreateStoreAsync();
        Assert.That((await Cli.RunAsync("db", "migrate")).ExitCode, Is.EqualTo(0));
        (_jeanne, _marc) = await Cli.WithServicesAsync(async services =>
        {
            var db = services.GetRequiredService<CafConnectDbContext>();
            var jeanne = new PersonAccount
            {
                Nir = JeanneNir, Civility = Civility.Madame, GivenNames = "Jeanne", BirthName = "DUPONT", BirthDate = new DateOnly(1985, 3, 14),
                CredentialKind = CredentialKind.Personal,
            };
            var marc = new PersonAccount
            {
                Nir = "1831175115230", Civility = Civility.Monsieur, GivenNames = "Marc", BirthName = "DUPONT", BirthDate = new DateOnly(1983, 11, 2),
                CredentialKind = CredentialKind.Personal,
            };
            db.Persons.AddRange(jeanne, marc);
            AuditEvent Row(Guid? person, int hours, string type, string? client, string details) => new()
            {
                PersonId = person, OccurredAt = Base.AddHours(hours), Type = type, Outcome = "ok", ClientId = client, Channel = "web",
                IpAddress = "203.0.113.7", SessionId = "sess-" + details, CorrelationId = "corr-" + details, Details = details,
            };
            db.AuditEvents.AddRange(
                Row(jeanne.Id, 1, AuditEventTypes.LoginSucceeded, "caf-fr", "j-in-1"),
                Row(jeanne.Id, 2, AuditEventTypes.LoginFailed, "caf-fr", "j-in-2"),
                Row(jeanne.Id, 3, AuditEventTypes.LoginSucceeded, "aripa", "j-in-3"),
                Row(jeanne.Id, -5, AuditEventTypes.LoginSucceeded, "caf-fr", "j-before"),
                Row(jeanne.Id, 48, AuditEventTypes.LoginSucceeded, "caf-fr", "j-after"),
                Row(marc.Id, 1, AuditEventTypes.LoginSucceeded, "caf-fr", "m-in"),
                Row(null, 1, AuditEventTypes.LoginFailed, "caf-fr", "anon-in"));
            await db.SaveChangesAsync();
            return (jeanne.Id, marc.Id);
        });
    }

    [TearDown]
    public async Task DropStore()
    {
        if (_store is not null)
        {
            await _store.DisposeAsync();
            _store = null!;
        }
    }

    private Task<CliResult> QueryAsync(params string[] extra) =>
        Cli.RunAsync(["audit", "query", "--from", "2026-03-01T00:00:00Z", "--to", "2026-03-02", .. extra]);

    private static string[] DetailsIn(CliResult result) =>
        new[] { "j-in-1", "j-in-2", "j-in-3", "j-before", "j-after", "m-in", "anon-in" }
            .Where(d => result.Out.Contains("corr-" + d, StringComparison.Ordinal)).ToArray();

    [Test]
    public async Task A_query_by_person_lists_only_that_persons_events_inside_the_window_oldest_first()
    {
        var result = await QueryAsync("--person", _jeanne.ToString());

        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        Assert.That(DetailsIn(result), Is.EqualTo(new[] { "j-in-1", "j-in-2", "j-in-3" }));
        Assert.That(result.Out.IndexOf("corr-j-in-1", StringComparison.Ordinal), Is.LessThan(result.Out.IndexOf("corr-j-in-3", StringComparison.Ordinal)));
        Assert.That(result.Out, Does.Contain("203.0.113.7").And.Contain("sess-j-in-2").And.Contain("2026-03-01T01:00:00.000Z").And.Contain("3 event(s)"));
    }

    [Test]
    public async Task A_query_by_NIR_finds_the_person_and_never_prints_the_NIR()
    {
        var result = await QueryAsync("--nir", "2 85 03 75 112 048");

        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        Assert.That(DetailsIn(result), Is.EqualTo(new[] { "j-in-1", "j-in-2", "j-in-3" }));
        Assert.That(result.Out, Does.Contain(_jeanne.ToString()));
        Assert.That(result.Out + result.Err, Does.Not.Contain(JeanneNir).And.Not.Contain("2 85 03 75 112 048"));
    }

    [Test]
    public async Task Type_and_client_filters_narrow_the_result()
    {
        var byType = await QueryAsync("--person", _jeanne.ToString(), "--type", AuditEventTypes.LoginSucceeded);
        var byClient = await QueryAsync("--person", _jeanne.ToString(), "--client", "caf-fr");
        var both = await QueryAsync("--person", _jeanne.ToString(), "--client", "caf-fr", "--type", AuditEventTypes.LoginFailed);
        var marc = await QueryAsync("--person", _marc.ToString());

        Assert.Multiple(() =>
        {
            Assert.That(DetailsIn(byType), Is.EqualTo(new[] { "j-in-1", "j-in-3" }));
            Assert.That(DetailsIn(byClient), Is.EqualTo(new[] { "j-in-1", "j-in-2" }));
            Assert.That(DetailsIn(both), Is.EqualTo(new[] { "j-in-2" }));
            Assert.That(DetailsIn(marc), Is.EqualTo(new[] { "m-in" }));
        });
    }

    [Test]
    public async Task A_window_with_offsets_is_compared_in_UTC()
    {
        // 02:30+01:00 is 01:30Z: j-in-1 (01:00Z) is before it, j-in-2 (02:00Z) inside, j-in-3 (03:00Z) at the exclusive end.
        var result = await Cli.RunAsync("audit", "query", "--person", _jeanne.ToString(), "--from", "2026-03-01T02:30:00+01:00", "--to", "2026-03-01T03:00:00Z");

        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        Assert.That(DetailsIn(result), Is.EqualTo(new[] { "j-in-2" }));
    }

    [Test]
    public async Task CSV_output_has_a_header_one_row_per_event_and_nothing_else_on_stdout()
    {
        var result = await QueryAsync("--person", _jeanne.ToString(), "--format", "csv");

        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        var lines = result.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.That(lines, Has.Length.EqualTo(4));
        Assert.That(lines[0], Is.EqualTo("Time (UTC),Type,Outcome,Person id,Client,Channel,IP,Session id,Correlation id,Details"));
        Assert.That(lines[1], Is.EqualTo($"2026-03-01T01:00:00.000Z,login.succeeded,ok,{_jeanne},caf-fr,web,203.0.113.7,sess-j-in-1,corr-j-in-1,j-in-1"));
        Assert.That(result.Err, Does.Contain("Store:"));
    }

    private const string Escape = "\u001b]0;pwned\u0007\u001b[2J\u009b31m\u202Eevil";

    private async Task AddHostileRowAsync() => await Cli.WithServicesAsync(async services =>
    {
        var db = services.GetRequiredService<CafConnectDbContext>();
        // What a caller could get written: a client id, a user agent or details chosen by whoever reached an audited endpoint.
        db.AuditEvents.Add(new AuditEvent
        {
            PersonId = _jeanne, OccurredAt = Base.AddHours(4), Type = AuditEventTypes.LoginFailed, Outcome = "ok;=1+1",
            ClientId = "x;@SUM(A1:A9)", Channel = "web", IpAddress = "203.0.113.7", SessionId = "s, -2+3",
            CorrelationId = Escape, Details = "a\t=cmd|' /C calc'!A0\r\n+HYPERLINK(\"http://x\");\"=2\"",
        });
        return await db.SaveChangesAsync();
    });

    /// <summary>The cells a spreadsheet sees with this separator, quotes honoured (RFC 4180) or not (a naive reader).</summary>
    private static IEnumerable<string> CellsAsRead(string line, char separator, bool honourQuotes)
    {
        if (!honourQuotes)
        {
            return line.Split(separator);
        }
        var cells = new List<string>();
        var current = new System.Text.StringBuilder();
        var quoted = false;
        for (var i = 0; i < line.Length; i++)
        {
            var c = line[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < line.Length && line[i + 1] == '"') { current.Append('"'); i++; }
                else if (c == '"') { quoted = false; }
                else { current.Append(c); }
            }
            else if (c == '"') { quoted = true; }
            else if (c == separator) { cells.Add(current.ToString()); current.Clear(); }
            else { current.Append(c); }
        }
        cells.Add(current.ToString());
        return cells;
    }

    [Test]
    public async Task CSV_cells_never_start_a_formula_for_comma_or_semicolon_readers_and_carry_no_control_character()
    {
        await AddHostileRowAsync();
        var result = await QueryAsync("--person", _jeanne.ToString(), "--format", "csv");

        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        var lines = result.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd('\r')).ToArray();
        Assert.That(lines, Has.Length.EqualTo(5), "one line per event: no CR or LF inside a cell");
        var hostile = lines.Single(l => l.Contains("pwned", StringComparison.Ordinal));
        Assert.That(hostile.Where(char.IsControl), Is.Empty);
        foreach (var separator in new[] { ',', ';' })
        {
            foreach (var honourQuotes in new[] { true, false })
            {
                foreach (var cell in CellsAsRead(hostile, separator, honourQuotes))
                {
                    var start = cell.TrimStart(' ', '"');
                    Assert.That(start.Length == 0 || start[0] is not ('=' or '+' or '-' or '@' or '\t' or '\r'), Is.True,
                        $"separator '{separator}', quotes {(honourQuotes ? "honoured" : "ignored")}: cell «{cell}» starts a formula");
                }
            }
        }
        // Nothing is lost: the escaped characters stay readable.
        Assert.That(hostile, Does.Contain("\\u{001B}]0").And.Contain("\\u{202E}evil").And.Contain("calc"));
    }

    [Test]
    public async Task The_table_never_passes_control_characters_or_escape_sequences_to_the_terminal()
    {
        await AddHostileRowAsync();
        var result = await QueryAsync("--person", _jeanne.ToString());

        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        Assert.That(result.Out.Where(c => c != '\n' && c != '\r' && (char.IsControl(c) || char.GetUnicodeCategory(c) == System.Globalization.UnicodeCategory.Format)), Is.Empty);
        Assert.That(result.Out, Does.Contain("4 event(s)"));
    }

    [TestCase(new[] { "--from", "2026-03-01", "--to", "2026-03-02" }, "exactly one of --person and --nir")]
    [TestCase(new[] { "--person", "nope", "--from", "2026-03-01", "--to", "2026-03-02" }, "--person: expected")]
    [TestCase(new[] { "--nir", "123", "--from", "2026-03-01", "--to", "2026-03-02" }, "--nir:")]
    [TestCase(new[] { "--nir", "X 85 03 75 112 048", "--from", "2026-03-01", "--to", "2026-03-02" }, "--nir:")]
    [TestCase(new[] { "--nir", "2850375112048", "--from", "01/03/2026", "--to", "2026-03-02" }, "--from: expected an ISO 8601")]
    [TestCase(new[] { "--nir", "2850375112048", "--from", "2026-03-02", "--to", "2026-03-01" }, "--to must be after --from")]
    public async Task Bad_arguments_are_refused_in_one_line_with_exit_code_2(string[] args, string message)
    {
        var result = await Cli.RunAsync(["audit", "query", .. args]);

        Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
        Assert.That(result.ErrorLines, Has.Length.EqualTo(1));
        Assert.That(result.ErrorLines[0], Does.Contain(message));
    }

    [Test]
    public async Task An_unknown_NIR_fails_without_printing_it()
    {
        var result = await QueryAsync("--nir", "1 78 04 13 055 123");

        Assert.That(result.ExitCode, Is.EqualTo(1), result.ToString());
        Assert.That(result.ErrorLines.Single(), Does.Contain("no account with NIR"));
        Assert.That(result.Err, Does.Not.Contain("1780413055123"));
    }

    [Test]
    public async Task Purge_deletes_only_rows_older_than_the_period_and_audits_itself()
    {
        var old = await AddEventsAsync(DateTimeOffset.UtcNow.AddDays(-31), DateTimeOffset.UtcNow.AddDays(-400));
        var recent = await AddEventsAsync(DateTimeOffset.UtcNow.AddDays(-29));
        var before = await CountAsync();

        var dry = await Cli.RunAsync("audit", "purge", "--older-than", "30", "--dry-run");
        Assert.That(dry.ExitCode, Is.EqualTo(0), dry.ToString());
        // The seeded March 2026 rows are older than 30 days too when the clock is past April 2026.
        var expected = 2 + await Cli.WithServicesAsync(s => s.GetRequiredService<CafConnectDbContext>().AuditEvents
            .CountAsync(e => e.Details!.StartsWith("j-") || e.Details!.StartsWith("m-") || e.Details!.StartsWith("anon-")));
        var expectedOld = DateTimeOffset.UtcNow.AddDays(-30) > Base.AddHours(48) ? expected : 2;
        Assert.That(dry.Out, Does.Contain($"{expectedOld} audit event(s)"));
        Assert.That(await CountAsync(), Is.EqualTo(before + 1), "a dry run deletes nothing (and adds its own audit row)");

        // 30 days is below the default 400-day retention: only with --force.
        var purge = await Cli.RunAsync("audit", "purge", "--older-than", "30", "--force");

        Assert.That(purge.ExitCode, Is.EqualTo(0), purge.ToString());
        Assert.That(purge.Out, Does.Contain($"Deleted {expectedOld} audit event(s)"));
        var (ids, purgeRow) = await Cli.WithServicesAsync(async s =>
        {
            var db = s.GetRequiredService<CafConnectDbContext>();
            return (await db.AuditEvents.Select(e => e.Id).ToListAsync(), await db.AuditEvents.SingleAsync(e => e.Type == AuditEventTypes.AuditPurged));
        });
        Assert.Multiple(() =>
        {
            Assert.That(ids, Does.Not.Contain(old[0]).And.Not.Contain(old[1]));
            Assert.That(ids, Does.Contain(recent[0]));
            Assert.That(ids, Has.Count.EqualTo(before + 1 - expectedOld + 1), "the dry-run row and the purge row are added and kept");
            Assert.That(purgeRow.Outcome, Is.EqualTo(expectedOld.ToString()));
            Assert.That(purgeRow.Channel, Is.EqualTo("cli"));
            Assert.That(purgeRow.Details, Does.Contain("older_than_days=30").And.Contain("operator=").And.Contain("forced=yes"));
        });
    }

    [Test]
    public async Task Purge_below_the_retention_period_is_refused_without_force_and_deletes_nothing()
    {
        var young = await AddEventsAsync(DateTimeOffset.UtcNow.AddDays(-45));
        var before = await CountAsync();

        var refused = await Cli.RunAsync("audit", "purge", "--older-than", "30");

        Assert.That(refused.ExitCode, Is.EqualTo(2), refused.ToString());
        Assert.That(refused.ErrorLines.Single(), Does.Contain("below the retention period").And.Contain("--force"));
        Assert.That(await CountAsync(), Is.EqualTo(before), "nothing deleted, nothing written");
        var ids = await Cli.WithServicesAsync(s => s.GetRequiredService<CafConnectDbContext>().AuditEvents.Select(e => e.Id).ToListAsync());
        Assert.That(ids, Does.Contain(young[0]));
    }

    [Test]
    public async Task Purge_dry_run_is_audited_with_the_operator_and_what_it_would_delete()
    {
        await AddEventsAsync(DateTimeOffset.UtcNow.AddDays(-500));

        var dry = await Cli.RunAsync("audit", "purge", "--dry-run");

        Assert.That(dry.ExitCode, Is.EqualTo(0), dry.ToString());
        var row = await Cli.WithServicesAsync(s => s.GetRequiredService<CafConnectDbContext>().AuditEvents
            .OrderByDescending(e => e.Id).FirstAsync(e => e.Type == AuditEventTypes.AuditPurgeDryRun));
        Assert.Multiple(() =>
        {
            Assert.That(int.Parse(row.Outcome!), Is.GreaterThanOrEqualTo(1));
            Assert.That(row.Channel, Is.EqualTo("cli"));
            Assert.That(row.Details, Does.Contain("operator=").And.Contain("retention_days=400").And.Contain("would_delete="));
        });
    }

    [Test]
    public async Task Purge_defaults_to_the_400_day_retention_and_refuses_zero_days()
    {
        var old = await AddEventsAsync(DateTimeOffset.UtcNow.AddDays(-401));
        var kept = await AddEventsAsync(DateTimeOffset.UtcNow.AddDays(-399));

        var zero = await Cli.RunAsync("audit", "purge", "--older-than", "0");
        var purge = await Cli.RunAsync("audit", "purge");

        Assert.That(zero.ExitCode, Is.EqualTo(2), zero.ToString());
        Assert.That(purge.ExitCode, Is.EqualTo(0), purge.ToString());
        Assert.That(purge.Out, Does.Contain("(400 days)"));
        var ids = await Cli.WithServicesAsync(s => s.GetRequiredService<CafConnectDbContext>().AuditEvents.Select(e => e.Id).ToListAsync());
        Assert.That(ids, Does.Not.Contain(old[0]).And.Contain(kept[0]));
    }

    private Task<int> CountAsync() => Cli.WithServicesAsync(s => s.GetRequiredService<CafConnectDbContext>().AuditEvents.CountAsync());

    private Task<long[]> AddEventsAsync(params DateTimeOffset[] times) => Cli.WithServicesAsync(async s =>
    {
        var db = s.GetRequiredService<CafConnectDbContext>();
        var rows = times.Select(t => new AuditEvent { OccurredAt = t, Type = AuditEventTypes.LoginSucceeded, PersonId = _jeanne, Details = "purge-test" }).ToArray();
        db.AuditEvents.AddRange(rows);
        await db.SaveChangesAsync();
        return rows.Select(r => r.Id).ToArray();
    });
}

[TestFixture]
public sealed class SqliteAuditCommandsTests : AuditCommandsTests
{
    protected override Task<ITestStore> CreateStoreAsync() => Task.FromResult<ITestStore>(new TemporarySqliteStore());
}

[TestFixture]
[PostgreSqlFixture]
public sealed class PostgreSqlAuditCommandsTests : AuditCommandsTests
{
    protected override async Task<ITestStore> CreateStoreAsync() => await TemporaryPostgreSqlDatabase.CreateAsync();
}
