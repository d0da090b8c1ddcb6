using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using StackExchange.Redis;

namespace CafConnect.Infrastructure.Verification;

/// <summary>The one <see cref="IConnectionMultiplexer"/> every Redis-backed service of a process shares.</summary>
internal static class RedisConnection
{
    public static void TryAdd(IServiceCollection services, string configuration) =>
        services.TryAddSingleton<IConnectionMultiplexer>(_ =>
        {
            var options = ConfigurationOptions.Parse(configuration);
            if (!configuration.Contains("abortConnect", StringComparison.OrdinalIgnoreCase))
            {
                // Keep retrying in the background rather than failing the first request if Redis restarts.
                options.AbortOnConnectFail = false;
            }
            return ConnectionMultiplexer.Connect(options);
        });
}
