using CafConnect.Application;
using System.Data.Common;
using CafConnect.Infrastructure;
using CafConnect.Infrastructure.Audit;
using CafConnect.Infrastructure.Persistence;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace CafConnect.Cli;

/// <summary>
/// Builds the CLI's configuration and service provider: the same infrastructure as the IdP
/// (store, Data Protection key ring, OpenIddict managers, token keys, audit trail), without the web host.
/// </summary>
public sealed class CliHost : IAsyncDisposable
{
    /// <summary>The audit channel of every event the CLI writes.</summary>
    public const string AuditChannel = "cli";

    private readonly ServiceProvider _services;

    private CliHost(ServiceProvider services, StorageSettings storage, string correlationId, IConfiguration configuration)
    {
        _services = services;
        Configuration = configuration;
        Storage = storage;
        CorrelationId = correlationId;
    }

    public IServiceProvider Services => _services;
    public StorageSettings Storage { get; }
    public string CorrelationId { get; }

    /// <summary>The resolved configuration (e.g. <c>Audit:RetentionDays</c>).</summary>
    public IConfiguration Configuration { get; }

    /// <summary>
    /// Configuration, lowest precedence first: <c>appsettings.json</c> next to the binary, environment variables
    /// (<c>Storage__Provider</c>, <c>ConnectionStrings__CafConnect</c>…), the <c>--config</c> file, then
    /// <c>--provider</c> and <c>--connection-string</c>.
    /// </summary>
    public static IConfigurationRoot BuildConfiguration(CliSettings settings)
    {
        var builder = new ConfigurationBuilder()
            .AddJsonFile(Path.Combine(AppContext.BaseDirectory, "appsettings.json"), optional: true, reloadOnChange: false)
            .AddEnvironmentVariables();
        if (settings.ConfigFile is not null)
        {
            if (!File.Exists(settings.ConfigFile))
            {
                throw CliException.Usage($"configuration file '{settings.ConfigFile}' does not exist");
            }
            builder.AddJsonFile(settings.ConfigFile, optional: false, reloadOnChange: false);
        }

        var overrides = new Dictionary<string, string?>();
        if (!string.IsNullOrWhiteSpace(settings.Provider))
        {
            overrides["Storage:Provider"] = settings.Provider;
        }
        if (!string.IsNullOrWhiteSpace(settings.ConnectionString))
        {
            overrides[$"ConnectionStrings:{StorageSettings.ConnectionStringName}"] = settings.ConnectionString;
        }
        builder.AddInMemoryCollection(overrides);

        try
        {
            return builder.Build();
        }
        catch (InvalidDataException e)
        {
            throw CliException.Usage($"configuration file is not valid JSON: {e.Message}");
        }
    }

    public static CliHost Create(CliSettings settings, TextWriter log)
    {
        var configuration = BuildConfiguration(settings);
        StorageSettings storage;
        try
        {
            // The same resolution as the IdP: without a connection string, SQLite in data/cafconnect.db
            // under the content root, which for the CLI is the current directory.
            storage = StorageSettings.FromConfiguration(configuration, Directory.GetCurrentDirectory());
        }
        catch (InvalidOperationException e)
        {
            throw CliException.Usage(e.Message);
        }

        var correlationId = Guid.NewGuid().ToString("N");
        var services = new ServiceCollection();
        services.AddLogging(logging =>
        {
            if (settings.Verbose)
            {
                logging.SetMinimumLevel(LogLevel.Information);
                logging.AddProvider(new TextWriterLoggerProvider(log));
            }
            else
            {
                logging.SetMinimumLevel(LogLevel.None);
            }
        });
        services.AddSingleton<IAuditContextAccessor>(
            new FixedAuditContextAccessor(new AuditContext(AuditChannel, null, null, null, correlationId)));
        services.AddCafConnectApplication(configuration);
        services.AddCafConnectInfrastructure(configuration, Directory.GetCurrentDirectory());

        return new CliHost(services.BuildServiceProvider(new ServiceProviderOptions { ValidateScopes = true, ValidateOnBuild = false }), storage, correlationId, configuration);
    }

    /// <summary>Refuses to work on a store that does not exist or is not migrated (instead of failing on a missing table).</summary>
    public async Task EnsureStoreReadyAsync(CancellationToken cancellationToken)
    {
        if (Storage.Provider == StorageProvider.Sqlite && SqliteFile(Storage.ConnectionString) is { } file && !File.Exists(file))
        {
            throw CliException.Failure($"no store at {file}: run 'cafconnect db migrate' first, or point --connection-string at the IdP's store");
        }

        await using var scope = _services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<CafConnectDbContext>();
        var pending = (await db.Database.GetPendingMigrationsAsync(cancellationToken)).ToList();
        if (pending.Count > 0)
        {
            throw CliException.Failure($"the store has {pending.Count} pending migration(s): run 'cafconnect db migrate' first");
        }
    }

    /// <summary>Provider and where the data lives, never credentials: for the line printed before every command.</summary>
    public static string Describe(StorageSettings storage)
    {
        if (storage.Provider == StorageProvider.Sqlite)
        {
            return $"{storage.Provider}, {SqliteFile(storage.ConnectionString) ?? "in memory"}";
        }

        var builder = new DbConnectionStringBuilder();
        try
        {
            builder.ConnectionString = storage.ConnectionString;
        }
        catch (ArgumentException)
        {
            return $"{storage.Provider}, (unreadable connection string)";
        }

        var parts = new List<string>();
        Add("server", "Host", "Server", "Data Source", "Address", "Addr", "Network Address");
        Add("port", "Port");
        Add("database", "Database", "Initial Catalog", "Db");
        Add("user", "Username", "User Id", "UserId", "User", "UID", "User Name");
        return parts.Count == 0 ? storage.Provider.ToString() : $"{storage.Provider}, {string.Join(", ", parts)}";

        void Add(string label, params string[] keys)
        {
            foreach (var key in keys)
            {
                if (builder.TryGetValue(key, out var value) && value?.ToString() is { Length: > 0 } text)
                {
                    parts.Add($"{label}={text}");
                    return;
                }
            }
        }
    }

    private static string? SqliteFile(string connectionString)
    {
        var builder = new SqliteConnectionStringBuilder(connectionString);
        if (builder.Mode == SqliteOpenMode.Memory || string.IsNullOrEmpty(builder.DataSource) || builder.DataSource == ":memory:")
        {
            return null;
        }
        return Path.GetFullPath(builder.DataSource);
    }

    public ValueTask DisposeAsync() => _services.DisposeAsync();
}
