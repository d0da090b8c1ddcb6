using Npgsql;

namespace CafConnect.IdP.Tests.Support;

public enum StoreKind
{
    Sqlite,
    PostgreSql,
}

/// <summary>
/// A private, empty store for one fixture: a SQLite file in a temporary folder (codes in memory, as the embedded
/// default), or a fresh PostgreSQL database on the server named by <c>CAFCONNECT_TEST_POSTGRES</c> with the Redis of
/// <c>CAFCONNECT_TEST_REDIS</c> (the test command starts both), dropped afterwards.
/// </summary>
public sealed class TestStore : IAsyncDisposable
{
    public const string PostgresVariable = "CAFCONNECT_TEST_POSTGRES";
    public const string RequireServersVariable = "CAFCONNECT_REQUIRE_SERVERS";
    public const string RedisVariable = "CAFCONNECT_TEST_REDIS";

    private TestStore(StoreKind kind, IReadOnlyDictionary<string, string?> settings, string? databaseName, string? directory)
    {
        Kind = kind;
        Settings = settings;
        _databaseName = databaseName;
        _directory = directory;
    }

    private readonly string? _databaseName;
    private readonly string? _directory;

    public StoreKind Kind { get; }

    /// <summary>Configuration keys that point the host at this store.</summary>
    public IReadOnlyDictionary<string, string?> Settings { get; }

    public static TestStore Create(StoreKind kind)
    {
        if (kind == StoreKind.Sqlite)
        {
            var directory = Path.Combine(Path.GetTempPath(), "cafconnect-tests", Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(directory);
            return new TestStore(kind, new Dictionary<string, string?>
            {
                ["Storage:Provider"] = "Sqlite",
                ["Storage:DataDirectory"] = directory,
            }, null, directory);
        }

        var server = Environment.GetEnvironmentVariable(PostgresVariable);
        if (string.IsNullOrWhiteSpace(server))
        {
            if (Environment.GetEnvironmentVariable(RequireServersVariable) == "1")
            {
                Assert.Fail($"{PostgresVariable} is not set although {RequireServersVariable}=1: the PostgreSQL tests must run.");
            }
            Assert.Ignore($"PostgreSQL tests need {PostgresVariable} (the test command sets it).");
        }

        var redis = Environment.GetEnvironmentVariable(RedisVariable);
        if (string.IsNullOrWhiteSpace(redis))
        {
            if (Environment.GetEnvironmentVariable(RequireServersVariable) == "1")
            {
                Assert.Fail($"{RedisVariable} is not set although {RequireServersVariable}=1: the PostgreSQL + Redis tests must run.");
            }
            Assert.Ignore($"PostgreSQL tests run with Redis and need {RedisVariable} (the test command sets it).");
        }

        var databaseName = "cafconnect_test_" + Guid.NewGuid().ToString("N")[..12];
        var connectionString = new NpgsqlConnectionStringBuilder(server) { Database = databaseName }.ConnectionString;
        return new TestStore(kind, new Dictionary<string, string?>
        {
            ["Storage:Provider"] = "PostgreSql",
            ["ConnectionStrings:CafConnect"] = connectionString,
            // Production shape: PostgreSQL for the store, Redis for codes and counters.
            ["Redis:Configuration"] = redis,
            // Throttling counters of this store only (the IP of the test server is the same for every fixture).
            ["Throttling:KeyPrefix"] = $"cafconnect-test:{databaseName}:thr:",
            // Client-change announcements of this store's instances only (docs/decisions.md #45).
            ["Redis:ClientChangesChannel"] = $"cafconnect-test:{databaseName}:clients-changed",
        }, databaseName, null);
    }

    public async ValueTask DisposeAsync()
    {
        if (_databaseName is not null)
        {
            NpgsqlConnection.ClearAllPools();
            var admin = new NpgsqlConnectionStringBuilder(Environment.GetEnvironmentVariable(PostgresVariable)) { Database = "postgres" };
            await using var connection = new NpgsqlConnection(admin.ConnectionString);
            await connection.OpenAsync();
            await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{_databaseName}\" WITH (FORCE)", connection);
            await drop.ExecuteNonQueryAsync();
        }
        if (_directory is not null)
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            try
            {
                Directory.Delete(_directory, recursive: true);
            }
            catch (IOException)
            {
                // A temp folder left behind is harmless.
            }
        }
    }
}
