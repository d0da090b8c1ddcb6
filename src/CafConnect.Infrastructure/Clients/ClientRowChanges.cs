using CafConnect.Infrastructure.Verification;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace CafConnect.Infrastructure.Clients;

/// <summary>
/// Where every instance hears that a client row changed (docs/decisions.md #45): a Redis channel, named by
/// <c>Redis:ClientChangesChannel</c> (default <see cref="DefaultChannel"/>). Hosts and the CLI must name the same one; it
/// exists only so that several deployments sharing one Redis (or test stores sharing one server) do not evict each
/// other's rows — which would cost a read, never a wrong answer.
/// </summary>
public sealed record ClientChangesChannel(string Name)
{
    public const string DefaultChannel = "cafconnect:clients-changed";
    public const string ConfigurationKey = "Redis:ClientChangesChannel";

    public RedisChannel Channel { get; } = RedisChannel.Literal(Name);

    /// <summary>The channel when <c>Redis:Configuration</c> is set; null without Redis (the embedded default: one process).</summary>
    public static ClientChangesChannel? FromConfiguration(IConfiguration configuration) =>
        string.IsNullOrWhiteSpace(configuration[VerificationRegistration.RedisConfigurationKey])
            ? null
            : new ClientChangesChannel(configuration[ConfigurationKey] is { Length: > 0 } name ? name : DefaultChannel);
}

/// <summary>
/// The one announcement of a changed client row, made by <see cref="CafConnectApplicationManager{TApplication}"/> after
/// each create, update and delete it performs — every write of an application row goes through it: the admin API, the
/// configuration sync at start, the demo seed, and the CLI's <c>clients add|update|remove</c> (disable and secret rotation
/// are updates). It evicts this process's shared rows, then, when Redis is configured, publishes on
/// <see cref="ClientChangesChannel"/> so that every host instance evicts its own (<see cref="ClientChangesSubscriber"/>).
/// </summary>
/// <remarks>
/// The message carries the client id alone, never a secret or a row: it is read by whoever may subscribe to the Redis
/// server, and the receiver needs nothing more, since it evicts every row exactly as a local change does (one rule for
/// both; client changes are rare operator actions, and refilling costs one indexed read per client per instance).
/// A failed publication never fails the change, which is committed: it is logged (event 2350) and the other instances
/// see the change when their copy expires (<see cref="ApplicationRowSnapshots.Lifetime"/>), as before this message existed.
/// The multiplexer is resolved at the first announcement, so a CLI command that changes no client never connects to Redis.
/// </remarks>
public sealed partial class ClientRowChanges(ApplicationRowSnapshots snapshots, IServiceProvider services, ILogger<ClientRowChanges> logger)
{
    private readonly ClientChangesChannel? _channel = services.GetService<ClientChangesChannel>();

    public async Task AnnounceAsync(string? clientId)
    {
        // Here too, not only in the entity cache's hooks: OpenIddict evicts before deleting, so a request of this process
        // could read the row again between that eviction and the delete's commit.
        snapshots.EvictAll();
        if (_channel is null)
        {
            return;
        }
        try
        {
            var redis = services.GetRequiredService<IConnectionMultiplexer>();
            var receivers = await redis.GetSubscriber().PublishAsync(_channel.Channel, clientId ?? string.Empty);
            Published(logger, clientId, receivers);
        }
        catch (Exception e) when (e is RedisException or TimeoutException or ObjectDisposedException)
        {
            NotPublished(logger, e, clientId, (int)ApplicationRowSnapshots.Lifetime.TotalSeconds);
        }
    }

    [LoggerMessage(EventId = 2350, EventName = "ClientChangeNotPublished", Level = LogLevel.Warning,
        Message = "The change of client {ClientId} is committed but could not be announced to the other instances (Redis unreachable): they apply it within {Seconds} seconds")]
    private static partial void NotPublished(ILogger logger, Exception exception, string? clientId, int seconds);

    [LoggerMessage(EventId = 2351, EventName = "ClientChangePublished", Level = LogLevel.Debug,
        Message = "Change of client {ClientId} announced to {Receivers} subscriber(s)")]
    private static partial void Published(ILogger logger, string? clientId, long receivers);
}

/// <summary>
/// Every host instance (not the CLI: its process ends with its command) listens on <see cref="ClientChangesChannel"/> and
/// evicts its shared client rows when a change is announced — through <see cref="ApplicationRowSnapshots.EvictAll"/>, the
/// path of a local change, so that a store read overlapping the eviction is not kept either. It only evicts: the token
/// endpoint's hot path never waits on Redis. A message can be missed while the connection is down: every row is evicted
/// when a connection fails and again when it is restored (StackExchange.Redis subscribes again by itself), and a missed
/// change is otherwise bounded by <see cref="ApplicationRowSnapshots.Lifetime"/>, as without Redis.
/// </summary>
public sealed partial class ClientChangesSubscriber(
    IConnectionMultiplexer redis,
    ClientChangesChannel channel,
    ApplicationRowSnapshots snapshots,
    ILogger<ClientChangesSubscriber> logger) : IHostedService
{
    private readonly Action<RedisChannel, RedisValue> _onMessage = (_, _) => snapshots.EvictAll();
    private volatile bool _subscribed;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        redis.ConnectionFailed += OnConnectionFailed;
        redis.ConnectionRestored += OnConnectionRestored;
        var subscribing = TrySubscribeAsync();
        // Connected: subscribed before the host serves. Redis unreachable: the host starts anyway (decision 30) rather
        // than wait out the command's timeout; the rows kept until the subscription takes effect are evicted then.
        return redis.IsConnected ? subscribing : Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        redis.ConnectionFailed -= OnConnectionFailed;
        redis.ConnectionRestored -= OnConnectionRestored;
        if (_subscribed)
        {
            try
            {
                await redis.GetSubscriber().UnsubscribeAsync(channel.Channel, _onMessage);
            }
            catch (Exception e) when (e is RedisException or TimeoutException or ObjectDisposedException)
            {
                // Stopping anyway: the server drops the subscription with the connection.
            }
        }
    }

    /// <summary>
    /// Subscribes unless already done. Redis may be down when the host starts (it starts anyway, decision 30): the
    /// subscription is then made when a connection is restored, and until then the rows' lifetime bounds every change.
    /// </summary>
    private async Task TrySubscribeAsync()
    {
        if (_subscribed)
        {
            return;
        }
        try
        {
            await redis.GetSubscriber().SubscribeAsync(channel.Channel, _onMessage);
            _subscribed = true;
            // A change announced before the subscription took effect was not heard.
            snapshots.EvictAll();
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            SubscribeFailed(logger, e, (int)ApplicationRowSnapshots.Lifetime.TotalSeconds);
        }
    }

    private void OnConnectionFailed(object? sender, ConnectionFailedEventArgs e)
    {
        snapshots.EvictAll();
        ConnectionLost(logger, e.ConnectionType.ToString(), e.FailureType.ToString(), (int)ApplicationRowSnapshots.Lifetime.TotalSeconds);
    }

    private void OnConnectionRestored(object? sender, ConnectionFailedEventArgs e)
    {
        // Messages published while the connection was down were lost: whatever was kept meanwhile may be stale.
        snapshots.EvictAll();
        ConnectionRestored(logger, e.ConnectionType.ToString());
        if (!_subscribed)
        {
            _ = TrySubscribeAsync();
        }
    }

    [LoggerMessage(EventId = 2352, EventName = "ClientChangesConnectionLost", Level = LogLevel.Warning,
        Message = "Redis connection ({ConnectionType}) lost ({FailureType}): client rows evicted; until it is restored, client changes made elsewhere apply within {Seconds} seconds")]
    private static partial void ConnectionLost(ILogger logger, string connectionType, string failureType, int seconds);

    [LoggerMessage(EventId = 2353, EventName = "ClientChangesConnectionRestored", Level = LogLevel.Information,
        Message = "Redis connection ({ConnectionType}) restored: client rows evicted (a change announced meanwhile may have been missed)")]
    private static partial void ConnectionRestored(ILogger logger, string connectionType);

    [LoggerMessage(EventId = 2354, EventName = "ClientChangesSubscribeFailed", Level = LogLevel.Warning,
        Message = "Could not subscribe to client changes (Redis unreachable); retried when the connection is restored, meanwhile client changes made elsewhere apply within {Seconds} seconds")]
    private static partial void SubscribeFailed(ILogger logger, Exception exception, int seconds);
}

public static class ClientChangesRegistration
{
    /// <summary>The host's subscriber, when <c>Redis:Configuration</c> is set (the CLI only publishes).</summary>
    public static IServiceCollection AddClientChangesSubscriber(this IServiceCollection services, IConfiguration configuration)
    {
        if (ClientChangesChannel.FromConfiguration(configuration) is not null)
        {
            services.AddHostedService<ClientChangesSubscriber>();
        }
        return services;
    }
}
