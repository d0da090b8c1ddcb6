using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using StackExchange.Redis;

namespace CafConnect.Infrastructure.Verification;

/// <summary>
/// The one <see cref="IConnectionMultiplexer"/> every Redis-backed service of a process shares. <c>Redis:Configuration</c>
/// is StackExchange.Redis's configuration string: a server (<c>host:6379</c>), or Sentinels with the monitored service's
/// name (<c>sentinel-1:26379,sentinel-2:26379,serviceName=cafconnect</c>), in which case the multiplexer asks them for
/// the primary and follows a failover to the promoted replica without a restart (bench/fault-drill.sh).
/// </summary>
internal static class RedisConnection
{
    public static void TryAdd(IServiceCollection services, string configuration) =>
        services.TryAddSingleton<IConnectionMultiplexer>(_ => ConnectionMultiplexer.Connect(Options(configuration)));

    public static ConfigurationOptions Options(string configuration)
    {
        var options = ConfigurationOptions.Parse(configuration);
        if (!configuration.Contains("abortConnect", StringComparison.OrdinalIgnoreCase))
        {
            // Keep retrying in the background rather than failing the first request if Redis restarts.
            options.AbortOnConnectFail = false;
        }
        return options;
    }
}
