using System.IO;
using System.Net.Sockets;
using CafConnect.Infrastructure.Audit;
using CafConnect.Infrastructure.Persistence;
using CafConnect.Infrastructure.Tests.Support;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace CafConnect.Infrastructure.Tests.Persistence;

/// <summary>
/// PostgreSQL restarted (<c>pg_ctl restart -m fast</c>, as a minor-version upgrade or a failover does): every pooled
/// connection is dead, and the next operation on each would fail. The retrying execution strategy (docs/decisions.md
/// #29) runs it again on a new connection — reads, the unit of work's save, and the explicit transactions, which must
/// be opened inside the strategy — and each write is stored once.
/// </summary>
[NonParallelizable]
public sealed class PostgreSqlRestartTests() : PrivatePostgreSqlDatabaseTests("cafconnect_restart")
{
    private async Task WarmThePoolAsync()
    {
        await using var db = NewContext();
        _ = await db.AuditEvents.CountAsync();
    }

    [Test]
    public async Task After_a_restart_a_read_and_a_save_succeed_on_the_dead_pooled_connection()
    {
        await WarmThePoolAsync();
        await Cluster.RestartAsync();

        await using var db = NewContext();
        var before = await db.AuditEvents.CountAsync();
        new AuditTrail(db, new FixedAuditContextAccessor(AuditContext.None), TimeProvider.System).Append(new AuditEntry("test.restart.save"));
        await db.SaveChangesAsync();

        await using var check = NewContext();
        Assert.That(await check.AuditEvents.CountAsync(e => e.Type == "test.restart.save"), Is.EqualTo(1), "stored once");
        Assert.That(before, Is.GreaterThanOrEqualTo(0));
    }

    [Test]
    public async Task After_a_restart_a_retried_transaction_stores_each_new_row_once_and_keeps_the_rows_pending_before_it()
    {
        await WarmThePoolAsync();
        await Cluster.RestartAsync();

        await using var db = NewContext();
        var audit = new AuditTrail(db, new FixedAuditContextAccessor(AuditContext.None), TimeProvider.System);
        audit.Append(new AuditEntry("test.restart.pending-before"));
        var key = "restart-message-" + Guid.NewGuid().ToString("N");
        var runs = 0;
        await db.InTransactionAsync(_ =>
        {
            runs++;
            audit.Append(new AuditEntry("test.restart.inside"));
            db.OutboxMessages.Add(new CafConnect.Infrastructure.Notifications.OutboxMessage
            {
                Kind = CafConnect.Infrastructure.Notifications.NotificationKind.VerificationCode,
                Channel = CafConnect.Infrastructure.Notifications.NotificationChannel.Sms,
                Recipient = "+33600000000", IdempotencyKey = key, CreatedAt = DateTimeOffset.UtcNow, NextAttemptAt = DateTimeOffset.UtcNow,
            });
            return Task.FromResult(true);
        }, CancellationToken.None);

        await using var check = NewContext();
        Assert.Multiple(async () =>
        {
            Assert.That(runs, Is.EqualTo(2), "the first attempt met the dead pooled connection and was run again");
            Assert.That(await check.OutboxMessages.CountAsync(m => m.IdempotencyKey == key), Is.EqualTo(1), "one message, not two");
            Assert.That(await check.AuditEvents.CountAsync(e => e.Type == "test.restart.inside"), Is.EqualTo(1));
            Assert.That(await check.AuditEvents.CountAsync(e => e.Type == "test.restart.pending-before"), Is.EqualTo(1), "what the request held before is kept");
        });
    }

    [Test]
    public async Task While_the_server_is_down_the_strategy_gives_up_within_seconds_with_an_outage()
    {
        await WarmThePoolAsync();
        await Cluster.StopServerAsync();
        try
        {
            await using var db = NewContext();
            var started = System.Diagnostics.Stopwatch.StartNew();
            var failure = Assert.CatchAsync(async () => await db.AuditEvents.CountAsync());
            Assert.Multiple(() =>
            {
                Assert.That(failure, Is.InstanceOf<Microsoft.EntityFrameworkCore.Storage.RetryLimitExceededException>().Or.InstanceOf<NpgsqlException>(), failure?.ToString());
                Assert.That(started.Elapsed, Is.LessThan(TimeSpan.FromSeconds(20)), "a web request is not held for long");
            });
        }
        finally
        {
            await Cluster.StartServerAsync();
        }
    }
}

/// <summary>What the strategy runs again, and what it never does (no server needed).</summary>
public sealed class PostgreSqlExecutionStrategyTests
{
    [TestCase("57P01", true, TestName = "Session terminated by a restart or failover: retried")]
    [TestCase("57P03", true, TestName = "Server starting up or shutting down: retried")]
    [TestCase("53300", true, TestName = "Too many connections: retried")]
    [TestCase("40001", true, TestName = "Serialization failure, rolled back by the server: retried")]
    [TestCase("40P01", true, TestName = "Deadlock, rolled back by the server: retried")]
    [TestCase("23505", false, TestName = "Unique violation: not retried")]
    [TestCase("57014", false, TestName = "Statement cancelled (timeout): not retried")]
    public void A_server_error_is_retried_only_when_the_server_did_not_apply_the_operation(string sqlState, bool retried) =>
        Assert.That(PostgreSqlExecutionStrategy.IsSafeToRetry(new PostgresException("m", "FATAL", "FATAL", sqlState)), Is.EqualTo(retried));

    [Test]
    public void A_refused_connection_is_retried_but_a_broken_stream_is_not_since_the_commit_may_have_happened()
    {
        Assert.Multiple(() =>
        {
            Assert.That(PostgreSqlExecutionStrategy.IsSafeToRetry(new NpgsqlException("refused", new SocketException((int)SocketError.ConnectionRefused))), Is.True);
            Assert.That(PostgreSqlExecutionStrategy.IsSafeToRetry(new NpgsqlException("Exception while reading from stream", new EndOfStreamException())), Is.False);
            Assert.That(PostgreSqlExecutionStrategy.IsSafeToRetry(new NpgsqlException("reset", new IOException("reset", new SocketException((int)SocketError.ConnectionReset)))), Is.False);
            Assert.That(PostgreSqlExecutionStrategy.IsSafeToRetry(new TimeoutException()), Is.False);
        });
    }

    [Test]
    public void A_terminated_session_counts_as_an_outage_although_Npgsql_does_not_call_it_transient()
    {
        Assert.Multiple(() =>
        {
            Assert.That(PostgreSqlExecutionStrategy.IsUnavailable(new PostgresException("m", "FATAL", "FATAL", "57P01")), Is.True);
            Assert.That(PostgreSqlExecutionStrategy.IsUnavailable(new NpgsqlException("Exception while reading from stream", new EndOfStreamException())), Is.True);
            Assert.That(PostgreSqlExecutionStrategy.IsUnavailable(new PostgresException("m", "ERROR", "ERROR", "23505")), Is.False);
        });
    }
}
