using System.Text.Json;
using CafConnect.Application.Admin;
using CafConnect.Infrastructure.Admin;
using CafConnect.Infrastructure.Audit;
using CafConnect.Infrastructure.Tests.Support;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.EntityFrameworkCore;

namespace CafConnect.Application.Tests.Admin;

/// <summary>
/// An admin request's transaction (the change, its audit rows, the stored answer) after PostgreSQL restarted: the
/// retrying execution strategy (docs/decisions.md #29) accepts it because it is opened inside the strategy, runs it
/// again on a new connection, and it is stored once.
/// </summary>
[NonParallelizable]
public sealed class IdempotentAdminRequestsRestartTests() : PrivatePostgreSqlDatabaseTests("cafconnect_admin_restart")
{
    [Test]
    public async Task After_a_restart_an_admin_request_runs_again_inside_the_strategy_and_is_stored_once()
    {
        await using (var warm = NewContext())
        {
            _ = await warm.AuditEvents.CountAsync();
        }
        await Cluster.RestartAsync();

        await using var db = NewContext();
        var audit = new AuditTrail(db, new FixedAuditContextAccessor(AuditContext.None), TimeProvider.System);
        var requests = new IdempotentAdminRequests(db, new EphemeralDataProtectionProvider(), audit, TimeProvider.System);
        var key = "restart-test-" + Guid.NewGuid().ToString("N");
        var runs = 0;
        var response = await requests.RunAsync(key, "hash", _ =>
        {
            runs++;
            audit.Append(new AuditEntry("test.restart.admin"));
            return Task.FromResult(new AdminResponse(200, JsonDocument.Parse("{}").RootElement, null));
        }, CancellationToken.None);

        await using var check = NewContext();
        Assert.Multiple(async () =>
        {
            Assert.That(response.Status, Is.EqualTo(200));
            Assert.That(runs, Is.GreaterThanOrEqualTo(1), "the replay lookup before it may already have met the dead connection");
            Assert.That(await check.AuditEvents.CountAsync(e => e.Type == "test.restart.admin"), Is.EqualTo(1), "stored once");
            Assert.That(await check.Set<ProcessedAdminRequest>().CountAsync(r => r.Key == key), Is.EqualTo(1));
        });
    }
}
