using Microsoft.Extensions.Configuration;
using CafConnect.Infrastructure.Persistence;
using Microsoft.EntityFrameworkCore;

namespace CafConnect.Infrastructure.Tests.Persistence;

/// <summary>
/// Every provider's migrations match the model. SQL Server has no server here: its migrations are still generated
/// and checked against the model, so a change that forgets them fails here.
/// </summary>
public sealed class MigrationTests
{
    private static IEnumerable<TestCaseData> Contexts()
    {
        yield return new TestCaseData(new SqliteDesignTimeFactory().CreateDbContext([])).SetName("SQLite migrations match the model");
        yield return new TestCaseData(new PostgreSqlDesignTimeFactory().CreateDbContext([])).SetName("PostgreSQL migrations match the model");
        yield return new TestCaseData(new SqlServerDesignTimeFactory().CreateDbContext([])).SetName("SQL Server migrations match the model");
    }

    [TestCaseSource(nameof(Contexts))]
    public void Migrations_exist_and_have_no_pending_model_changes(CafConnectDbContext context)
    {
        using (context)
        {
            Assert.That(context.Database.GetMigrations(), Is.Not.Empty);
            Assert.That(context.Database.HasPendingModelChanges(), Is.False, "run `dotnet ef migrations add` for this provider");
        }
    }

    [Test]
    public async Task Sqlite_store_is_created_by_migration_from_nothing()
    {
        var directory = Path.Combine(Path.GetTempPath(), "cafconnect-migrate-" + Guid.NewGuid().ToString("N"));
        var settings = new StorageSettings(StorageProvider.Sqlite, $"Data Source={Path.Combine(directory, "sub", "store.db")}");
        try
        {
            await using var context = new SqliteCafConnectDbContext(StorageRegistration.Configure(new DbContextOptionsBuilder<SqliteCafConnectDbContext>(), settings.Provider, settings.ConnectionString).Options);
            var migrator = new DatabaseMigrator(context, settings, Microsoft.Extensions.Logging.Abstractions.NullLogger<DatabaseMigrator>.Instance);

            var applied = await migrator.MigrateAsync();
            var again = await migrator.MigrateAsync();

            Assert.That(applied, Is.Not.Empty);
            Assert.That(again, Is.Empty, "migrating twice is harmless");
            Assert.That(await context.Persons.CountAsync(), Is.Zero);
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(directory, recursive: true);
        }
    }

    [Test]
    public void Unknown_provider_is_refused_at_start_up()
    {
        var configuration = new Microsoft.Extensions.Configuration.ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Storage:Provider"] = "Oracle" }).Build();

        var error = Assert.Throws<InvalidOperationException>(() => StorageSettings.FromConfiguration(configuration, "/tmp"));
        Assert.That(error!.Message, Does.Contain("Oracle"));
    }

    [Test]
    public void PostgreSql_without_a_connection_string_is_refused_at_start_up()
    {
        var configuration = new Microsoft.Extensions.Configuration.ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Storage:Provider"] = "PostgreSql" }).Build();

        Assert.Throws<InvalidOperationException>(() => StorageSettings.FromConfiguration(configuration, "/tmp"));
    }
}
