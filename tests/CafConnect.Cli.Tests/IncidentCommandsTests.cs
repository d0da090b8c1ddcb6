using CafConnect.Infrastructure.Audit;
using CafConnect.Infrastructure.Persistence;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace CafConnect.Cli.Tests;

/// <summary>
/// <c>cafconnect incident revoke</c>: the command line and an empty window, on every store provider. The full scenario
/// (sessions on two instances, tokens, logout tokens, CSV) is in tests/CafConnect.IdP.Tests/Security/IncidentRevokeTests.cs.
/// </summary>
public abstract class IncidentCommandsTests
{
    private ITestStore _store = null!;

    protected CliRunner Cli => _store.Cli;

    protected abstract Task<ITestStore> CreateStoreAsync();

    [SetUp]
    public async Task CreateStore()
    {
        _store = await CreateStoreAsync();
        Assert.That((await Cli.RunAsync("db", "migrate")).ExitCode, Is.EqualTo(0));
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

    [TestCase(new[] { "--from", "2026-03-02", "--to", "2026-03-01" }, "--to must be after --from", TestName = "Incident window ending before it starts is refused")]
    [TestCase(new[] { "--from", "hier", "--to", "2026-03-01" }, "--from: expected an ISO 8601", TestName = "Incident window with an unreadable time is refused")]
    [TestCase(new[] { "--from", "2026-03-01", "--to", "2026-03-02", "--client", "inconnu" }, "--client: no client 'inconnu'", TestName = "Incident revoke for an unknown client is refused")]
    [TestCase(new[] { "--from", "2026-03-01", "--to", "2026-03-02", "--issuer", "pas-une-url" }, "is not an absolute http(s) URL", TestName = "Incident revoke with a malformed issuer is refused")]
    public async Task Bad_arguments_are_refused_with_exit_code_2_and_change_nothing(string[] args, string message)
    {
        var result = await Cli.RunAsync(["incident", "revoke", .. args]);

        Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
        Assert.That(result.ErrorLines.Single(), Does.Contain(message));
        var incidentRows = await Cli.WithServicesAsync(s => s.GetRequiredService<CafConnectDbContext>().AuditEvents.CountAsync(e => e.Type.StartsWith("admin.incident")));
        Assert.That(incidentRows, Is.Zero, "a refused command records no run");
    }

    [Test]
    public async Task An_empty_window_revokes_nothing_and_is_still_audited()
    {
        var result = await Cli.RunAsync("incident", "revoke", "--from", "2020-01-01", "--to", "2020-01-02");

        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        Assert.That(result.Out, Does.Contain("Revoked 0 session(s), 0 authorization(s), 0 token(s)"));
        var row = await Cli.WithServicesAsync(s => s.GetRequiredService<CafConnectDbContext>().AuditEvents.SingleAsync(e => e.Type == AuditEventTypes.IncidentRevoked));
        Assert.That(row.Details, Does.Contain("operator=").And.Contain("from=2020-01-01T00:00:00.000Z").And.Contain("client=(all)"));
    }
}

[TestFixture]
public sealed class SqliteIncidentCommandsTests : IncidentCommandsTests
{
    protected override Task<ITestStore> CreateStoreAsync() => Task.FromResult<ITestStore>(new TemporarySqliteStore());
}

[TestFixture]
[PostgreSqlFixture]
public sealed class PostgreSqlIncidentCommandsTests : IncidentCommandsTests
{
    protected override async Task<ITestStore> CreateStoreAsync() => await TemporaryPostgreSqlDatabase.CreateAsync();
}
