using System.Diagnostics;
using Microsoft.Data.Sqlite;
using NUnit.Framework.Interfaces;
using NUnit.Framework.Internal;
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

    internal const string NoServerReason =
        $"{ServerVariable} is not set (an Npgsql connection string without Database, e.g. 'Host=localhost;Username=postgres;Password=…')";

    internal static string? Server => Environment.GetEnvironmentVariable(ServerVariable) is { } server && !string.IsNullOrWhiteSpace(server) ? server : null;

    internal static bool ServersRequired => Environment.GetEnvironmentVariable(RequireServersVariable) == "1";

    /// <summary>
    /// Ignores the test when no server is configured, or fails it when <c>CAFCONNECT_REQUIRE_SERVERS=1</c> (a fixture
    /// marked <see cref="PostgreSqlFixtureAttribute"/> is ignored before its set-up already).
    /// </summary>
    public static async Task<TemporaryPostgreSqlDatabase> CreateAsync()
    {
        if (Server is not { } server)
        {
            if (ServersRequired)
            {
                Assert.Fail($"{RequireServersVariable}=1 but {NoServerReason}");
            }
            Assert.Ignore($"PostgreSQL tests skipped: {NoServerReason}");
            throw new UnreachableException();
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

/// <summary>
/// A fixture of PostgreSQL tests: without a server configured (a plain <c>dotnet test</c>), its tests are ignored before
/// any set-up or teardown runs, as the other test projects' PostgreSQL tests are; with <c>CAFCONNECT_REQUIRE_SERVERS=1</c>
/// they run, and <see cref="TemporaryPostgreSqlDatabase.CreateAsync"/> fails them.
/// </summary>
[AttributeUsage(AttributeTargets.Class)]
public sealed class PostgreSqlFixtureAttribute : NUnitAttribute, IApplyToTest
{
    public void ApplyToTest(NUnit.Framework.Internal.Test test)
    {
        if (test.RunState is RunState.Runnable or RunState.Explicit && TemporaryPostgreSqlDatabase.Server is null && !TemporaryPostgreSqlDatabase.ServersRequired)
        {
            test.RunState = RunState.Ignored;
            test.Properties.Set(PropertyNames.SkipReason, $"PostgreSQL tests skipped: {TemporaryPostgreSqlDatabase.NoServerReason}");
        }
    }
}
