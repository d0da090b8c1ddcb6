using CafConnect.Infrastructure.Audit;
using CafConnect.Infrastructure.Persistence;
using CafConnect.Infrastructure.Tests.Support;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using OpenIddict.EntityFrameworkCore.Models;

namespace CafConnect.Infrastructure.Tests.Persistence;

/// <summary>
/// The inserts-only writes of concurrent grants stored together on PostgreSQL (<see cref="CoalescedInserts"/>,
/// docs/decisions.md #48): one write for every request queued meanwhile, rows read back as EF Core writes them, and a row
/// the server refuses failing its own request only.
/// </summary>
[TestFixture]
public sealed class CoalescedInsertsTests
{
    private TestDatabase _database = null!;
    private TaskCompletionSource _writesMayStart = null!;
    private CoalescedInserts _coalesced = null!;
    private readonly List<CafConnectDbContext> _requests = [];

    [SetUp]
    public async Task CreateStoreAsync()
    {
        _database = await TestDatabase.CreateAsync(StoreKind.PostgreSql);
        _writesMayStart = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _coalesced = new CoalescedInserts(new StorageSettings(StorageProvider.PostgreSql, _database.ConnectionString),
            NullLogger<CoalescedInserts>.Instance, _writesMayStart.Task, CoalescedInserts.BypassAfterFailure);
        await using var db = _database.NewContext();
        db.Add(new OpenIddictEntityFrameworkCoreApplication { Id = "app-1", ClientId = "systeme-prestations", ConcurrencyToken = "c" });
        await db.SaveChangesAsync();
    }

    [TearDown]
    public async Task DropStoreAsync()
    {
        _writesMayStart.TrySetResult();
        await _coalesced.DisposeAsync();
        foreach (var request in _requests)
        {
            await request.DisposeAsync();
        }
        _requests.Clear();
        await _database.DisposeAsync();
    }

    [Test]
    public async Task The_rows_of_grants_queued_together_go_in_one_write_and_read_back_as_they_were_added()
    {
        var grants = Enumerable.Range(0, 10).Select(i => NewGrant($"tok-{i}")).ToList();

        var flushes = grants.Select(g => g.Batch.FlushAsync(CancellationToken.None)).ToList();
        _writesMayStart.SetResult();
        var outcomes = await Task.WhenAll(flushes);

        Assert.That(outcomes, Is.All.EqualTo(TokenWriteOutcome.Stored));
        Assert.That(_coalesced.Writes, Is.EqualTo(1), "the ten grants' twenty rows in one write");
        Assert.That(grants.Select(g => g.Context.ChangeTracker.Entries().Count(e => e.State != EntityState.Unchanged)), Is.All.Zero,
            "nothing left pending in the requests' contexts (the client's row stays tracked, as after a save)");
        await using var db = _database.NewContext();
        foreach (var grant in grants)
        {
            var stored = await db.Set<OpenIddictEntityFrameworkCoreToken>().AsNoTracking().Include(t => t.Application)
                .SingleAsync(t => t.Id == grant.Token.Id);
            Assert.That(stored.Application!.Id, Is.EqualTo("app-1"), "the reference to the client's row");
            Assert.That((stored.Type, stored.Status, stored.Subject, stored.Properties, stored.ConcurrencyToken, stored.ReferenceId, stored.Payload),
                Is.EqualTo((grant.Token.Type, grant.Token.Status, grant.Token.Subject, grant.Token.Properties, grant.Token.ConcurrencyToken, (string?)null, (string?)null)));
            Assert.That(stored.CreationDate, Is.EqualTo(grant.Token.CreationDate).Within(TimeSpan.FromMilliseconds(1)));
            Assert.That(stored.ExpirationDate, Is.EqualTo(grant.Token.ExpirationDate).Within(TimeSpan.FromMilliseconds(1)));
            Assert.That(stored.RedemptionDate, Is.Null);

            var line = await db.AuditEvents.AsNoTracking().SingleAsync(e => e.CorrelationId == grant.Line.CorrelationId);
            Assert.That(line.Id, Is.GreaterThan(0), "the identity key given by the server");
            Assert.That((line.Type, line.Outcome, line.PersonId, line.ClientId, line.Channel, line.IpAddress, line.UserAgent, line.SessionId, line.Details),
                Is.EqualTo((grant.Line.Type, grant.Line.Outcome, grant.Line.PersonId, grant.Line.ClientId, grant.Line.Channel, grant.Line.IpAddress, grant.Line.UserAgent, grant.Line.SessionId, grant.Line.Details)));
            Assert.That(line.OccurredAt, Is.EqualTo(grant.Line.OccurredAt).Within(TimeSpan.FromMilliseconds(1)));
        }
    }

    [Test]
    public async Task A_row_the_server_refuses_fails_its_own_grant_and_the_others_of_its_write_are_stored()
    {
        await SeedTokenAsync("tok-taken", "access_token");
        var first = NewGrant("tok-a");
        var clash = NewGrant("tok-taken");
        var last = NewGrant("tok-c");

        var flushes = new[] { first, clash, last }.Select(g => g.Batch.FlushAsync(CancellationToken.None)).ToList();
        _writesMayStart.SetResult();

        Assert.That(await flushes[0], Is.EqualTo(TokenWriteOutcome.Stored));
        Assert.That(async () => await flushes[1], Throws.InstanceOf<DbUpdateException>(), "the clashing grant gets EF Core's error, as without coalescing");
        Assert.That(await flushes[2], Is.EqualTo(TokenWriteOutcome.Stored));
        Assert.That(_coalesced.Writes, Is.EqualTo(1), "the three were tried together first");
        await using var db = _database.NewContext();
        Assert.That(await db.Set<OpenIddictEntityFrameworkCoreToken>().CountAsync(t => t.Id == "tok-a" || t.Id == "tok-c"), Is.EqualTo(2));
        Assert.That(await db.AuditEvents.Select(e => e.CorrelationId).ToListAsync(), Is.EquivalentTo(new[] { first.Line.CorrelationId, last.Line.CorrelationId }),
            "the refused grant's audit line is not kept either");
        Assert.That(clash.Context.ChangeTracker.Entries().Any(), Is.False, "nothing of the refused grant left pending");
    }

    [Test]
    public async Task After_a_write_the_store_did_not_answer_grants_save_their_own_rows_for_a_while()
    {
        await using var unreachable = new UnreachableOnce(new StorageSettings(StorageProvider.PostgreSql, _database.ConnectionString));
        var first = NewGrant("tok-x", unreachable);
        Assert.That(await first.Batch.FlushAsync(CancellationToken.None), Is.EqualTo(TokenWriteOutcome.Stored), "its own save after the failed write");
        Assert.That(unreachable.Attempts, Is.EqualTo(1));

        var next = NewGrant("tok-y", unreachable);
        Assert.That(await next.Batch.FlushAsync(CancellationToken.None), Is.EqualTo(TokenWriteOutcome.Stored));

        Assert.That(unreachable.Attempts, Is.EqualTo(1), "within the bypass the grant saved its rows itself, without waiting for a shared attempt");
        await using var db = _database.NewContext();
        Assert.That(await db.Set<OpenIddictEntityFrameworkCoreToken>().CountAsync(t => t.Id == "tok-x" || t.Id == "tok-y"), Is.EqualTo(2));
    }

    [Test]
    public async Task A_row_the_server_refuses_does_not_stop_the_group_commit_for_the_others()
    {
        await SeedTokenAsync("tok-taken", "access_token");
        _writesMayStart.SetResult();
        Assert.That(async () => await NewGrant("tok-taken").Batch.FlushAsync(CancellationToken.None), Throws.InstanceOf<DbUpdateException>());

        Assert.That(await NewGrant("tok-next").Batch.FlushAsync(CancellationToken.None), Is.EqualTo(TokenWriteOutcome.Stored));

        Assert.That(_coalesced.Writes, Is.EqualTo(2), "the server answered: the next grant is coalesced again");
    }

    /// <summary>A group commit whose first write meets a store that does not answer (no server error: a broken connection).</summary>
    private sealed class UnreachableOnce(StorageSettings settings)
        : CoalescedInserts(settings, NullLogger<CoalescedInserts>.Instance, Task.CompletedTask, BypassAfterFailure)
    {
        public int Attempts;

        protected override Task ExecuteAsync(Npgsql.NpgsqlBatch batch) =>
            Interlocked.Increment(ref Attempts) == 1 ? throw new Npgsql.NpgsqlException("the store did not answer") : base.ExecuteAsync(batch);
    }

    [Test]
    public void A_container_disposed_synchronously_stops_the_writer_without_error()
    {
        // A tool's container (the CLI's) is disposed synchronously; an only-asynchronously disposable singleton would make
        // that dispose throw.
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddCafConnectStorage(new StorageSettings(StorageProvider.PostgreSql, _database.ConnectionString));
        var provider = services.BuildServiceProvider();
        Assert.That(provider.GetService<CoalescedInserts>(), Is.Not.Null);

        Assert.That(() => provider.Dispose(), Throws.Nothing);
    }

    [Test]
    public async Task A_write_whose_rows_refer_to_each_other_is_not_coalesced()
    {
        // An authorization and a token of it in one write: one insert per table could meet the token's foreign key first.
        var grant = NewGrant("tok-child");
        var authorization = new OpenIddictEntityFrameworkCoreAuthorization { Id = "authz-1", Status = "valid", Type = "permanent", ConcurrencyToken = "c" };
        grant.Token.Authorization = authorization;
        grant.Context.Add(authorization);
        _writesMayStart.SetResult();

        Assert.That(await grant.Batch.FlushAsync(CancellationToken.None), Is.EqualTo(TokenWriteOutcome.Stored));

        Assert.That(_coalesced.Writes, Is.Zero, "saved by EF Core, which inserts the authorization first");
        await using var db = _database.NewContext();
        Assert.That(await db.Set<OpenIddictEntityFrameworkCoreToken>().CountAsync(t => t.Id == "tok-child" && t.Authorization!.Id == "authz-1"), Is.EqualTo(1));
    }

    [Test]
    public async Task A_write_that_also_updates_is_not_coalesced()
    {
        await SeedTokenAsync("tok-old", "refresh_token");
        var grant = NewGrant("tok-new");
        var redeemed = await grant.Context.Set<OpenIddictEntityFrameworkCoreToken>().SingleAsync(t => t.Id == "tok-old");
        redeemed.Status = "redeemed";
        redeemed.ConcurrencyToken = "d";

        Assert.That(await grant.Batch.FlushAsync(CancellationToken.None), Is.EqualTo(TokenWriteOutcome.Stored));

        Assert.That(_coalesced.Writes, Is.Zero, "a redemption is checked in its own transaction (its UPDATE's affected rows)");
    }

    /// <summary>A token row already in the store (one a grant's insert would clash with, or one it redeems).</summary>
    private async Task SeedTokenAsync(string id, string type)
    {
        await using var seed = _database.NewContext();
        seed.Add(new OpenIddictEntityFrameworkCoreToken { Id = id, Type = type, Status = "valid", ConcurrencyToken = "c" });
        await seed.SaveChangesAsync();
    }

    private Grant NewGrant(string tokenId, CoalescedInserts? coalesced = null)
    {
        var db = _database.NewContext();
        _requests.Add(db);
        var batch = new TokenWriteBatch(db, coalesced ?? _coalesced);
        batch.Open();
        // As a request has it: the client's row tracked unchanged, the token referring to it.
        var client = new OpenIddictEntityFrameworkCoreApplication { Id = "app-1", ClientId = "systeme-prestations", ConcurrencyToken = "c" };
        db.Entry(client).State = EntityState.Unchanged;
        var now = DateTime.UtcNow;
        var token = new OpenIddictEntityFrameworkCoreToken
        {
            Id = tokenId,
            Application = client,
            Type = "access_token",
            Status = "valid",
            Subject = "systeme-prestations",
            Properties = """{"x":"é \" ' \\ ;"}""",
            CreationDate = now,
            ExpirationDate = now.AddMinutes(5),
            ConcurrencyToken = Guid.NewGuid().ToString(),
        };
        var line = new AuditEvent
        {
            OccurredAt = DateTimeOffset.UtcNow,
            Type = AuditEventTypes.TokenIssued,
            Outcome = "client_credentials",
            PersonId = Guid.NewGuid(),
            ClientId = "systeme-prestations",
            Channel = "api",
            IpAddress = "127.0.0.1",
            UserAgent = "agent; with ' quotes",
            SessionId = null,
            CorrelationId = Guid.NewGuid().ToString(),
            Details = "grant=client_credentials",
        };
        db.Add(token);
        db.Add(line);
        return new Grant(db, batch, token, line);
    }

    private sealed record Grant(CafConnectDbContext Context, TokenWriteBatch Batch, OpenIddictEntityFrameworkCoreToken Token, AuditEvent Line);
}
