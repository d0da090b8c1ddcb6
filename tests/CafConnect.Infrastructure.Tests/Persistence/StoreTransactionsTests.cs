using System.Data.Common;
using CafConnect.Infrastructure.Audit;
using CafConnect.Infrastructure.Persistence;
using CafConnect.Infrastructure.Tests.Support;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.EntityFrameworkCore.Storage;
using Npgsql;

namespace CafConnect.Infrastructure.Tests.Persistence;

/// <summary>
/// <see cref="StoreTransactions.InTransactionAsync{T}"/> when the strategy retries a failed COMMIT (one the server did
/// not apply): the rows the context held before the call are stored by the retry, the attempt's own rows once.
/// </summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
public sealed class StoreTransactionsTests(StoreKind kind)
{
    private TestDatabase _database = null!;

    [SetUp]
    public async Task CreateStoreAsync() => _database = await TestDatabase.CreateAsync(kind);

    [TearDown]
    public async Task DropStoreAsync()
    {
        if (_database is not null)
        {
            await _database.DisposeAsync();
        }
    }

    [Test]
    public async Task A_retried_commit_stores_the_rows_pending_before_the_transaction_and_the_attempts_rows_once()
    {
        var failFirstCommit = new FirstCommitFails(kind);
        await using var db = NewContextRetryingOn(failFirstCommit);
        var audit = new AuditTrail(db, new FixedAuditContextAccessor(AuditContext.None), TimeProvider.System);
        audit.Append(new AuditEntry("test.transaction.pending-before"));
        var runs = 0;

        await db.InTransactionAsync(_ =>
        {
            runs++;
            audit.Append(new AuditEntry("test.transaction.inside"));
            return Task.FromResult(true);
        }, CancellationToken.None);

        await using var check = _database.NewContext();
        Assert.Multiple(async () =>
        {
            Assert.That(failFirstCommit.Failed, Is.True, "set-up: the first commit failed");
            Assert.That(runs, Is.EqualTo(2), "the strategy ran the work again");
            Assert.That(await check.AuditEvents.CountAsync(e => e.Type == "test.transaction.pending-before"), Is.EqualTo(1),
                "what the context held before the transaction is stored by the retry");
            Assert.That(await check.AuditEvents.CountAsync(e => e.Type == "test.transaction.inside"), Is.EqualTo(1), "the work's row once");
            Assert.That(db.ChangeTracker.Entries().All(e => e.State == EntityState.Unchanged), Is.True, "accepted after the commit");
        });
    }

    [Test]
    public async Task A_work_that_throws_rolls_back_and_leaves_its_changes_unaccepted()
    {
        await using var db = _database.NewContext();
        var audit = new AuditTrail(db, new FixedAuditContextAccessor(AuditContext.None), TimeProvider.System);

        Assert.That(async () => await db.InTransactionAsync(async ct =>
        {
            audit.Append(new AuditEntry("test.transaction.refused"));
            await db.SaveChangesAsync(acceptAllChangesOnSuccess: false, ct);
            throw new DbUpdateConcurrencyException("refused");
        }, CancellationToken.None), Throws.InstanceOf<DbUpdateConcurrencyException>());

        await using var check = _database.NewContext();
        Assert.That(await check.AuditEvents.CountAsync(e => e.Type == "test.transaction.refused"), Is.Zero, "rolled back");
        Assert.That(db.ChangeTracker.Entries<AuditEvent>().Single().State, Is.EqualTo(EntityState.Added), "not accepted");
        Assert.That(db.Database.CurrentTransaction, Is.Null);
    }

    [Test]
    public async Task A_retried_commit_with_an_after_save_step_stores_the_work_once_and_runs_the_step_after_each_save()
    {
        // Password recovery's shape (CredentialReset, docs/decisions.md #29): a write, then a step outside the context
        // (the throttle's store) that must follow it in the same transaction. It once saved twice, accepting the first
        // save: a retried commit then re-ran a work whose changes were already marked stored, and stored none of them.
        var failFirstCommit = new FirstCommitFails(kind);
        await using var db = NewContextRetryingOn(failFirstCommit);
        var audit = new AuditTrail(db, new FixedAuditContextAccessor(AuditContext.None), TimeProvider.System);
        var stepsSeeingTheWrite = 0;

        await db.InTransactionAsync(_ =>
        {
            audit.Append(new AuditEntry("test.transaction.with-step"));
            return Task.FromResult(true);
        }, CancellationToken.None, afterSave: async ct =>
        {
            // Inside the transaction, after the save: the row is there for this connection.
            stepsSeeingTheWrite += await db.AuditEvents.AsNoTracking().CountAsync(e => e.Type == "test.transaction.with-step", ct);
        });

        await using var check = _database.NewContext();
        Assert.Multiple(async () =>
        {
            Assert.That(failFirstCommit.Failed, Is.True, "set-up: the first commit failed");
            Assert.That(stepsSeeingTheWrite, Is.EqualTo(2), "the step ran after the save, once per attempt");
            Assert.That(await check.AuditEvents.CountAsync(e => e.Type == "test.transaction.with-step"), Is.EqualTo(1), "the work's row once");
        });
    }

    [Test]
    public async Task An_after_save_step_that_adds_changes_rolls_the_transaction_back()
    {
        await using var db = _database.NewContext();
        var audit = new AuditTrail(db, new FixedAuditContextAccessor(AuditContext.None), TimeProvider.System);

        Assert.That(async () => await db.InTransactionAsync(_ =>
        {
            audit.Append(new AuditEntry("test.transaction.before-step"));
            return Task.FromResult(true);
        }, CancellationToken.None, afterSave: _ =>
        {
            audit.Append(new AuditEntry("test.transaction.added-by-step"));
            return Task.CompletedTask;
        }), Throws.InvalidOperationException);

        await using var check = _database.NewContext();
        Assert.That(await check.AuditEvents.CountAsync(e => e.Type.StartsWith("test.transaction.")), Is.Zero, "nothing committed: a change nothing would save is an error");
    }

    /// <summary>
    /// A context as the provider configures it; on SQLite, whose provider never retries, with a strategy retrying the
    /// simulated failure (as PostgreSQL's and SQL Server's do theirs).
    /// </summary>
    private CafConnectDbContext NewContextRetryingOn(FirstCommitFails interceptor) => kind == StoreKind.PostgreSql
        ? _database.NewContext(interceptor)
        : new SqliteCafConnectDbContext(StorageRegistration.Configure(new DbContextOptionsBuilder<SqliteCafConnectDbContext>().AddInterceptors(interceptor),
                StorageProvider.Sqlite, _database.ConnectionString)
            .UseSqlite(_database.ConnectionString, o => o.ExecutionStrategy(d => new RetryingOnSimulatedFailure(d))).Options);

    private sealed class SimulatedCommitFailure() : Exception("the COMMIT was not applied");

    private sealed class RetryingOnSimulatedFailure(ExecutionStrategyDependencies dependencies) : ExecutionStrategy(dependencies, 3, TimeSpan.Zero)
    {
        protected override bool ShouldRetryOn(Exception exception) => exception is SimulatedCommitFailure;
    }

    /// <summary>
    /// Fails the first COMMIT before it is sent: the server applies nothing, and the transaction is rolled back as it is
    /// disposed. On PostgreSQL with the error of a terminated session (57P01), which the strategy retries (decision 29).
    /// </summary>
    private sealed class FirstCommitFails(StoreKind kind) : DbTransactionInterceptor
    {
        public bool Failed { get; private set; }

        public override ValueTask<InterceptionResult> TransactionCommittingAsync(DbTransaction transaction, TransactionEventData eventData,
            InterceptionResult result, CancellationToken cancellationToken = default)
        {
            if (!Failed)
            {
                Failed = true;
                throw kind == StoreKind.PostgreSql
                    ? new PostgresException("terminating connection due to administrator command", "FATAL", "FATAL", PostgresErrorCodes.AdminShutdown)
                    : new SimulatedCommitFailure();
            }
            return ValueTask.FromResult(result);
        }
    }
}
