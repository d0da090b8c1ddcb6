using CafConnect.Infrastructure.Persistence;
using CafConnect.Infrastructure.Tests.Support;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace CafConnect.Infrastructure.Tests.Persistence;

/// <summary>The store's connection settings (docs/decisions.md #36): no <c>DISCARD ALL</c> per pooled connection.</summary>
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
}
