using CafConnect.Infrastructure.Persistence;
using CafConnect.Infrastructure.Tests.Support;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace CafConnect.Infrastructure.Tests.Persistence;

/// <summary>
/// The store's connection settings: no <c>DISCARD ALL</c> per pooled connection (docs/decisions.md #36), statements
/// prepared once per connection (#39).
/// </summary>
public sealed class PostgreSqlConnectionDefaultsTests
{
    [Test]
    public void Connections_taken_from_the_pool_are_not_reset_unless_the_operator_says_so()
    {
        var applied = new NpgsqlConnectionStringBuilder(PostgreSqlConnectionDefaults.Apply("Host=db;Username=cafconnect;Database=cafconnect"));
        Assert.That(applied.NoResetOnClose, Is.True);
        Assert.That(applied.Host, Is.EqualTo("db"));
        Assert.That(applied.Database, Is.EqualTo("cafconnect"));
    }

    [TestCase("Host=db;No Reset On Close=false")]
    [TestCase("Host=db;noresetonclose=false")]
    public void An_explicit_setting_wins(string connectionString) =>
        Assert.That(new NpgsqlConnectionStringBuilder(PostgreSqlConnectionDefaults.Apply(connectionString)).NoResetOnClose, Is.False);

    [Test]
    public void Statements_are_prepared_automatically_unless_the_operator_says_so()
    {
        var applied = new NpgsqlConnectionStringBuilder(PostgreSqlConnectionDefaults.Apply("Host=db;Username=cafconnect"));
        Assert.That(applied.MaxAutoPrepare, Is.EqualTo(PostgreSqlConnectionDefaults.MaxAutoPrepare).And.GreaterThan(0));
        Assert.That(applied.AutoPrepareMinUsages, Is.EqualTo(PostgreSqlConnectionDefaults.AutoPrepareMinUsages));
    }

    [TestCase("Host=db;Max Auto Prepare=0")]
    [TestCase("Host=db;maxautoprepare=0")]
    public void A_pooler_without_prepared_statements_can_turn_them_off(string connectionString)
    {
        var applied = new NpgsqlConnectionStringBuilder(PostgreSqlConnectionDefaults.Apply(connectionString));
        Assert.That(applied.MaxAutoPrepare, Is.Zero);
    }
}

[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
public sealed class PooledConnectionTests(StoreKind kind)
{
    private TestDatabase _database = null!;

    [SetUp]
    public async Task CreateStore() => _database = await TestDatabase.CreateAsync(kind);

    [TearDown]
    public async Task DropStore()
    {
        if (_database is not null)
        {
            await _database.DisposeAsync();
        }
    }

    private ServiceProvider Services() =>
        new ServiceCollection().AddLogging().AddCafConnectStorage(new StorageSettings(_database.Provider, _database.ConnectionString)).BuildServiceProvider();

    [Test]
    public async Task Pooled_connections_are_not_reset_between_requests()
    {
        if (kind != StoreKind.PostgreSql)
        {
            Assert.Ignore("Npgsql's connection reset (DISCARD ALL) is a PostgreSQL matter.");
        }
        await using var services = Services();
        await using (var scope = services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<CafConnectDbContext>();
            await db.Database.OpenConnectionAsync();
            await db.Database.ExecuteSqlRawAsync("SET application_name = 'cafconnect-pool-probe'");
            await db.Database.CloseConnectionAsync();
        }
        await using (var scope = services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<CafConnectDbContext>();
            var name = await db.Database.SqlQueryRaw<string>("SELECT current_setting('application_name') AS \"Value\"").SingleAsync();
            // DISCARD ALL would have reset it: the same physical connection came back without a reset round trip.
            Assert.That(name, Is.EqualTo("cafconnect-pool-probe"));
        }
    }

    [Test]
    public async Task A_grant_s_statements_are_prepared_on_the_server_after_their_first_uses()
    {
        if (kind != StoreKind.PostgreSql)
        {
            Assert.Ignore("Automatic preparation is Npgsql's.");
        }
        await using var services = Services();
        for (var i = 0; i < 3; i++)
        {
            await using var scope = services.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<CafConnectDbContext>();
            _ = await db.Persons.AsNoTracking().Where(p => p.Nir == "1850575123456").CountAsync();
        }
        await using (var scope = services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<CafConnectDbContext>();
            var prepared = await db.Database.SqlQueryRaw<string>("SELECT statement AS \"Value\" FROM pg_prepared_statements").ToListAsync();
            Assert.That(prepared, Has.Some.Contains("\"Nir\""), "the person lookup should be prepared on this pooled connection");
        }
    }

    [Test]
    public async Task A_migration_adding_a_column_while_statements_are_prepared_breaks_nothing()
    {
        if (kind != StoreKind.PostgreSql)
        {
            Assert.Ignore("Automatic preparation is Npgsql's.");
        }
        await using var services = Services();
        async Task<int> LookUpAsync()
        {
            await using var scope = services.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<CafConnectDbContext>();
            return await db.Persons.AsNoTracking().Where(p => p.Nir == "1850575123456").CountAsync();
        }
        for (var i = 0; i < 3; i++)
        {
            await LookUpAsync();
        }
        // What a rolling deployment does: the new version's migration runs while this instance holds prepared statements.
        await using (var scope = services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<CafConnectDbContext>();
            await db.Database.ExecuteSqlRawAsync("ALTER TABLE \"Persons\" ADD COLUMN \"AddedByALaterVersion\" text NULL");
        }
        for (var i = 0; i < 3; i++)
        {
            Assert.That(await LookUpAsync(), Is.Zero);
        }
    }
}
