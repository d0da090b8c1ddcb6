namespace CafConnect.Infrastructure.Throttling;

/// <summary>
/// Rules of the throttling of secret checks (section <c>Throttling</c>). Defaults: after 3 consecutive failures on an
/// account, attempts are refused for 1 s, then 2 s, 4 s… (doubling, capped); the 10th consecutive failure locks the
/// account for 15 minutes, each further lock lasting twice the previous one, up to 24 hours. Per client IP: 30 failures
/// within 10 minutes block the IP for 15 minutes. See docs/security.md.
/// </summary>
public sealed class LoginThrottleOptions
{
    /// <summary>Consecutive failures allowed without delay; the next ones are spaced by <see cref="FirstDelay"/>, doubling.</summary>
    public int FreeFailures { get; set; } = 3;
    public TimeSpan FirstDelay { get; set; } = TimeSpan.FromSeconds(1);
    public TimeSpan MaxDelay { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Consecutive failures that lock the account (CNIL 2022-100 case 2: at most 10).</summary>
    public int LockAfterFailures { get; set; } = 10;
    public TimeSpan FirstLockDuration { get; set; } = TimeSpan.FromMinutes(15);
    public TimeSpan MaxLockDuration { get; set; } = TimeSpan.FromHours(24);

    /// <summary>How long an account's counters are kept after its last failure or lock (lock level included).</summary>
    public TimeSpan AccountStateRetention { get; set; } = TimeSpan.FromDays(7);

    /// <summary>Failures from one IP (an IPv6 /64) within <see cref="IpWindow"/> after which the IP is blocked.</summary>
    public int IpMaxFailures { get; set; } = 30;
    public TimeSpan IpWindow { get; set; } = TimeSpan.FromMinutes(10);
    public TimeSpan IpBlockDuration { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>Prefix of the Redis keys (tests give each store its own).</summary>
    public string KeyPrefix { get; set; } = "cafconnect:thr:";

    /// <summary>The delay imposed after the <paramref name="failures"/>-th consecutive failure (zero below the threshold).</summary>
    public TimeSpan DelayAfter(int failures) => failures < FreeFailures ? TimeSpan.Zero : Doubled(FirstDelay, failures - FreeFailures, MaxDelay);

    /// <summary>The duration of the <paramref name="lockNumber"/>-th lock (1-based).</summary>
    public TimeSpan LockDuration(int lockNumber) => Doubled(FirstLockDuration, Math.Max(0, lockNumber - 1), MaxLockDuration);

    private static TimeSpan Doubled(TimeSpan first, int doublings, TimeSpan cap)
    {
        var milliseconds = first.TotalMilliseconds * Math.Pow(2, Math.Min(doublings, 62));
        return milliseconds >= cap.TotalMilliseconds ? cap : TimeSpan.FromMilliseconds(milliseconds);
    }
}

public enum ThrottleRefusal
{
    /// <summary>The account had 3+ consecutive failures and its next attempt is not due yet.</summary>
    AccountDelayed,
    /// <summary>The account is locked (10 consecutive failures).</summary>
    AccountLocked,
    /// <summary>Too many failures from this client IP.</summary>
    IpBlocked,
    /// <summary>
    /// Too many failures presented by one authenticated confidential client that answers for many callers (the voice
    /// server on the phone channel): its own budget, sized for a call centre, instead of the per-IP one.
    /// </summary>
    ClientBlocked,
}

/// <summary>
/// The budget of a source of attempts (a client IP, or an authenticated client that relays many callers): failures
/// within <see cref="Window"/> after which the source is refused for <see cref="BlockDuration"/>.
/// </summary>
public sealed record SourceBudget(int MaxFailures, TimeSpan Window, TimeSpan BlockDuration)
{
    public static SourceBudget ForIp(LoginThrottleOptions options) => new(options.IpMaxFailures, options.IpWindow, options.IpBlockDuration);
}

/// <summary>
/// The answer to "may this attempt check a secret?". An allowed attempt is already counted as a failure (so that
/// parallel attempts cannot overtake the limits); a success undoes that (<see cref="IThrottleStore.SucceededAsync"/>).
/// <see cref="LocksUntil"/> is set on the attempt that locked the account, should it fail.
/// </summary>
public sealed record ThrottleDecision(
    ThrottleRefusal? Refusal,
    TimeSpan RetryAfter,
    string? IpEntry,
    int ConsecutiveFailures,
    DateTimeOffset? LocksUntil,
    int LockNumber)
{
    public bool Allowed => Refusal is null;
}

/// <summary>An account's counters as the store holds them.</summary>
public sealed record AccountThrottleState(int ConsecutiveFailures, DateTimeOffset? RefusedUntil, DateTimeOffset? LockedUntil, int Locks);

/// <summary>
/// The shared counters of failed secret checks, per account and per client IP. Redis in production (every instance
/// sees the same counters); in memory for the embedded default. Time comes from <see cref="TimeProvider"/>; every
/// "until" is a timestamp compared with it, store TTLs only collect garbage.
/// </summary>
public interface IThrottleStore
{
    /// <summary>
    /// Checks the IP then the account (<paramref name="account"/> null for an unknown identifier) and, when allowed,
    /// counts the attempt as a failure of both. A refused attempt counts against the IP only (unless the IP itself is blocked).
    /// </summary>
    Task<ThrottleDecision> BeginAsync(string? account, string ip, CancellationToken cancellationToken = default);

    /// <summary>
    /// The same, with <paramref name="source"/> counted against <paramref name="sourceBudget"/> instead of the per-IP
    /// budget of the options (a refused source is <see cref="ThrottleRefusal.IpBlocked"/>: the caller names it).
    /// </summary>
    Task<ThrottleDecision> BeginAsync(string? account, string source, SourceBudget sourceBudget, CancellationToken cancellationToken = default);

    /// <summary>The secret was right: the account starts afresh and the attempt no longer counts against the IP.</summary>
    Task SucceededAsync(string? account, string ip, string? ipEntry, CancellationToken cancellationToken = default);

    /// <summary>Forgets the account's counters and lock (password recovery); returns what they were.</summary>
    Task<AccountThrottleState?> ResetAsync(string account, CancellationToken cancellationToken = default);

    Task<AccountThrottleState?> GetAsync(string account, CancellationToken cancellationToken = default);

    /// <summary>
    /// A fixed-window request counter (the recovery forms' limits): counts one request under <paramref name="key"/>
    /// (already hashed by the caller: never an identifier in clear) and returns the count in the current window,
    /// which starts at the first request and lasts <paramref name="window"/>.
    /// </summary>
    Task<long> CountRequestAsync(string key, TimeSpan window, CancellationToken cancellationToken = default);
}
