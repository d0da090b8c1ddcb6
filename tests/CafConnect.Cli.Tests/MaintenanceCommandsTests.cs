using CafConnect.Infrastructure.Admin;
using CafConnect.Infrastructure.Audit;
using CafConnect.Infrastructure.Persistence;
using CafConnect.Infrastructure.Sessions;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace CafConnect.Cli.Tests;

/// <summary>
/// <c>cafconnect maintenance purge</c>: the session registry's old rows and the stored answers of old admin requests go,
/// everything younger stays; a dry run deletes nothing; both are audited. On every store provider (fixtures below).
/// </summary>
public abstract class MaintenanceCommandsTests
{
    private ITestStore _store = null!;
    private string _configFile = null!;

    protected CliRunner Cli => _store.Cli;

    protected abstract Task<ITestStore> CreateStoreAsync();

    [SetUp]
    public async Task CreateStoreWithOldAndRecentRows()
    {
        _store = await CreateStoreAsync();
        Assert.That((await Cli.RunAsync("db", "migrate")).ExitCode, Is.EqualTo(0));
        // Retention of 10 days for sessions, 20 for admin requests.
        _configFile = Path.Combine(Path.GetTempPath(), "cafconnect-cli-tests", $"maintenance-{Guid.NewGuid():N}.json");
        Directory.CreateDirectory(Path.GetDirectoryName(_configFile)!);
        await File.WriteAllTextAsync(_configFile, """{"Sessions":{"RetentionDays":"10"},"Admin":{"IdempotencyRetentionDays":"20"}}""");

        var now = DateTimeOffset.UtcNow;
        await Cli.WithServicesAsync(async services =>
        {
            var db = services.GetRequiredService<CafConnectDbContext>();
            var person = Guid.NewGuid();
            db.ProviderSessions.AddRange(
                new ProviderSession { Id = "ended-long-ago", PersonId = person, CreatedAt = now.AddDays(-40), EndedAt = now.AddDays(-31), EndReason = "logout" },
                new ProviderSession { Id = "expired-never-ended", PersonId = person, CreatedAt = now.AddDays(-11) },
                new ProviderSession { Id = "ended-recently", PersonId = person, CreatedAt = now.AddDays(-12), EndedAt = now.AddDays(-2), EndReason = "replaced" },
                new ProviderSession { Id = "open-today", PersonId = person, CreatedAt = now.AddMinutes(-5) });
            db.ProviderSessionClients.AddRange(
                new ProviderSessionClient { SessionId = "ended-long-ago", ClientId = "caf-fr", FirstAuthorizedAt = now.AddDays(-40), LastAuthorizedAt = now.AddDays(-40) },
                new ProviderSessionClient { SessionId = "expired-never-ended", ClientId = "caf-fr", FirstAuthorizedAt = now.AddDays(-11), LastAuthorizedAt = now.AddDays(-11) },
                new ProviderSessionClient { SessionId = "ended-recently", ClientId = "caf-fr", FirstAuthorizedAt = now.AddDays(-12), LastAuthorizedAt = now.AddDays(-12) },
                new ProviderSessionClient { SessionId = "open-today", ClientId = "aripa", FirstAuthorizedAt = now, LastAuthorizedAt = now });
            db.ProcessedAdminRequests.AddRange(
                new ProcessedAdminRequest { Key = "file-event:OLD", PayloadHash = new string('a', 64), StatusCode = 200, Response = "{}", ProcessedAt = now.AddDays(-21) },
                new ProcessedAdminRequest { Key = "applicant:RECENT", PayloadHash = new string('b', 64), StatusCode = 201, Response = "{}", ProcessedAt = now.AddDays(-19) });
            return await db.SaveChangesAsync();
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
        if (File.Exists(_configFile))
        {
            File.Delete(_configFile);
        }
    }

    private Task<(List<string> Sessions, List<string> Links, List<string> Requests)> RowsAsync() => Cli.WithServicesAsync(async services =>
    {
        var db = services.GetRequiredService<CafConnectDbContext>();
        return (await db.ProviderSessions.Select(s => s.Id).ToListAsync(),
            await db.ProviderSessionClients.Select(l => l.SessionId).ToListAsync(),
            await db.ProcessedAdminRequests.Select(r => r.Key).ToListAsync());
    });

    private Task<AuditEvent> LastAuditAsync(string type) => Cli.WithServicesAsync(services =>
        services.GetRequiredService<CafConnectDbContext>().AuditEvents.AsNoTracking().Where(e => e.Type == type).OrderByDescending(e => e.Id).FirstAsync());

    [Test]
    public async Task Purge_deletes_sessions_and_admin_answers_past_their_retention_and_keeps_the_rest()
    {
        var result = await Cli.RunAsync("maintenance", "purge", "--config", _configFile);

        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        Assert.That(result.Out, Does.Contain("Deleted 2 session(s)").And.Contain("(10 days) with 2 client link(s), and 1 admin request answer(s)").And.Contain("(20 days)"));
        var (sessions, links, requests) = await RowsAsync();
        Assert.Multiple(() =>
        {
            Assert.That(sessions, Is.EquivalentTo(new[] { "ended-recently", "open-today" }), "ended 2 days ago, or still open, they stay");
            Assert.That(links, Is.EquivalentTo(new[] { "ended-recently", "open-today" }), "the links of the deleted sessions go with them");
            Assert.That(requests, Is.EqualTo(new[] { "applicant:RECENT" }), "an answer younger than 20 days stays: a replay still gets it");
        });
        var row = await LastAuditAsync(AuditEventTypes.MaintenancePurged);
        Assert.Multiple(() =>
        {
            Assert.That(row.Outcome, Is.EqualTo("3"));
            Assert.That(row.Channel, Is.EqualTo("cli"));
            Assert.That(row.Details, Does.Contain("operator=").And.Contain("sessions=2").And.Contain("session_clients=2").And.Contain("admin_requests=1")
                .And.Contain("sessions_retention_days=10").And.Contain("requests_retention_days=20"));
        });

        var again = await Cli.RunAsync("maintenance", "purge", "--config", _configFile);
        Assert.That(again.Out, Does.Contain("Deleted 0 session(s)"), "nothing left to delete");
    }

    [Test]
    public async Task Dry_run_counts_deletes_nothing_and_is_audited()
    {
        var result = await Cli.RunAsync("maintenance", "purge", "--dry-run", "--config", _configFile);

        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        Assert.That(result.Out, Does.Contain("Dry run, nothing deleted: would delete 2 session(s)").And.Contain("1 admin request answer(s)"));
        var (sessions, links, requests) = await RowsAsync();
        Assert.That((sessions.Count, links.Count, requests.Count), Is.EqualTo((4, 4, 2)));
        var row = await LastAuditAsync(AuditEventTypes.MaintenancePurgeDryRun);
        Assert.That(row.Details, Does.Contain("sessions=2").And.Contain("admin_requests=1").And.Contain("operator="));
    }

    [Test]
    public async Task Defaults_keep_30_days_of_sessions_and_180_days_of_admin_answers()
    {
        var result = await Cli.RunAsync("maintenance", "purge");

        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        var (sessions, _, requests) = await RowsAsync();
        Assert.That(sessions, Is.EquivalentTo(new[] { "expired-never-ended", "ended-recently", "open-today" }), "only the session ended 31 days ago goes");
        Assert.That(requests, Has.Count.EqualTo(2));
    }

    [Test]
    public async Task A_retention_below_one_day_is_refused_and_deletes_nothing()
    {
        await File.WriteAllTextAsync(_configFile, """{"Sessions":{"RetentionDays":"0"}}""");
        var result = await Cli.RunAsync("maintenance", "purge", "--config", _configFile);

        Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
        Assert.That(result.ErrorLines.Single(), Does.Contain("Sessions:RetentionDays: expected a number of days, at least 1"));
        var (sessions, _, requests) = await RowsAsync();
        Assert.That((sessions.Count, requests.Count), Is.EqualTo((4, 2)));
    }
}

[TestFixture]
public sealed class SqliteMaintenanceCommandsTests : MaintenanceCommandsTests
{
    protected override Task<ITestStore> CreateStoreAsync() => Task.FromResult<ITestStore>(new TemporarySqliteStore());
}

[TestFixture]
public sealed class PostgreSqlMaintenanceCommandsTests : MaintenanceCommandsTests
{
    protected override async Task<ITestStore> CreateStoreAsync() => await TemporaryPostgreSqlDatabase.CreateAsync();
}
