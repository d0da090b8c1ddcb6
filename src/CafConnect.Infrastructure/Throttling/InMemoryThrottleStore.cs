namespace CafConnect.Infrastructure.Throttling;

/// <summary>
/// The embedded default (SQLite, one instance): the contract of <see cref="RedisThrottleStore"/> in this process's
/// memory. Counters do not survive a restart.
/// </summary>
public sealed class InMemoryThrottleStore(LoginThrottleOptions options, TimeProvider clock) : IThrottleStore
{
    private sealed class Account
    {
        public int Failures;
        public DateTimeOffset RefusedUntil;
        public DateTimeOffset LockedUntil;
        public int Locks;
        public DateTimeOffset ExpiresAt;

        public AccountThrottleState Snapshot() => new(Failures, NullIfMin(RefusedUntil), NullIfMin(LockedUntil), Locks);
    }

    private sealed class Ip
    {
        public readonly List<(DateTimeOffset At, string Entry)> Failures = [];
        public DateTimeOffset BlockedUntil;
        /// <summary>The longest window this source was counted with (the sweep must not drop failures still counted).</summary>
        public TimeSpan Window;
    }

    private readonly Lock _gate = new();
    private readonly Dictionary<string, Account> _accounts = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Ip> _ips = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (long Count, DateTimeOffset ResetAt)> _windows = new(StringComparer.Ordinal);
    private DateTimeOffset _nextSweep = DateTimeOffset.MinValue;

    public Task<long> CountRequestAsync(string key, TimeSpan window, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        lock (_gate)
        {
            var now = clock.GetUtcNow();
            Sweep(now);
            var entry = _windows.TryGetValue(key, out var current) && current.ResetAt > now ? (current.Count + 1, current.ResetAt) : (1L, now + window);
            _windows[key] = entry;
            return Task.FromResult(entry.Item1);
        }
    }

    public Task<ThrottleDecision> BeginAsync(string? account, string ip, CancellationToken cancellationToken = default) =>
        BeginAsync(account, ip, SourceBudget.ForIp(options), cancellationToken);

    public Task<ThrottleDecision> BeginAsync(string? account, string ip, SourceBudget sourceBudget, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(ip);
        ArgumentNullException.ThrowIfNull(sourceBudget);
        lock (_gate)
        {
            var now = clock.GetUtcNow();
            Sweep(now);

            if (!_ips.TryGetValue(ip, out var byIp))
            {
                byIp = new Ip();
                _ips[ip] = byIp;
            }
            if (byIp.BlockedUntil > now)
            {
                return Task.FromResult(new ThrottleDecision(ThrottleRefusal.IpBlocked, byIp.BlockedUntil - now, null, 0, null, 0));
            }
            byIp.Window = sourceBudget.Window > byIp.Window ? sourceBudget.Window : byIp.Window;
            byIp.Failures.RemoveAll(f => f.At <= now - sourceBudget.Window);
            if (byIp.Failures.Count >= sourceBudget.MaxFailures)
            {
                byIp.BlockedUntil = now + sourceBudget.BlockDuration;
                byIp.Failures.Clear(); // a fresh budget once the block ends
                return Task.FromResult(new ThrottleDecision(ThrottleRefusal.IpBlocked, sourceBudget.BlockDuration, null, 0, null, 0));
            }
            var entry = Guid.NewGuid().ToString("N");
            byIp.Failures.Add((now, entry));

            if (account is null)
            {
                return Task.FromResult(new ThrottleDecision(null, TimeSpan.Zero, entry, 0, null, 0));
            }
            if (!_accounts.TryGetValue(account, out var state) || state.ExpiresAt <= now)
            {
                state = new Account();
                _accounts[account] = state;
            }
            if (state.LockedUntil > now)
            {
                return Task.FromResult(new ThrottleDecision(ThrottleRefusal.AccountLocked, state.LockedUntil - now, entry, state.Failures, null, state.Locks));
            }
            if (state.RefusedUntil > now)
            {
                return Task.FromResult(new ThrottleDecision(ThrottleRefusal.AccountDelayed, state.RefusedUntil - now, entry, state.Failures, null, state.Locks));
            }

            var failures = state.Failures + 1;
            DateTimeOffset? locksUntil = null;
            if (failures >= options.LockAfterFailures)
            {
                state.Locks++;
                state.LockedUntil = now + options.LockDuration(state.Locks);
                state.RefusedUntil = DateTimeOffset.MinValue;
                state.Failures = 0; // the lock is the consequence; the next series starts from zero, doubled
                locksUntil = state.LockedUntil;
            }
            else
            {
                state.Failures = failures;
                var delay = options.DelayAfter(failures);
                state.RefusedUntil = delay > TimeSpan.Zero ? now + delay : DateTimeOffset.MinValue;
            }
            var latest = state.LockedUntil > state.RefusedUntil ? state.LockedUntil : state.RefusedUntil;
            state.ExpiresAt = (latest > now ? latest : now) + options.AccountStateRetention;
            return Task.FromResult(new ThrottleDecision(null, TimeSpan.Zero, entry, failures, locksUntil, state.Locks));
        }
    }

    public Task SucceededAsync(string? account, string ip, string? ipEntry, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            if (account is not null)
            {
                _accounts.Remove(account);
            }
            if (ipEntry is not null && _ips.TryGetValue(ip, out var byIp))
            {
                byIp.Failures.RemoveAll(f => f.Entry == ipEntry);
            }
        }
        return Task.CompletedTask;
    }

    public Task<AccountThrottleState?> ResetAsync(string account, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            var state = Live(account);
            _accounts.Remove(account);
            return Task.FromResult(state?.Snapshot());
        }
    }

    public Task<AccountThrottleState?> GetAsync(string account, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            return Task.FromResult(Live(account)?.Snapshot());
        }
    }

    private Account? Live(string account) =>
        _accounts.TryGetValue(account, out var state) && state.ExpiresAt > clock.GetUtcNow() ? state : null;

    private static DateTimeOffset? NullIfMin(DateTimeOffset value) => value == DateTimeOffset.MinValue ? null : value;

    /// <summary>Drops expired entries at most once a minute (the maps stay as small as the live attacks).</summary>
    private void Sweep(DateTimeOffset now)
    {
        if (now < _nextSweep)
        {
            return;
        }
        _nextSweep = now + TimeSpan.FromMinutes(1);
        foreach (var key in _accounts.Where(p => p.Value.ExpiresAt <= now).Select(p => p.Key).ToList())
        {
            _accounts.Remove(key);
        }
        foreach (var key in _windows.Where(p => p.Value.ResetAt <= now).Select(p => p.Key).ToList())
        {
            _windows.Remove(key);
        }
        foreach (var (key, value) in _ips.ToList())
        {
            value.Failures.RemoveAll(f => f.At <= now - (value.Window > options.IpWindow ? value.Window : options.IpWindow));
            if (value.Failures.Count == 0 && value.BlockedUntil <= now)
            {
                _ips.Remove(key);
            }
        }
    }
}
