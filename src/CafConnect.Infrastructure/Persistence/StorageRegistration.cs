using Microsoft.AspNetCore.DataProtection;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace CafConnect.Infrastructure.Persistence;

public enum StorageProvider
{
    Sqlite,
    PostgreSql,
    SqlServer,
}

/// <summary><c>Storage:Provider</c> and <c>ConnectionStrings:CafConnect</c>, resolved once at start-up.</summary>
public sealed record StorageSettings(StorageProvider Provider, string ConnectionString)
{
    public const string ConnectionStringName = "CafConnect";

    /// <summary>
    /// <c>Storage:CoalesceInserts</c> (PostgreSQL only, default true): the inserts-only writes of concurrent grants are
    /// stored together (<see cref="CoalescedInserts"/>, docs/decisions.md #48). False: each request saves its own.
    /// </summary>
    public bool CoalesceInserts { get; init; } = true;

    /// <summary>
    /// Reads the configuration; without a connection string, SQLite defaults to <c>data/cafconnect.db</c>
    /// under <paramref name="contentRoot"/> (the embedded default needs no set-up).
    /// Unknown provider names fail here, at start-up, not at the first request.
    /// </summary>
    public static StorageSettings FromConfiguration(IConfiguration configuration, string contentRoot)
    {
        var providerName = configuration["Storage:Provider"];
        var provider = string.IsNullOrWhiteSpace(providerName)
            ? StorageProvider.Sqlite
            : Enum.TryParse<StorageProvider>(providerName, ignoreCase: true, out var parsed)
                ? parsed
                : throw new InvalidOperationException(
                    $"Storage:Provider '{providerName}' is not supported; use Sqlite, PostgreSql or SqlServer.");

        var connectionString = configuration.GetConnectionString(ConnectionStringName);
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            if (provider != StorageProvider.Sqlite)
            {
                throw new InvalidOperationException(
                    $"ConnectionStrings:{ConnectionStringName} is required when Storage:Provider is {provider}.");
            }

            var dataDirectory = Path.GetFullPath(configuration["Storage:DataDirectory"] ?? "data", contentRoot);
            connectionString = $"Data Source={Path.Combine(dataDirectory, "cafconnect.db")}";
        }

        return new StorageSettings(provider, connectionString)
        {
            CoalesceInserts = !bool.TryParse(configuration["Storage:CoalesceInserts"], out var coalesce) || coalesce,
        };
    }
}

public static class StorageRegistration
{
    /// <summary>The Data Protection application name shared by the host and the CLI (both read the same key ring).</summary>
    public const string DataProtectionApplicationName = "CafConnect";

    public static IServiceCollection AddCafConnectStorage(this IServiceCollection services, StorageSettings settings)
    {
        services.AddSingleton(settings);
        // Pooled: a request leases a context whose EF Core services are already resolved; creating one per request (the
        // internal service provider found by comparing options, its scope, the model lookup) was about 10 % of the CPU of a
        // client-credentials grant (docs/decisions.md #47). A pooled context keeps no state between leases: EF Core resets its
        // change tracker and settings, and CafConnect sets nothing else on a context. The options are built once; they
        // depend on nothing scoped. Telemetry must listen before the first context is used (InitializeCafConnectAsync).
        switch (settings.Provider)
        {
            case StorageProvider.Sqlite:
                services.AddDbContextPool<CafConnectDbContext, SqliteCafConnectDbContext>(o => Configure(o, settings.Provider, settings.ConnectionString));
                break;
            case StorageProvider.PostgreSql:
                services.AddDbContextPool<CafConnectDbContext, PostgreSqlCafConnectDbContext>(o => Configure(o, settings.Provider, settings.ConnectionString));
                if (settings.CoalesceInserts)
                {
                    services.AddSingleton<CoalescedInserts>();
                }
                break;
            case StorageProvider.SqlServer:
                services.AddDbContextPool<CafConnectDbContext, SqlServerCafConnectDbContext>(o => Configure(o, settings.Provider, settings.ConnectionString));
                break;
        }

        // Keys for cookies, anti-forgery tokens and the protection of token keys at rest live in the store,
        // so that several instances (and the CLI) share them and a restart keeps sessions valid.
        services.AddDataProtection()
            .SetApplicationName(DataProtectionApplicationName)
            .PersistKeysToDbContext<CafConnectDbContext>();

        services.AddScoped<DatabaseMigrator>();
        return services;
    }

    public static DbContextOptionsBuilder<TContext> Configure<TContext>(DbContextOptionsBuilder<TContext> builder, StorageProvider provider, string connectionString)
        where TContext : DbContext
    {
        Configure((DbContextOptionsBuilder)builder, provider, connectionString);
        return builder;
    }

    public static DbContextOptionsBuilder Configure(DbContextOptionsBuilder builder, StorageProvider provider, string connectionString)
    {
        var migrationsAssembly = typeof(CafConnectDbContext).Assembly.GetName().Name;
        _ = provider switch
        {
            StorageProvider.Sqlite => builder.UseSqlite(connectionString, o => o.MigrationsAssembly(migrationsAssembly)),
            // Retries only what the server certainly did not apply (docs/decisions.md #29).
            StorageProvider.PostgreSql => builder.UseNpgsql(PostgreSqlConnectionDefaults.Apply(connectionString), o => o.MigrationsAssembly(migrationsAssembly)
                .ExecutionStrategy(dependencies => new PostgreSqlExecutionStrategy(dependencies))),
            StorageProvider.SqlServer => builder.UseSqlServer(connectionString, o => o.MigrationsAssembly(migrationsAssembly).EnableRetryOnFailure()),
            _ => throw new ArgumentOutOfRangeException(nameof(provider)),
        };
        builder.UseOpenIddict();
        return builder;
    }
}
