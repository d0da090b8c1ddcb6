using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;

namespace CafConnect.Infrastructure.Persistence;

/// <summary>Applies pending migrations (at start-up and by <c>cafconnect db migrate</c>).</summary>
public sealed class DatabaseMigrator(CafConnectDbContext db, StorageSettings settings, ILogger<DatabaseMigrator> logger)
{
    public async Task<IReadOnlyList<string>> MigrateAsync(CancellationToken cancellationToken = default)
    {
        if (settings.Provider == StorageProvider.Sqlite)
        {
            var dataSource = new SqliteConnectionStringBuilder(settings.ConnectionString).DataSource;
            var directory = Path.GetDirectoryName(Path.GetFullPath(dataSource));
            if (!string.IsNullOrEmpty(directory))
            {
                Directory.CreateDirectory(directory);
            }
        }

        var pending = (await db.Database.GetPendingMigrationsAsync(cancellationToken)).ToList();
        // EF Core takes a database lock while migrating, so several instances starting together are safe.
        await db.Database.MigrateAsync(cancellationToken);

        if (settings.Provider == StorageProvider.Sqlite)
        {
            // WAL lets readers proceed while one request writes (the embedded default serves a browser and the CLI at once).
            await db.Database.ExecuteSqlRawAsync("PRAGMA journal_mode=WAL;", cancellationToken);
        }

        LogMigrated(logger, settings.Provider, pending.Count);
        return pending;
    }

    private static void LogMigrated(ILogger logger, StorageProvider provider, int count) =>
        logger.LogInformation(new EventId(1001, "DatabaseMigrated"), "Store {Provider}: {Count} migration(s) applied", provider, count);
}
