using CafConnect.Infrastructure.Persistence;
using Microsoft.EntityFrameworkCore;

namespace CafConnect.Infrastructure.Tests.Support;

/// <summary>
/// The base of a fixture that needs a migrated CafConnect database on a <see cref="PrivatePostgreSqlCluster"/> it may
/// restart or stop: the cluster starts once for the fixture (ignored without the PostgreSQL tests, like every one),
/// and stops with it. A test says only which database, and what it does to the server. (Mark the fixture
/// <c>[NonParallelizable]</c>: it restarts a server.)
/// </summary>
public abstract class PrivatePostgreSqlDatabaseTests(string database)
{
    private PrivatePostgreSqlCluster? _cluster;
    private string _connectionString = null!;

    protected PrivatePostgreSqlCluster Cluster => _cluster ?? throw new InvalidOperationException("The cluster has not started.");

    [OneTimeSetUp]
    public async Task StartClusterAsync()
    {
        _cluster = await PrivatePostgreSqlCluster.StartAsync();
        _connectionString = _cluster.ConnectionString(database);
        await using var db = NewContext();
        await db.Database.MigrateAsync();
    }

    [OneTimeTearDown]
    public async Task StopClusterAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }
    }

    protected PostgreSqlCafConnectDbContext NewContext() =>
        new(StorageRegistration.Configure(new DbContextOptionsBuilder<PostgreSqlCafConnectDbContext>(), StorageProvider.PostgreSql, _connectionString).Options);
}
