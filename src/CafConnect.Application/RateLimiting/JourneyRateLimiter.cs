using System.Net;
using System.Security.Cryptography;
using System.Text;
using CafConnect.Infrastructure.Throttling;

namespace CafConnect.Application.RateLimiting;

/// <summary>
/// Limits of the forms that start a journey before any flow exists — « Mot de passe oublié ? », « Identifiant
/// provisoire oublié ? », « Créer Mon Compte », the holder's invitation (<c>Recovery:RateLimit</c>, the name they had
/// when recovery was the only one): per client IP and per identifier (or contact).
/// </summary>
public sealed class JourneyRateLimitOptions
{
    public int PerIpLimit { get; set; } = 20;
    public TimeSpan PerIpWindow { get; set; } = TimeSpan.FromMinutes(15);
    public int PerIdentifierLimit { get; set; } = 5;
    public TimeSpan PerIdentifierWindow { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Part of every counter's (hashed) name; the store adds its own <c>Throttling:KeyPrefix</c>.</summary>
    public string KeyPrefix { get; set; } = "cafconnect:rl:";
}

/// <summary>
/// The fixed-window limits of the journey-starting forms, counted by the throttle store. Counts every request, whether or not the identifier exists, so being limited says
/// nothing about an account. Keys never hold an identifier or contact in clear (SHA-256 under a per-process salt for
/// memory, under the Redis prefix for Redis: see <see cref="Key"/>).
/// </summary>
public interface IJourneyRateLimiter
{
    /// <summary>Counts one request against <paramref name="scope"/>/<paramref name="subject"/>; false when over the limit.</summary>
    Task<bool> TryAcquireAsync(string scope, string subject, int limit, TimeSpan window, CancellationToken cancellationToken = default);
}

public static class JourneyRateLimits
{
    /// <summary>What every limited form says (the answer is a 429 with Retry-After: an hour).</summary>
    public const string TooManyRequestsMessage = "Vous avez fait trop de demandes. Pour votre sécurité, réessayez dans une heure.";

    /// <summary>
    /// Both counters are always counted (no short-circuit: a limited IP still counts against the identifier). The IP is
    /// keyed by <see cref="ThrottleKeys.ForIp"/>, the login throttle's one rule: an IPv6 client counts by its /64.
    /// </summary>
    public static async Task<bool> AllowAsync(this IJourneyRateLimiter limiter, JourneyRateLimitOptions options, string journey, IPAddress? ip, string identifier, CancellationToken cancellationToken)
    {
        var byIp = await limiter.TryAcquireAsync(options.KeyPrefix + journey + ":ip", ThrottleKeys.ForIp(ip), options.PerIpLimit, options.PerIpWindow, cancellationToken);
        var byIdentifier = await limiter.TryAcquireAsync(options.KeyPrefix + journey + ":id", identifier, options.PerIdentifierLimit, options.PerIdentifierWindow, cancellationToken);
        return byIp && byIdentifier;
    }

    /// <summary>A NIR must not sit in Redis (or memory) in clear: the subject is hashed (the counter only needs equality).</summary>
    internal static string Key(string scope, string subject) =>
        scope + ":" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes("cafconnect.rl.v1\0" + scope + "\0" + subject)));
}

/// <summary>
/// The counters live in the throttle store (<see cref="IThrottleStore.CountRequestAsync"/>): Redis shared by every
/// instance in production, memory for the embedded single instance, the host's clock for every window.
/// </summary>
public sealed class ThrottleStoreJourneyRateLimiter(IThrottleStore store) : IJourneyRateLimiter
{
    public async Task<bool> TryAcquireAsync(string scope, string subject, int limit, TimeSpan window, CancellationToken cancellationToken = default) =>
        await store.CountRequestAsync(JourneyRateLimits.Key(scope, subject), window, cancellationToken) <= limit;
}
