using CafConnect.Cli.Commands;
using CafConnect.Infrastructure.Persistence;

namespace CafConnect.Cli.Tests;

/// <summary>Configuration, store selection, output and errors, independent of any one command.</summary>
[TestFixture]
[NonParallelizable] // changes the current directory and environment variables
public sealed class CliBehaviourTests
{
    private TemporarySqliteStore _store = null!;

    [SetUp]
    public void NewStore() => _store = new TemporarySqliteStore();

    [TearDown]
    public async Task DeleteStore() => await _store.DisposeAsync();

    [Test]
    public async Task Help_documents_the_default_store_and_exits_0()
    {
        var result = await CliRunner.RunRawAsync("--help");
        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        Assert.That(result.Out, Does.Contain("data/cafconnect.db under the current directory")
            .And.Contain("ConnectionStrings__CafConnect").And.Contain("--connection-string").And.Contain("--config"));
    }

    [Test]
    public async Task Without_configuration_the_store_is_data_cafconnect_db_under_the_current_directory()
    {
        Assume.That(Environment.GetEnvironmentVariable("ConnectionStrings__CafConnect"), Is.Null, "the environment configures a store");
        Assume.That(Environment.GetEnvironmentVariable("Storage__Provider"), Is.Null, "the environment configures a store");
        var previous = Directory.GetCurrentDirectory();
        Directory.SetCurrentDirectory(_store.Directory);
        try
        {
            var result = await CliRunner.RunRawAsync("db", "migrate");
            Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
            var expected = Path.Combine(Path.GetFullPath(_store.Directory), "data", "cafconnect.db");
            Assert.That(result.Out, Does.StartWith($"Store: Sqlite, {expected}"));
            Assert.That(File.Exists(expected), Is.True);
        }
        finally
        {
            Directory.SetCurrentDirectory(previous);
        }
    }

    [Test]
    public async Task A_command_on_a_store_that_does_not_exist_says_to_migrate_first_and_creates_nothing()
    {
        var result = await _store.Cli.RunAsync("clients", "list");
        Assert.That(result.ExitCode, Is.EqualTo(1), result.ToString());
        Assert.That(result.ErrorLines, Is.EqualTo(new[] { $"error: no store at {_store.File}: run 'cafconnect db migrate' first, or point --connection-string at the IdP's store" }));
        Assert.That(File.Exists(_store.File), Is.False);
    }

    [Test]
    public async Task The_connection_string_can_come_from_the_environment()
    {
        var previous = Environment.GetEnvironmentVariable("ConnectionStrings__CafConnect");
        Environment.SetEnvironmentVariable("ConnectionStrings__CafConnect", _store.Cli.ConnectionString);
        try
        {
            var result = await CliRunner.RunRawAsync("db", "migrate", "--provider", "sqlite");
            Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
            Assert.That(result.Out, Does.StartWith($"Store: Sqlite, {_store.File}"));
            Assert.That(File.Exists(_store.File), Is.True);
        }
        finally
        {
            Environment.SetEnvironmentVariable("ConnectionStrings__CafConnect", previous);
        }
    }

    [Test]
    public async Task The_provider_from_the_environment_is_checked()
    {
        var previous = Environment.GetEnvironmentVariable("Storage__Provider");
        Environment.SetEnvironmentVariable("Storage__Provider", "Oracle");
        try
        {
            var result = await CliRunner.RunRawAsync("clients", "list", "--connection-string", _store.Cli.ConnectionString);
            Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
            Assert.That(result.ErrorLines, Is.EqualTo(new[] { "error: Storage:Provider 'Oracle' is not supported; use Sqlite, PostgreSql or SqlServer." }));
        }
        finally
        {
            Environment.SetEnvironmentVariable("Storage__Provider", previous);
        }
    }

    [Test]
    public async Task The_store_can_come_from_a_config_file()
    {
        var config = Path.Combine(_store.Directory, "cli.json");
        await File.WriteAllTextAsync(config, $$"""
            { "Storage": { "Provider": "Sqlite" }, "ConnectionStrings": { "CafConnect": "Data Source={{_store.File.Replace("\\", "\\\\")}}" } }
            """);
        var result = await CliRunner.RunRawAsync("--config", config, "db", "migrate");
        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        Assert.That(result.Out, Does.StartWith($"Store: Sqlite, {_store.File}"));

        var missing = await CliRunner.RunRawAsync("--config", Path.Combine(_store.Directory, "missing.json"), "db", "migrate");
        Assert.That(missing.ExitCode, Is.EqualTo(2), missing.ToString());
        Assert.That(missing.ErrorLines, Has.Length.EqualTo(1).And.Some.Contains("missing.json' does not exist"));
    }

    [Test]
    public async Task Usage_errors_exit_2_with_one_line_each()
    {
        var unknownProvider = await _store.Cli.RunAsync("clients", "list", "--provider", "Oracle");
        Assert.That(unknownProvider.ExitCode, Is.EqualTo(2), unknownProvider.ToString());

        var noCommand = await CliRunner.RunRawAsync();
        Assert.That(noCommand.ExitCode, Is.EqualTo(2), noCommand.ToString());

        var missingOption = await _store.Cli.RunAsync("clients", "remove");
        Assert.That(missingOption.ExitCode, Is.EqualTo(2), missingOption.ToString());
        Assert.That(missingOption.ErrorLines, Has.Length.EqualTo(1).And.Some.Contains("--id"));

        var badUse = await _store.Cli.RunAsync("keys", "rotate", "--use", "both");
        Assert.That(badUse.ExitCode, Is.EqualTo(2), badUse.ToString());

        Assert.That(File.Exists(_store.File), Is.False, "nothing ran");
    }

    [Test]
    public async Task Other_failures_exit_1_with_one_line_and_a_stack_trace_only_when_verbose()
    {
        const string unreachable = "Host=127.0.0.1;Port=1;Database=x;Username=u;Password=hunter2;Timeout=2";
        var quiet = await CliRunner.RunRawAsync("clients", "list", "--provider", "PostgreSql", "--connection-string", unreachable);
        Assert.That(quiet.ExitCode, Is.EqualTo(1), quiet.ToString());
        Assert.That(quiet.Err.Trim().Split('\n'), Has.Length.EqualTo(1));
        Assert.That(quiet.Err, Does.StartWith("error: ").And.Not.Contain("   at "));
        Assert.That(quiet.Out, Does.StartWith("Store: PostgreSql, server=127.0.0.1, port=1, database=x, user=u"));
        Assert.That(quiet.Out + quiet.Err, Does.Not.Contain("hunter2"));

        var verbose = await CliRunner.RunRawAsync("clients", "list", "--provider", "PostgreSql", "--connection-string", unreachable, "--verbose");
        Assert.That(verbose.ExitCode, Is.EqualTo(1), verbose.ToString());
        Assert.That(verbose.Err, Does.Contain("   at "));
    }

    [TestCase(StorageProvider.PostgreSql, "Host=db.caf.local;Port=5433;Database=cafconnect;Username=idp;Password=hunter2", "PostgreSql, server=db.caf.local, port=5433, database=cafconnect, user=idp")]
    [TestCase(StorageProvider.SqlServer, "Server=sql01;Initial Catalog=CafConnect;User Id=idp;Password=hunter2;TrustServerCertificate=True", "SqlServer, server=sql01, database=CafConnect, user=idp")]
    [TestCase(StorageProvider.Sqlite, "Data Source=/var/lib/cafconnect/cafconnect.db;Password=hunter2", "Sqlite, /var/lib/cafconnect/cafconnect.db")]
    public void The_store_description_never_shows_a_password(StorageProvider provider, string connectionString, string expected)
    {
        var description = CliHost.Describe(new StorageSettings(provider, connectionString));
        Assert.That(description, Is.EqualTo(expected));
        Assert.That(description, Does.Not.Contain("hunter2"));
    }

    [Test]
    public void Generated_secrets_are_long_and_random()
    {
        var secrets = Enumerable.Range(0, 100).Select(_ => ClientCommands.NewSecret()).ToList();
        Assert.That(secrets, Is.All.Length.GreaterThanOrEqualTo(32));
        Assert.That(secrets, Is.Unique);
        Assert.That(secrets, Is.All.Matches("^[A-Za-z0-9_-]+$"));
    }
}
