using CafConnect.Infrastructure.Persistence;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace CafConnect.Infrastructure.Tests.Support;

public enum StoreKind
{
    Sqlite,
    PostgreSql,
}

/// <summary>The servers the test command starts (see test.sh): ignored when absent, failed when they must run.</summary>
public static class TestServers
{
    public const string PostgresVariable = "CAFCONNECT_TEST_POSTGRES";
    public const string RedisVariable = "CAFCONNECT_TEST_REDIS";
    public const string RequireServersVariable = "CAFCONNECT_REQUIRE_SERVERS";

    public static string Require(string variable, string what)
    {
        var value = Environment.GetEnvironmentVariable(variable);
        if (string.IsNullOrWhiteSpace(value))
        {
            if (Environment.GetEnvironmentVariable(RequireServersVariable) == "1")
            {
                Assert.Fail($"{variable} is not set although {RequireServersVariable}=1: the {what} tests must run.");
            }
            Assert.Ignore($"{what} tests need {variable} (the test command sets it).");
        }
        return value!;
    }
}

/// <summary>
/// A private, migrated store for one test: a SQLite file in a temporary folder, or a fresh PostgreSQL database on the
/// server named by <c>CAFCONNECT_TEST_POSTGRES</c>, dropped afterwards (as tests/CafConnect.IdP.Tests/Support/TestStore.cs).
/// </summary>
public sealed class TestDatabase : IAsyncDisposable
{
    private readonly string? _databaseName;
    private readonly string? _adminConnectionString;

    private TestDatabase(StoreKind kind, string connectionString, string directory, string? databaseName, string? adminConnectionString)
    {
        Kind = kind;
        ConnectionString = connectionString;
        Directory = directory;
        _databaseName = databaseName;
        _adminConnectionString = adminConnectionString;
    }

    public StoreKind Kind { get; }
    public StorageProvider Provider => Kind == StoreKind.Sqlite ? StorageProvider.Sqlite : StorageProvider.PostgreSql;
    public string ConnectionString { get; }

    /// <summary>A temporary folder of the test (the SQLite file, the file sink…), deleted afterwards.</summary>
    public string Directory { get; }

    public static async Task<TestDatabase> CreateAsync(StoreKind kind)
    {
        var directory = Path.Combine(Path.GetTempPath(), "cafconnect-infra-tests", Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(directory);
        TestDatabase database;
        if (kind == StoreKind.Sqlite)
        {
            database = new TestDatabase(kind, $"Data Source={Path.Combine(directory, "store.db")}", directory, null, null);
        }
        else
        {
            var server = TestServers.Require(TestServers.PostgresVariable, "PostgreSQL");
            var name = "cafconnect_infra_" + Guid.NewGuid().ToString("N")[..12];
            var admin = new NpgsqlConnectionStringBuilder(server) { Database = "postgres", Pooling = false }.ConnectionString;
            var target = new NpgsqlConnectionStringBuilder(server) { Database = name }.ConnectionString;
            database = new TestDatabase(kind, target, directory, name, admin);
        }

        await using var context = database.NewContext();
        await context.Database.MigrateAsync();
        if (kind == StoreKind.Sqlite)
        {
            await context.Database.ExecuteSqlRawAsync("PRAGMA journal_mode=WAL;");
        }
        return database;
    }

    /// <summary>A context on this database, as the provider configures it, with <paramref name="interceptors"/> watching it.</summary>
    public CafConnectDbContext NewContext(params Microsoft.EntityFrameworkCore.Diagnostics.IInterceptor[] interceptors) => Kind == StoreKind.Sqlite
        ? new SqliteCafConnectDbContext(StorageRegistration.Configure(new DbContextOptionsBuilder<SqliteCafConnectDbContext>().AddInterceptors(interceptors), StorageProvider.Sqlite, ConnectionString).Options)
        : new PostgreSqlCafConnectDbContext(StorageRegistration.Configure(new DbContextOptionsBuilder<PostgreSqlCafConnectDbContext>().AddInterceptors(interceptors), StorageProvider.PostgreSql, ConnectionString).Options);

    public async ValueTask DisposeAsync()
    {
        if (_databaseName is not null)
        {
            NpgsqlConnection.ClearAllPools();
            await using var connection = new NpgsqlConnection(_adminConnectionString);
            await connection.OpenAsync();
            await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{_databaseName}\" WITH (FORCE)", connection);
            await drop.ExecuteNonQueryAsync();
        }
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // A temp folder left behind is harmless.
        }
    }
}
