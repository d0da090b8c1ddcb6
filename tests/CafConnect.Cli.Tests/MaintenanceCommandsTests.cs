using CafConnect.Infrastructure.Admin;
using CafConnect.Infrastructure.Audit;
using CafConnect.Infrastructure.Flows;
using CafConnect.Infrastructure.Notifications;
using CafConnect.Infrastructure.Persistence;
using CafConnect.Infrastructure.Sessions;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace CafConnect.Cli.Tests;

/// <summary>
/// <c>cafconnect maintenance purge</c>: the session registry's old rows, the stored answers of old admin requests, flows
/// expired long enough and outbox messages sent or given up long enough go, everything younger (and every message still
/// waiting) stays; a dry run deletes nothing; both are audited. On every store provider (fixtures below).
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
        // Retention of 10 days for sessions, 20 for admin requests, 2 for expired flows, 15 for sent messages.
        _configFile = Path.Combine(Path.GetTempPath(), "cafconnect-cli-tests", $"maintenance-{Guid.NewGuid():N}.json");
        Directory.CreateDirectory(Path.GetDirectoryName(_configFile)!);
        await File.WriteAllTextAsync(_configFile, """{"Sessions":{"RetentionDays":"10"},"Admin":{"IdempotencyRetentionDays":"20"},"Flows":{"RetentionDays":"2"},"Notifications":{"SentRetentionDays":"15"}}""");

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
            db.Flows.AddRange(
                Flow("expired-3-days-ago", now.AddDays(-3)),
                Flow("expired-an-hour-ago", now.AddHours(-1)),
                Flow("in-progress", now.AddMinutes(30)));
            db.OutboxMessages.AddRange(
                Message("sent-16-days-ago", created: now.AddDays(-16), sent: now.AddDays(-16)),
                Message("given-up-16-days-ago", created: now.AddDays(-17), failed: now.AddDays(-16)),
                Message("sent-3-days-ago", created: now.AddDays(-3), sent: now.AddDays(-3)),
                Message("waiting-for-40-days", created: now.AddDays(-40)));
            return await db.SaveChangesAsync();
        });
    }

    private static SelfServiceFlow Flow(string id, DateTimeOffset expiresAt) => new()
    {
        Id = id, Type = "recovery", State = "code", BrowserBinding = "binding", IssuedAt = expiresAt.AddHours(-1), ExpiresAt = expiresAt,
    };

    private static OutboxMessage Message(string key, DateTimeOffset created, DateTimeOffset? sent = null, DateTimeOffset? failed = null) => new()
    {
        Kind = NotificationKind.VerificationCode, Channel = NotificationChannel.Sms, Recipient = "+33600000000", IdempotencyKey = key,
        CreatedAt = created, NextAttemptAt = created, SentAt = sent, FailedAt = failed, Attempts = sent is null && failed is null ? 0 : 1,
        ProtectedTextBody = sent is null && failed is null ? "still-encrypted" : null,
    };

    private Task<(List<string> Flows, List<string> Messages)> FlowsAndMessagesAsync() => Cli.WithServicesAsync(async services =>
    {
        var db = services.GetRequiredService<CafConnectDbContext>();
        return (await db.Flows.Select(f => f.Id).ToListAsync(), await db.OutboxMessages.Select(m => m.IdempotencyKey).ToListAsync());
    });

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
        Assert.That(result.Out, Does.Contain("Deleted 2 session(s)").And.Contain("(10 days) with 2 client link(s), 1 admin request answer(s)").And.Contain("(20 days)")
            .And.Contain("1 flow(s) expired before").And.Contain("(2 days) and 2 outbox message(s) sent or given up").And.Contain("(15 days)"));
        var (sessions, links, requests) = await RowsAsync();
        var (flows, messages) = await FlowsAndMessagesAsync();
        Assert.Multiple(() =>
        {
            Assert.That(sessions, Is.EquivalentTo(new[] { "ended-recently", "open-today" }), "ended 2 days ago, or still open, they stay");
            Assert.That(links, Is.EquivalentTo(new[] { "ended-recently", "open-today" }), "the links of the deleted sessions go with them");
            Assert.That(requests, Is.EqualTo(new[] { "applicant:RECENT" }), "an answer younger than 20 days stays: a replay still gets it");
            Assert.That(flows, Is.EquivalentTo(new[] { "expired-an-hour-ago", "in-progress" }),
                "a flow expired within the retention stays (its person is told it expired), one in progress is never touched");
            Assert.That(messages, Is.EquivalentTo(new[] { "sent-3-days-ago", "waiting-for-40-days" }),
                "a message sent within the retention stays; one still waiting is never deleted, however old");
        });
        var row = await LastAuditAsync(AuditEventTypes.MaintenancePurged);
        Assert.Multiple(() =>
        {
            Assert.That(row.Outcome, Is.EqualTo("6"));
            Assert.That(row.Channel, Is.EqualTo("cli"));
            Assert.That(row.Details, Does.Contain("operator=").And.Contain("sessions=2").And.Contain("session_clients=2").And.Contain("admin_requests=1")
                .And.Contain("sessions_retention_days=10").And.Contain("requests_retention_days=20")
                .And.Contain("flows=1").And.Contain("outbox_messages=2").And.Contain("flows_retention_days=2").And.Contain("outbox_retention_days=15"));
        });

        var again = await Cli.RunAsync("maintenance", "purge", "--config", _configFile);
        Assert.That(again.Out, Does.Contain("Deleted 0 session(s)"), "nothing left to delete");
    }

    [Test]
    public async Task Dry_run_counts_deletes_nothing_and_is_audited()
    {
        var result = await Cli.RunAsync("maintenance", "purge", "--dry-run", "--config", _configFile);

        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        Assert.That(result.Out, Does.Contain("Dry run, nothing deleted: would delete 2 session(s)").And.Contain("1 admin request answer(s)")
            .And.Contain("1 flow(s)").And.Contain("2 outbox message(s)"));
        var (sessions, links, requests) = await RowsAsync();
        var (flows, messages) = await FlowsAndMessagesAsync();
        Assert.That((sessions.Count, links.Count, requests.Count, flows.Count, messages.Count), Is.EqualTo((4, 4, 2, 3, 4)));
        var row = await LastAuditAsync(AuditEventTypes.MaintenancePurgeDryRun);
        Assert.That(row.Details, Does.Contain("sessions=2").And.Contain("admin_requests=1").And.Contain("flows=1").And.Contain("outbox_messages=2").And.Contain("operator="));
    }

    [Test]
    public async Task Defaults_keep_30_days_of_sessions_180_days_of_admin_answers_1_day_of_expired_flows_and_30_days_of_sent_messages()
    {
        var result = await Cli.RunAsync("maintenance", "purge");

        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        var (sessions, _, requests) = await RowsAsync();
        var (flows, messages) = await FlowsAndMessagesAsync();
        Assert.That(sessions, Is.EquivalentTo(new[] { "expired-never-ended", "ended-recently", "open-today" }), "only the session ended 31 days ago goes");
        Assert.That(requests, Has.Count.EqualTo(2));
        Assert.That(flows, Is.EquivalentTo(new[] { "expired-an-hour-ago", "in-progress" }), "the flow expired 3 days ago goes");
        Assert.That(messages, Has.Count.EqualTo(4), "no message was sent or given up more than 30 days ago");
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
[PostgreSqlFixture]
public sealed class PostgreSqlMaintenanceCommandsTests : MaintenanceCommandsTests
{
    protected override async Task<ITestStore> CreateStoreAsync() => await TemporaryPostgreSqlDatabase.CreateAsync();
}
