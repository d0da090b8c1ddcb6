using System.Data.Common;
using CafConnect.Infrastructure.Audit;
using CafConnect.Infrastructure.Persistence;
using CafConnect.Infrastructure.Tests.Support;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using OpenIddict.EntityFrameworkCore.Models;

namespace CafConnect.Infrastructure.Tests.Persistence;

/// <summary>
/// A grant's one write (<see cref="TokenWriteBatch"/>) is atomic on every store. On PostgreSQL a write of inserts only
/// (a client-credentials grant) relies on the implicit transaction of one batch instead of EF Core's BEGIN … COMMIT,
/// a round trip less (docs/decisions.md #47); a write that updates keeps its explicit transaction.
/// </summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
public sealed class TokenWriteTransactionTests(StoreKind kind)
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
    public async Task Inserts_only_are_stored_and_on_PostgreSQL_sent_as_one_command_without_a_transaction_round_trip()
    {
        var watch = new StoreWatch();
        await using var db = _database.NewContext(watch);
        var batch = new TokenWriteBatch(db);
        batch.Open();
        db.Add(AuditLine());
        db.Add(Token("tok-a"));
        db.Add(Token("tok-b"));

        var outcome = await batch.FlushAsync(CancellationToken.None);

        Assert.That(outcome, Is.EqualTo(TokenWriteOutcome.Stored));
        Assert.That(await StoredAsync(), Is.EqualTo((2, 1)));
        if (kind == StoreKind.PostgreSql)
        {
            Assert.That(watch.Commands, Is.EqualTo(1), "the three inserts in one batch");
            Assert.That(watch.TransactionsStarted, Is.Zero, "the batch's implicit transaction: no BEGIN, no COMMIT");
        }
        else
        {
            Assert.That(watch.TransactionsStarted, Is.EqualTo(1), "SQLite runs one statement per command: EF Core's transaction stays");
        }
        Assert.That(db.Database.AutoTransactionBehavior, Is.EqualTo(AutoTransactionBehavior.WhenNeeded), "restored after the write");
    }

    [Test]
    public async Task Inserts_only_whose_last_statement_the_server_refuses_store_nothing()
    {
        await using (var seed = _database.NewContext())
        {
            seed.Add(Token("tok-b"));
            await seed.SaveChangesAsync();
        }
        await using var db = _database.NewContext();
        var batch = new TokenWriteBatch(db);
        batch.Open();
        // The audit line and "tok-a" are sent before "tok-b" (EF Core orders a batch by table, then by key); "tok-b"
        // exists, so the server refuses the last insert after it ran the others.
        db.Add(AuditLine());
        db.Add(Token("tok-a"));
        db.Add(Token("tok-b"));

        Assert.That(async () => await batch.FlushAsync(CancellationToken.None), Throws.InstanceOf<DbUpdateException>());

        Assert.That(await StoredAsync(), Is.EqualTo((1, 0)), "neither tok-a nor the audit line was kept");
        Assert.That(db.ChangeTracker.Entries().Any(), Is.False, "nothing left pending for a later save");
    }

    [Test]
    public async Task A_write_that_updates_keeps_its_explicit_transaction()
    {
        await using (var seed = _database.NewContext())
        {
            seed.Add(Token("tok-old"));
            await seed.SaveChangesAsync();
        }
        var watch = new StoreWatch();
        await using var db = _database.NewContext(watch);
        var redeemed = await db.Set<OpenIddictEntityFrameworkCoreToken>().SingleAsync(t => t.Id == "tok-old");
        watch.Commands = 0;
        var batch = new TokenWriteBatch(db);
        batch.Open();
        redeemed.Status = "redeemed";
        redeemed.ConcurrencyToken = Guid.NewGuid().ToString();
        db.Add(AuditLine());
        db.Add(Token("tok-new"));

        var outcome = await batch.FlushAsync(CancellationToken.None);

        Assert.That(outcome, Is.EqualTo(TokenWriteOutcome.Stored));
        Assert.That(watch.TransactionsStarted, Is.EqualTo(1), "the UPDATE's affected rows are checked before the inserts commit");
    }

    private static AuditEvent AuditLine() =>
        new() { OccurredAt = DateTimeOffset.UtcNow, Type = AuditEventTypes.TokenIssued, Outcome = "succeeded", ClientId = "systeme-prestations" };

    private static OpenIddictEntityFrameworkCoreToken Token(string id) => new()
    {
        Id = id,
        Type = "access_token",
        Status = "valid",
        CreationDate = DateTime.UtcNow,
        ExpirationDate = DateTime.UtcNow.AddMinutes(5),
        ConcurrencyToken = Guid.NewGuid().ToString(),
    };

    private async Task<(int Tokens, int Lines)> StoredAsync()
    {
        await using var db = _database.NewContext();
        return (await db.Set<OpenIddictEntityFrameworkCoreToken>().CountAsync(),
            await db.AuditEvents.CountAsync(e => e.Type == AuditEventTypes.TokenIssued));
    }

    /// <summary>Counts the commands a context sends and the transactions it begins.</summary>
    private sealed class StoreWatch : IDbCommandInterceptor, IDbTransactionInterceptor
    {
        public int Commands;
        public int TransactionsStarted;

        public ValueTask<InterceptionResult<DbDataReader>> ReaderExecutingAsync(DbCommand command, CommandEventData eventData,
            InterceptionResult<DbDataReader> result, CancellationToken cancellationToken = default)
        {
            Commands++;
            return ValueTask.FromResult(result);
        }

        public ValueTask<InterceptionResult<int>> NonQueryExecutingAsync(DbCommand command, CommandEventData eventData,
            InterceptionResult<int> result, CancellationToken cancellationToken = default)
        {
            Commands++;
            return ValueTask.FromResult(result);
        }

        public ValueTask<DbTransaction> TransactionStartedAsync(DbConnection connection, TransactionEndEventData eventData,
            DbTransaction result, CancellationToken cancellationToken = default)
        {
            TransactionsStarted++;
            return ValueTask.FromResult(result);
        }
    }
}
