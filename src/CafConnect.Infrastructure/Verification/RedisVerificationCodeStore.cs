using System.Security.Cryptography;
using StackExchange.Redis;

namespace CafConnect.Infrastructure.Verification;

/// <summary>
/// Verification codes in Redis, shared by every instance. Per (flow, channel, contact) — named only by an HMAC of them,
/// never the contact in clear — two hashes:
/// <list type="bullet">
/// <item><c>{prefix}code:{lookup}</c>: <c>h</c> = HMAC of the code, <c>a</c> = wrong entries; TTL = the channel's lifetime.</item>
/// <item><c>{prefix}sends:{lookup}</c>: <c>n</c> = codes sent, <c>t</c> = last send (Unix ms); TTL = <see cref="VerificationCodeOptions.CounterLifetime"/>
/// (<c>{prefix}sends:flow:{flow lookup}</c> when the sends are counted per flow, <see cref="CodeSendScope.PerFlow"/>).</item>
/// </list>
/// Issuing is one Lua script (limits checked and the new code written atomically). Checking compares the HMACs in
/// constant time here, then consumes with a compare-and-delete script (two concurrent right submissions: one
/// <see cref="CodeCheck.Verified"/>) or counts the wrong entry with HINCRBY.
/// Time: code expiry is Redis's TTL (real time); the minimum interval between sends uses <see cref="TimeProvider"/>.
/// </summary>
public sealed class RedisVerificationCodeStore(
    IConnectionMultiplexer redis,
    VerificationCodeOptions options,
    CodeMac mac,
    TimeProvider clock,
    string keyPrefix = RedisVerificationCodeStore.DefaultKeyPrefix) : IVerificationCodeStore
{
    public const string DefaultKeyPrefix = "cafconnect:vc:";

    // KEYS: sends, code. ARGV: now ms, min interval ms, max sends, counter ttl ms, code hmac, code ttl ms.
    // Returns {status, retryAfterMs, sends}: 1 issued, -1 too soon, -2 too many sends.
    private const string IssueScript = """
        local n = tonumber(redis.call('HGET', KEYS[1], 'n') or '0')
        local t = tonumber(redis.call('HGET', KEYS[1], 't') or '0')
        local now = tonumber(ARGV[1])
        local interval = tonumber(ARGV[2])
        if n >= tonumber(ARGV[3]) then
          local ttl = redis.call('PTTL', KEYS[1])
          if ttl < 0 then ttl = 0 end
          return {-2, ttl, n}
        end
        if n > 0 and now - t < interval then
          local wait = interval - (now - t)
          if wait > interval then wait = interval end
          return {-1, wait, n}
        end
        redis.call('HSET', KEYS[1], 'n', n + 1, 't', now)
        redis.call('PEXPIRE', KEYS[1], ARGV[4])
        redis.call('DEL', KEYS[2])
        redis.call('HSET', KEYS[2], 'h', ARGV[5], 'a', 0)
        redis.call('PEXPIRE', KEYS[2], ARGV[6])
        return {1, 0, n + 1}
        """;

    // KEYS: code. ARGV: the stored HMAC the caller matched (in constant time), max wrong attempts.
    // Deletes the code only if it is still that code and not exhausted. Returns 1 consumed, 0 gone/replaced, -1 exhausted.
    private const string ConsumeScript = """
        local h = redis.call('HGET', KEYS[1], 'h')
        if not h or h ~= ARGV[1] then return 0 end
        local a = tonumber(redis.call('HGET', KEYS[1], 'a') or '0')
        if a >= tonumber(ARGV[2]) then return -1 end
        redis.call('DEL', KEYS[1])
        return 1
        """;

    // KEYS: code. Counts a wrong entry on the live code (the TTL is kept). Returns the wrong entries, or -1 when gone.
    private const string WrongScript = """
        if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
        return redis.call('HINCRBY', KEYS[1], 'a', 1)
        """;

    private static readonly RedisValue[] CodeFields = ["h", "a"];

    public async Task<CodeIssue> IssueAsync(string flowId, ContactChannel channel, string contact, CodeSendScope sendScope, CancellationToken cancellationToken = default)
    {
        var subject = (await mac.SubjectsAsync(flowId, channel, contact, cancellationToken))[0];
        var code = CodeMac.NewCode();
        var lifetime = options.LifetimeFor(channel);
        var now = clock.GetUtcNow();

        var result = (RedisResult[])(await Database.ScriptEvaluateAsync(IssueScript,
            [SendsKey(subject, sendScope), CodeKey(subject)],
            [
                now.ToUnixTimeMilliseconds(),
                Math.Max(0L, (long)options.MinIntervalBetweenSends.TotalMilliseconds),
                options.MaxSendsPerContact,
                Milliseconds(options.CounterLifetime),
                subject.Hash(code),
                Milliseconds(lifetime),
            ]))!;

        var status = (int)result[0];
        var retryAfter = TimeSpan.FromMilliseconds((long)result[1]);
        var sends = (int)result[2];
        var remaining = Math.Max(0, options.MaxSendsPerContact - sends);
        return status switch
        {
            1 => new CodeIssue(code, null, TimeSpan.Zero, remaining, now + lifetime),
            -1 => new CodeIssue(null, CodeRefusal.TooSoon, retryAfter, remaining, null),
            _ => new CodeIssue(null, CodeRefusal.TooManySends, retryAfter, 0, null),
        };
    }

    public async Task<CodeCheckResult> CheckAsync(string flowId, ContactChannel channel, string contact, string? submittedCode, CancellationToken cancellationToken = default)
    {
        var submitted = CodeMac.NormalizeSubmission(submittedCode);
        foreach (var subject in await mac.SubjectsAsync(flowId, channel, contact, cancellationToken))
        {
            var key = CodeKey(subject);
            var stored = await Database.HashGetAsync(key, CodeFields);
            if (stored[0].IsNull)
            {
                continue; // no code under this key (expired, used, never issued, or issued under another mac key)
            }

            var wrong = stored[1].IsNull ? 0 : (int)stored[1];
            if (wrong >= options.MaxWrongAttempts)
            {
                return new CodeCheckResult(CodeCheck.Exhausted, 0);
            }

            var storedHash = (byte[])stored[0]!;
            if (CryptographicOperations.FixedTimeEquals(storedHash, subject.Hash(submitted)))
            {
                var consumed = (int)await Database.ScriptEvaluateAsync(ConsumeScript, [key], [storedHash, options.MaxWrongAttempts]);
                return consumed switch
                {
                    1 => new CodeCheckResult(CodeCheck.Verified, options.MaxWrongAttempts - wrong),
                    -1 => new CodeCheckResult(CodeCheck.Exhausted, 0),
                    // Another submission consumed it (or a new code replaced it) between our read and our delete.
                    _ => new CodeCheckResult(CodeCheck.Expired, 0),
                };
            }

            var attempts = (int)await Database.ScriptEvaluateAsync(WrongScript, [key]);
            if (attempts < 0)
            {
                return new CodeCheckResult(CodeCheck.Expired, 0);
            }
            var remaining = options.MaxWrongAttempts - attempts;
            return remaining <= 0 ? new CodeCheckResult(CodeCheck.Exhausted, 0) : new CodeCheckResult(CodeCheck.Wrong, remaining);
        }
        return new CodeCheckResult(CodeCheck.Expired, 0);
    }

    private IDatabase Database => redis.GetDatabase();

    private RedisKey CodeKey(CodeSubject subject) => $"{keyPrefix}code:{subject.Lookup}";

    private RedisKey SendsKey(CodeSubject subject, CodeSendScope scope) => $"{keyPrefix}sends:{subject.SendCounterName(scope)}";

    private static long Milliseconds(TimeSpan span) => Math.Max(1, (long)Math.Ceiling(span.TotalMilliseconds));
}
