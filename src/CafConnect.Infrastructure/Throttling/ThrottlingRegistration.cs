using CafConnect.Infrastructure.Persistence;
using CafConnect.Infrastructure.Verification;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using StackExchange.Redis;

namespace CafConnect.Infrastructure.Throttling;

public static class ThrottlingRegistration
{
    /// <summary>
    /// The throttle of secret checks (section <c>Throttling</c>): counters in Redis when <c>Redis:Configuration</c> is
    /// set, in memory with the embedded SQLite store, and never without Redis on PostgreSql or SqlServer
    /// (several instances would each grant the full budget). Same pattern as <see cref="VerificationRegistration"/>.
    /// </summary>
    public static IServiceCollection AddCafConnectThrottling(this IServiceCollection services, IConfiguration configuration, StorageProvider provider)
    {
        services.TryAddSingleton(configuration.GetSection("Throttling").Get<LoginThrottleOptions>() ?? new LoginThrottleOptions());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddScoped<ILoginThrottle, LoginThrottle>();

        var redisConfiguration = configuration[VerificationRegistration.RedisConfigurationKey];
        if (!string.IsNullOrWhiteSpace(redisConfiguration))
        {
            RedisConnection.TryAdd(services, redisConfiguration);
            services.TryAddSingleton<IThrottleStore>(sp => new RedisThrottleStore(
                sp.GetRequiredService<IConnectionMultiplexer>(),
                sp.GetRequiredService<LoginThrottleOptions>(),
                sp.GetRequiredService<IMacKeyProvider>(),
                sp.GetRequiredService<TimeProvider>()));
        }
        else if (provider == StorageProvider.Sqlite)
        {
            services.TryAddSingleton<IThrottleStore, InMemoryThrottleStore>();
        }
        else
        {
            var message = $"{VerificationRegistration.RedisConfigurationKey} is required with {provider}: login throttling counters must be " +
                "shared by every instance. Only the embedded Sqlite store (one instance) keeps them in memory.";
            // The host does not even start: VerificationRegistration's start-up check refuses the same configuration
            // (one clear error rather than two); this guards anything resolving the store regardless.
            services.TryAddSingleton<IThrottleStore>(_ => throw new InvalidOperationException(message));
        }
        return services;
    }
}
