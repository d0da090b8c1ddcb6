using System.Net;
using System.Text.Json;
using CafConnect.IdP.Protocol;
using CafConnect.Infrastructure.Keys;
using CafConnect.Infrastructure.Notifications;
using CafConnect.Infrastructure.Persistence;
using CafConnect.Infrastructure.Verification;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using StackExchange.Redis;

namespace CafConnect.IdP.Operations;

/// <summary><c>Health:*</c>: who sees the detail of the checks, and when the outbox counts as backed up.</summary>
public sealed class HealthOptions
{
    /// <summary>CIDR networks (after forwarded headers) that get the JSON detail; everyone else gets the bare status.</summary>
    public string[] DetailNetworks { get; set; } = [];

    /// <summary>Pending messages above which the outbox check reports <c>Degraded</c>.</summary>
    public int OutboxBacklogThreshold { get; set; } = 1000;

    /// <summary>Age of the oldest pending message above which the outbox check reports <c>Degraded</c>.</summary>
    public TimeSpan OutboxMaxAge { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>
    /// Waiting messages whose last attempt failed, from which the outbox check reports <c>Degraded</c> with the reason
    /// « delivery failing »: the SMTP relay or the SMS gateway refuses or cannot be reached. Several, not one, so that a
    /// single message to a bad number does not page anyone; small, so that an outage shows within the first minute.
    /// </summary>
    public int OutboxFailingMessagesThreshold { get; set; } = 5;

    /// <summary>Each dependency check gives up after this (a probe must answer before the orchestrator's timeout).</summary>
    public TimeSpan CheckTimeout { get; set; } = TimeSpan.FromSeconds(3);

    public static HealthOptions Read(IConfiguration configuration) => configuration.GetSection("Health").Get<HealthOptions>() ?? new HealthOptions();
}

/// <summary>
/// <c>/health/live</c>: the process answers (no dependency: a restart would not fix PostgreSQL).
/// <c>/health/ready</c>: the store, Redis when configured, the signing keys, the outbox backlog. Ready fails (503) when
/// the store, Redis or the keys fail; a backed-up outbox only degrades it (200): every instance shares the same outbox,
/// so failing readiness on it would take them all out of the load balancer at once and turn late SMS into an outage
/// (docs/decisions.md #23). Detail (JSON) only to <see cref="HealthOptions.DetailNetworks"/>.
/// </summary>
public static class HealthEndpoints
{
    public const string LivePath = "/health/live";
    public const string ReadyPath = "/health/ready";
    private const string ReadyTag = "ready";

    public static bool IsHealth(PathString path) => path.StartsWithSegments("/health", StringComparison.OrdinalIgnoreCase);

    public static void AddCafConnectHealth(this IServiceCollection services, IConfiguration configuration, StorageSettings storage)
    {
        var options = HealthOptions.Read(configuration);
        services.AddSingleton(options);
        var checks = services.AddHealthChecks();
        if (storage.Provider == StorageProvider.PostgreSql)
        {
            // A connection of its own at each probe (no pool): a pooled idle connection killed by a PostgreSQL restart made
            // the first probe after it fail (57P01) although the store was back, and a probe's failure takes the instance
            // out of the load balancer (fault drill, docs/operations.md).
            var probe = new Npgsql.NpgsqlConnectionStringBuilder(storage.ConnectionString) { Pooling = false }.ConnectionString;
            checks.AddNpgSql(probe, name: "store", tags: [ReadyTag], timeout: options.CheckTimeout);
        }
        else
        {
            checks.AddDbContextCheck<CafConnectDbContext>("store", tags: [ReadyTag]);
        }
        if (!string.IsNullOrWhiteSpace(configuration[VerificationRegistration.RedisConfigurationKey]))
        {
            checks.AddRedis(sp => sp.GetRequiredService<IConnectionMultiplexer>(), name: "redis", tags: [ReadyTag], timeout: options.CheckTimeout);
        }
        checks.AddCheck<SigningKeysHealthCheck>("signing-keys", tags: [ReadyTag]);
        checks.AddCheck<OutboxBacklogHealthCheck>("outbox", failureStatus: HealthStatus.Degraded, tags: [ReadyTag]);
    }

    public static void MapCafConnectHealth(this IEndpointRouteBuilder endpoints)
    {
        var options = endpoints.ServiceProvider.GetRequiredService<HealthOptions>();
        var networks = options.DetailNetworks.Select(n => System.Net.IPNetwork.TryParse(n.Trim(), out var network)
            ? network
            : throw new InvalidOperationException($"Health:DetailNetworks: '{n}' is not a network in CIDR notation (e.g. 10.0.0.0/8)")).ToList();
        Task Write(HttpContext http, HealthReport report) => WriteAsync(http, report, networks);
        endpoints.MapHealthChecks(LivePath, new HealthCheckOptions { Predicate = _ => false, ResponseWriter = Write, AllowCachingResponses = false });
        endpoints.MapHealthChecks(ReadyPath, new HealthCheckOptions { Predicate = check => check.Tags.Contains(ReadyTag), ResponseWriter = Write, AllowCachingResponses = false });
    }

    private static Task WriteAsync(HttpContext http, HealthReport report, IReadOnlyList<System.Net.IPNetwork> detailNetworks)
    {
        var remote = http.Connection.RemoteIpAddress;
        if (remote is { IsIPv4MappedToIPv6: true })
        {
            remote = remote.MapToIPv4();
        }
        if (remote is null || !detailNetworks.Any(n => n.Contains(remote)))
        {
            http.Response.ContentType = "text/plain; charset=utf-8";
            return http.Response.WriteAsync(report.Status.ToString());
        }

        // Names, statuses, durations and the check's own description; never an exception's text (it may carry a
        // connection string or a host name).
        var body = new
        {
            status = report.Status.ToString(),
            totalDurationMs = Math.Round(report.TotalDuration.TotalMilliseconds, 1),
            checks = report.Entries.ToDictionary(e => e.Key, e => new
            {
                status = e.Value.Status.ToString(),
                durationMs = Math.Round(e.Value.Duration.TotalMilliseconds, 1),
                description = e.Value.Exception is null ? e.Value.Description : e.Value.Exception.GetType().Name,
                data = e.Value.Data.Count == 0 ? null : e.Value.Data,
            }),
        };
        http.Response.ContentType = "application/json; charset=utf-8";
        return http.Response.WriteAsync(JsonSerializer.Serialize(body));
    }
}

/// <summary>Healthy once the host loaded an active signing key from the store.</summary>
public sealed class SigningKeysHealthCheck(TokenKeyRing ring) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(ring.IsLoaded && ring.Keys.Any(k => k.Record.Use == TokenKeyUses.Signing && k.IsActive)
            ? HealthCheckResult.Healthy("an active signing key is loaded")
            : HealthCheckResult.Unhealthy("no signing key loaded"));
}

/// <summary>
/// Degraded when the gateways fail (at least <see cref="HealthOptions.OutboxFailingMessagesThreshold"/> waiting messages
/// whose last attempt failed: « delivery failing », with the channels), or when the outbox holds more, or older,
/// messages than <see cref="HealthOptions"/> allow (« outbox backed up »). Healthy again once the messages leave.
/// </summary>
public sealed class OutboxBacklogHealthCheck(IServiceScopeFactory scopes, HealthOptions options, TimeProvider clock) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<CafConnectDbContext>();
        var backlog = await OutboxBacklogProbe.MeasureAsync(db, clock, cancellationToken);
        var failing = backlog.Pending == 0 ? new Dictionary<NotificationChannel, long>() : await OutboxBacklogProbe.FailingByChannelAsync(db, cancellationToken);
        var failingTotal = failing.Values.Sum();
        var data = new Dictionary<string, object>
        {
            ["pending"] = backlog.Pending,
            ["oldestAgeSeconds"] = Math.Round(backlog.OldestAge.TotalSeconds),
            ["failing"] = failingTotal,
        };
        if (failingTotal >= options.OutboxFailingMessagesThreshold && failingTotal > 0)
        {
            var channels = string.Join(", ", failing.Where(f => f.Value > 0).OrderBy(f => f.Key).Select(f => $"{f.Key}: {f.Value}"));
            data["failingChannels"] = channels;
            return new HealthCheckResult(context.Registration.FailureStatus,
                $"delivery failing: {failingTotal} waiting message(s) whose last attempt failed ({channels}); the gateway refuses or cannot be reached", data: data);
        }
        return backlog.Pending > options.OutboxBacklogThreshold || backlog.OldestAge > options.OutboxMaxAge
            ? new HealthCheckResult(context.Registration.FailureStatus, "outbox backed up", data: data)
            : HealthCheckResult.Healthy("outbox flowing", data);
    }
}
