using CafConnect.Infrastructure.Persistence;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using StackExchange.Redis;

namespace CafConnect.Infrastructure.Verification;

public static class VerificationRegistration
{
    public const string RedisConfigurationKey = "Redis:Configuration";

    internal static string RedisRequiredMessage(StorageProvider provider) =>
        $"{RedisConfigurationKey} is required with {provider}: verification codes must be shared by every instance. " +
        "Set it to a StackExchange.Redis configuration string (e.g. \"redis.internal:6379,password=…,ssl=true\"). " +
        "Only the embedded Sqlite store (one instance) keeps codes in memory.";

    /// <summary>
    /// Verification codes: Redis when <c>Redis:Configuration</c> is set (one shared <see cref="IConnectionMultiplexer"/>),
    /// in memory with the embedded SQLite store, and a start-up failure with PostgreSql or SqlServer without Redis
    /// (several instances would not share codes). The failure is an options check run when a host starts, so that the
    /// CLI, which never issues codes, still works against such a store. Options: section <c>Verification</c>.
    /// </summary>
    public static IServiceCollection AddCafConnectVerification(this IServiceCollection services, IConfiguration configuration, StorageProvider provider)
    {
        var options = configuration.GetSection("Verification").Get<VerificationCodeOptions>() ?? new VerificationCodeOptions();
        services.TryAddSingleton(options);
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IMacKeyProvider, StoredMacKeyProvider>();
        services.TryAddSingleton<CodeMac>();

        var redisConfiguration = configuration[RedisConfigurationKey];
        if (!string.IsNullOrWhiteSpace(redisConfiguration))
        {
            RedisConnection.TryAdd(services, redisConfiguration);
            services.TryAddSingleton<IVerificationCodeStore>(sp => Metered(sp, new RedisVerificationCodeStore(
                sp.GetRequiredService<IConnectionMultiplexer>(),
                sp.GetRequiredService<VerificationCodeOptions>(),
                sp.GetRequiredService<CodeMac>(),
                sp.GetRequiredService<TimeProvider>())));
        }
        else if (provider == StorageProvider.Sqlite)
        {
            services.TryAddSingleton<IVerificationCodeStore>(sp => Metered(sp, ActivatorUtilities.CreateInstance<InMemoryVerificationCodeStore>(sp)));
        }
        else
        {
            var message = RedisRequiredMessage(provider);
            services.TryAddSingleton<IVerificationCodeStore>(_ => throw new InvalidOperationException(message));
            services.AddOptions<VerificationStoreCheck>().Validate(_ => false, message).ValidateOnStart();
        }
        return services;
    }

    /// <summary>Every code issued or checked is counted here, whichever store holds it (docs/operations.md).</summary>
    private static IVerificationCodeStore Metered(IServiceProvider services, IVerificationCodeStore store) =>
        services.GetService<Observability.CafConnectMetrics>() is { } metrics ? new MeteredVerificationCodeStore(store, metrics) : store;

    /// <summary>Carries the start-up check of the store choice (no settings of its own).</summary>
    internal sealed class VerificationStoreCheck;
}
