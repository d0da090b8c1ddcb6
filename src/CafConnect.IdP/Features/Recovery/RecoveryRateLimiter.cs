using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using StackExchange.Redis;

namespace CafConnect.IdP.Features.Recovery;

/// <summary>Limits of the recovery forms (<c>Recovery:RateLimit</c>): per client IP and per identifier (or contact).</summary>
public sealed class RecoveryRateLimitOptions
{
    public int PerIpLimit { get; set; } = 20;
    public TimeSpan PerIpWindow { get; set; } = TimeSpan.FromMinutes(15);
    public int PerIdentifierLimit { get; set; } = 5;
    public TimeSpan PerIdentifierWindow { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Namespace of the counters (several deployments, or test hosts, sharing one Redis keep theirs apart).</summary>
    public string KeyPrefix { get; set; } = "cafconnect:rl:";
}

/// <summary>
/// A deliberately small fixed-window counter for the two recovery forms, until the shared throttling service exists
/// (then these calls move to it). Counts every request, whether or not the identifier exists, so being limited says
/// nothing about an account. Keys never hold an identifier or contact in clear (SHA-256 under a per-process salt for
/// memory, under the Redis prefix for Redis: see <see cref="Key"/>).
/// </summary>
public interface IRecoveryRateLimiter
{
    /// <summary>Counts one request against <paramref name="scope"/>/<paramref name="subject"/>; false when over the limit.</summary>
    Task<bool> TryAcquireAsync(string scope, string subject, int limit, TimeSpan window, CancellationToken cancellationToken = default);
}

public static class RecoveryRateLimits
{
    /// <summary>Both counters are always counted (no short-circuit: a limited IP still counts against the identifier).</summary>
    public static async Task<bool> AllowAsync(this IRecoveryRateLimiter limiter, RecoveryRateLimitOptions options, string journey, string? ip, string identifier, CancellationToken cancellationToken)
    {
        var byIp = await limiter.TryAcquireAsync(options.KeyPrefix + journey + ":ip", ip ?? "unknown", options.PerIpLimit, options.PerIpWindow, cancellationToken);
        var byIdentifier = await limiter.TryAcquireAsync(options.KeyPrefix + journey + ":id", identifier, options.PerIdentifierLimit, options.PerIdentifierWindow, cancellationToken);
        return byIp && byIdentifier;
    }

    /// <summary>A NIR must not sit in Redis in clear: the subject is hashed (the counter only needs equality).</summary>
    internal static string Key(string scope, string subject) =>
        scope + ":" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes("cafconnect.rl.v1\0" + scope + "\0" + subject)));
}

/// <summary>Shared by every instance (production: PostgreSQL + Redis).</summary>
public sealed class RedisRecoveryRateLimiter(IConnectionMultiplexer redis) : IRecoveryRateLimiter
{
    // INCR and set the window's expiry on the first hit, atomically.
    private const string Script = """
        local count = redis.call('INCR', KEYS[1])
        if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
        return count
        """;

    public async Task<bool> TryAcquireAsync(string scope, string subject, int limit, TimeSpan window, CancellationToken cancellationToken = default)
    {
        var count = (long)await redis.GetDatabase().ScriptEvaluateAsync(Script,
            [RecoveryRateLimits.Key(scope, subject)], [(long)window.TotalMilliseconds]);
        return count <= limit;
    }
}

/// <summary>The embedded default (SQLite, one instance).</summary>
public sealed class InMemoryRecoveryRateLimiter(TimeProvider clock) : IRecoveryRateLimiter
{
    private readonly ConcurrentDictionary<string, (int Count, DateTimeOffset ResetAt)> _windows = new();

    public Task<bool> TryAcquireAsync(string scope, string subject, int limit, TimeSpan window, CancellationToken cancellationToken = default)
    {
        var now = clock.GetUtcNow();
        var entry = _windows.AddOrUpdate(RecoveryRateLimits.Key(scope, subject),
            _ => (1, now + window),
            (_, current) => current.ResetAt <= now ? (1, now + window) : (current.Count + 1, current.ResetAt));
        if (_windows.Count > 100_000)
        {
            foreach (var stale in _windows.Where(w => w.Value.ResetAt <= now).Select(w => w.Key).ToList())
            {
                _windows.TryRemove(stale, out _);
            }
        }
        return Task.FromResult(entry.Count <= limit);
    }
}
