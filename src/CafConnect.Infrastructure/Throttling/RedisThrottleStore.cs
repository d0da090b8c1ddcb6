using CafConnect.Infrastructure.Verification;
using StackExchange.Redis;

namespace CafConnect.Infrastructure.Throttling;

/// <summary>
/// Throttling counters in Redis, shared by every instance:
/// <list type="bullet">
/// <item><c>{prefix}acct:{person id}</c>: hash <c>f</c> consecutive failures, <c>u</c> refused until, <c>l</c> locked until
/// (Unix ms), <c>n</c> locks so far.</item>
/// <item><c>{prefix}ip:{hmac}</c>: sorted set of the IP's failures (score = Unix ms); <c>{prefix}ipblock:{hmac}</c>:
/// blocked until (Unix ms). The IP is named by an HMAC under the server's mac key, never in clear.</item>
/// </list>
/// <item><c>{prefix}rl:{key}</c>: hash <c>c</c> requests in the window, <c>r</c> window end (Unix ms): the recovery
/// forms' request counters.</item>
/// Each check-and-count is one Lua script (atomic: parallel attempts cannot overtake a limit); the IP and the account
/// are two scripts on one key each, so the keys may live on different cluster nodes. Times come from
/// <see cref="TimeProvider"/>; TTLs are only garbage collection, longer than any "until".
/// </summary>
public sealed class RedisThrottleStore(IConnectionMultiplexer redis, LoginThrottleOptions options, IMacKeyProvider macKeys, TimeProvider clock) : IThrottleStore
{
    // Slack added to every TTL so that an entry outlives the timestamp it holds even with some clock skew between instances.
    private const long TtlSlackMs = 60_000;

    // KEYS: window, block. ARGV: now, window ms, max failures, block ms, entry, slack ms.
    // Returns {0, 0} counted, {1, retryAfterMs} refused.
    private const string IpScript = """
        local now = tonumber(ARGV[1])
        local blocked = tonumber(redis.call('GET', KEYS[2]) or '0')
        if blocked > now then return {1, blocked - now} end
        redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
        if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then
          redis.call('SET', KEYS[2], now + tonumber(ARGV[4]), 'PX', tonumber(ARGV[4]) + tonumber(ARGV[6]))
          redis.call('DEL', KEYS[1])
          return {1, tonumber(ARGV[4])}
        end
        redis.call('ZADD', KEYS[1], now, ARGV[5])
        redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) + tonumber(ARGV[6]))
        return {0, 0}
        """;

    // KEYS: account. ARGV: now, free failures, first delay ms, max delay ms, lock after, first lock ms, max lock ms, retention ms.
    // Returns {status, retryAfterMs, failures, locksUntilMs, locks}: status 0 counted, 1 delayed, 2 locked.
    private const string AccountScript = """
        local now = tonumber(ARGV[1])
        local f = tonumber(redis.call('HGET', KEYS[1], 'f') or '0')
        local u = tonumber(redis.call('HGET', KEYS[1], 'u') or '0')
        local l = tonumber(redis.call('HGET', KEYS[1], 'l') or '0')
        local n = tonumber(redis.call('HGET', KEYS[1], 'n') or '0')
        if l > now then return {2, l - now, f, 0, n} end
        if u > now then return {1, u - now, f, 0, n} end
        local failures = f + 1
        local locksUntil = 0
        if failures >= tonumber(ARGV[5]) then
          n = n + 1
          local d = tonumber(ARGV[6]) * math.pow(2, math.min(n - 1, 62))
          if d > tonumber(ARGV[7]) then d = tonumber(ARGV[7]) end
          l = now + d
          locksUntil = l
          u = 0
          f = 0
        else
          f = failures
          if f >= tonumber(ARGV[2]) then
            local d = tonumber(ARGV[3]) * math.pow(2, math.min(f - tonumber(ARGV[2]), 62))
            if d > tonumber(ARGV[4]) then d = tonumber(ARGV[4]) end
            u = now + d
          else
            u = 0
          end
        end
        redis.call('HSET', KEYS[1], 'f', f, 'u', u, 'l', l, 'n', n)
        local latest = math.max(l, u, now)
        redis.call('PEXPIRE', KEYS[1], latest - now + tonumber(ARGV[8]))
        return {0, 0, failures, locksUntil, n}
        """;

    // KEYS: account. Returns the fields before deleting them.
    private const string ResetScript = """
        local values = redis.call('HMGET', KEYS[1], 'f', 'u', 'l', 'n')
        redis.call('DEL', KEYS[1])
        return values
        """;

    public Task<ThrottleDecision> BeginAsync(string? account, string ip, CancellationToken cancellationToken = default) =>
        BeginAsync(account, ip, SourceBudget.ForIp(options), cancellationToken);

    public async Task<ThrottleDecision> BeginAsync(string? account, string ip, SourceBudget sourceBudget, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(ip);
        ArgumentNullException.ThrowIfNull(sourceBudget);
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        var (window, block) = await IpKeysAsync(ip, cancellationToken);
        var entry = Guid.NewGuid().ToString("N");
        var ipResult = (RedisResult[])(await Database.ScriptEvaluateAsync(IpScript, [window, block],
            [now, Ms(sourceBudget.Window), sourceBudget.MaxFailures, Ms(sourceBudget.BlockDuration), entry, TtlSlackMs]))!;
        if ((int)ipResult[0] != 0)
        {
            return new ThrottleDecision(ThrottleRefusal.IpBlocked, TimeSpan.FromMilliseconds((long)ipResult[1]), null, 0, null, 0);
        }
        if (account is null)
        {
            return new ThrottleDecision(null, TimeSpan.Zero, entry, 0, null, 0);
        }

        var result = (RedisResult[])(await Database.ScriptEvaluateAsync(AccountScript, [AccountKey(account)],
        [
            now, options.FreeFailures, Ms(options.FirstDelay), Ms(options.MaxDelay),
            options.LockAfterFailures, Ms(options.FirstLockDuration), Ms(options.MaxLockDuration), Ms(options.AccountStateRetention),
        ]))!;
        var status = (int)result[0];
        var retryAfter = TimeSpan.FromMilliseconds((long)result[1]);
        var failures = (int)result[2];
        var locksUntil = (long)result[3];
        var locks = (int)result[4];
        return status switch
        {
            2 => new ThrottleDecision(ThrottleRefusal.AccountLocked, retryAfter, entry, failures, null, locks),
            1 => new ThrottleDecision(ThrottleRefusal.AccountDelayed, retryAfter, entry, failures, null, locks),
            _ => new ThrottleDecision(null, TimeSpan.Zero, entry, failures, locksUntil > 0 ? DateTimeOffset.FromUnixTimeMilliseconds(locksUntil) : null, locks),
        };
    }

    public async Task SucceededAsync(string? account, string ip, string? ipEntry, CancellationToken cancellationToken = default)
    {
        if (account is not null)
        {
            await Database.KeyDeleteAsync(AccountKey(account));
        }
        if (ipEntry is not null)
        {
            var (window, _) = await IpKeysAsync(ip, cancellationToken);
            await Database.SortedSetRemoveAsync(window, ipEntry);
        }
    }

    public async Task<AccountThrottleState?> ResetAsync(string account, CancellationToken cancellationToken = default) =>
        ToState((RedisResult[])(await Database.ScriptEvaluateAsync(ResetScript, [AccountKey(account)]))!);

    // KEYS: counter. ARGV: now, window ms, slack ms. Returns the count in the current window (a new window at the first
    // request after the previous one ended, by the host's clock).
    private const string WindowScript = """
        local now = tonumber(ARGV[1])
        local resetAt = tonumber(redis.call('HGET', KEYS[1], 'r') or '0')
        if resetAt <= now then
          redis.call('HSET', KEYS[1], 'c', 1, 'r', now + tonumber(ARGV[2]))
          redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) + tonumber(ARGV[3]))
          return 1
        end
        return redis.call('HINCRBY', KEYS[1], 'c', 1)
        """;

    public async Task<long> CountRequestAsync(string key, TimeSpan window, CancellationToken cancellationToken = default) =>
        (long)await Database.ScriptEvaluateAsync(WindowScript, [(RedisKey)$"{options.KeyPrefix}rl:{key}"],
            [clock.GetUtcNow().ToUnixTimeMilliseconds(), Ms(window), TtlSlackMs]);

    public async Task<AccountThrottleState?> GetAsync(string account, CancellationToken cancellationToken = default) =>
        ToState((await Database.HashGetAsync(AccountKey(account), ["f", "u", "l", "n"])).Select(v => RedisResult.Create(v)).ToArray());

    private static AccountThrottleState? ToState(RedisResult[] values)
    {
        if (values.All(v => v.IsNull))
        {
            return null;
        }
        static long Number(RedisResult value) => value.IsNull ? 0 : (long)value;
        static DateTimeOffset? Time(RedisResult value) => Number(value) is > 0 and var ms ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : null;
        return new AccountThrottleState((int)Number(values[0]), Time(values[1]), Time(values[2]), (int)Number(values[3]));
    }

    private IDatabase Database => redis.GetDatabase();

    private RedisKey AccountKey(string account) => $"{options.KeyPrefix}acct:{account}";

    private async Task<(RedisKey Window, RedisKey Block)> IpKeysAsync(string ip, CancellationToken cancellationToken)
    {
        var key = (await macKeys.GetKeysAsync(cancellationToken))[0];
        var name = Convert.ToHexStringLower(CodeMac.Compute(key.Material, "cafconnect.thr.ip.v1", ip));
        return ($"{options.KeyPrefix}ip:{name}", $"{options.KeyPrefix}ipblock:{name}");
    }

    private static long Ms(TimeSpan span) => Math.Max(1, (long)Math.Ceiling(span.TotalMilliseconds));
}
