using Microsoft.Data.Sqlite;
using Npgsql;

namespace CafConnect.Cli.Tests;

/// <summary>A store that exists for one test only.</summary>
public interface ITestStore : IAsyncDisposable
{
    CliRunner Cli { get; }
}

public sealed class TemporarySqliteStore : ITestStore
{
    public TemporarySqliteStore()
    {
        Directory = Path.Combine(Path.GetTempPath(), "cafconnect-cli-tests", Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(Directory);
        File = Path.Combine(Directory, "x.db");
        Cli = new CliRunner(CafConnect.Infrastructure.Persistence.StorageProvider.Sqlite, $"Data Source={File}");
    }

    public string Directory { get; }
    public string File { get; }
    public CliRunner Cli { get; }

    public ValueTask DisposeAsync()
    {
        SqliteConnection.ClearAllPools();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
        return ValueTask.CompletedTask;
    }
}

/// <summary>
/// A fresh database <c>cafconnect_cli_&lt;random&gt;</c> on the server named by <c>CAFCONNECT_TEST_POSTGRES</c>
/// (an Npgsql connection string without Database), dropped afterwards.
/// </summary>
public sealed class TemporaryPostgreSqlDatabase : ITestStore
{
    public const string ServerVariable = "CAFCONNECT_TEST_POSTGRES";
    public const string RequireServersVariable = "CAFCONNECT_REQUIRE_SERVERS";

    private readonly string _adminConnectionString;

    private TemporaryPostgreSqlDatabase(string adminConnectionString, string databaseName, string connectionString)
    {
        _adminConnectionString = adminConnectionString;
        DatabaseName = databaseName;
        Cli = new CliRunner(CafConnect.Infrastructure.Persistence.StorageProvider.PostgreSql, connectionString);
    }

    public string DatabaseName { get; }
    public CliRunner Cli { get; }

    /// <summary>Ignores the test when no server is configured, or fails it when <c>CAFCONNECT_REQUIRE_SERVERS=1</c>.</summary>
    public static async Task<TemporaryPostgreSqlDatabase> CreateAsync()
    {
        var server = Environment.GetEnvironmentVariable(ServerVariable);
        if (string.IsNullOrWhiteSpace(server))
        {
            var reason = $"{ServerVariable} is not set (an Npgsql connection string without Database, e.g. 'Host=localhost;Username=postgres;Password=…')";
            if (Environment.GetEnvironmentVariable(RequireServersVariable) == "1")
            {
                Assert.Fail($"{RequireServersVariable}=1 but {reason}");
            }
            Assert.Ignore($"PostgreSQL tests skipped: {reason}");
        }

        var admin = new NpgsqlConnectionStringBuilder(server) { Database = "postgres", Pooling = false }.ConnectionString;
        var name = "cafconnect_cli_" + Guid.NewGuid().ToString("N")[..12];
        var target = new NpgsqlConnectionStringBuilder(server) { Database = name }.ConnectionString;
        await ExecuteAsync(admin, $"CREATE DATABASE \"{name}\"");
        return new TemporaryPostgreSqlDatabase(admin, name, target);
    }

    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        await ExecuteAsync(_adminConnectionString, $"DROP DATABASE IF EXISTS \"{DatabaseName}\" WITH (FORCE)");
    }

    private static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
