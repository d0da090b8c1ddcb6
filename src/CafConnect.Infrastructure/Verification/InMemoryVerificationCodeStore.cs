using System.Security.Cryptography;

namespace CafConnect.Infrastructure.Verification;

/// <summary>
/// The embedded default (SQLite, one instance): the same contract as <see cref="RedisVerificationCodeStore"/>, in this
/// process's memory. Codes do not survive a restart (users ask for a new one). Time comes from <see cref="TimeProvider"/>.
/// </summary>
public sealed class InMemoryVerificationCodeStore(VerificationCodeOptions options, CodeMac mac, TimeProvider clock) : IVerificationCodeStore
{
    private sealed class CodeEntry(byte[] hash, DateTimeOffset expiresAt)
    {
        public byte[] Hash { get; } = hash;
        public DateTimeOffset ExpiresAt { get; } = expiresAt;
        public int WrongAttempts { get; set; }
    }

    private sealed class SendCounter(DateTimeOffset expiresAt)
    {
        public DateTimeOffset ExpiresAt { get; } = expiresAt;
        public int Sends { get; set; }
        public DateTimeOffset LastSentAt { get; set; }
    }

    private readonly Lock _gate = new();
    private readonly Dictionary<string, CodeEntry> _codes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SendCounter> _sends = new(StringComparer.Ordinal);
    private DateTimeOffset _nextSweep = DateTimeOffset.MinValue;

    public async Task<CodeIssue> IssueAsync(string flowId, ContactChannel channel, string contact, CodeSendScope sendScope, CancellationToken cancellationToken = default)
    {
        var subject = (await mac.SubjectsAsync(flowId, channel, contact, cancellationToken))[0];
        var code = CodeMac.NewCode();
        var hash = subject.Hash(code);

        lock (_gate)
        {
            var now = clock.GetUtcNow();
            Sweep(now);
            var counterName = subject.SendCounterName(sendScope);
            if (!_sends.TryGetValue(counterName, out var counter) || counter.ExpiresAt <= now)
            {
                counter = new SendCounter(now + options.CounterLifetime);
                _sends[counterName] = counter;
            }

            if (counter.Sends >= options.MaxSendsPerContact)
            {
                return new CodeIssue(null, CodeRefusal.TooManySends, counter.ExpiresAt - now, 0, null);
            }
            var sinceLast = now - counter.LastSentAt;
            if (counter.Sends > 0 && sinceLast < options.MinIntervalBetweenSends)
            {
                var wait = options.MinIntervalBetweenSends - (sinceLast < TimeSpan.Zero ? TimeSpan.Zero : sinceLast);
                return new CodeIssue(null, CodeRefusal.TooSoon, wait, options.MaxSendsPerContact - counter.Sends, null);
            }

            counter.Sends++;
            counter.LastSentAt = now;
            var expiresAt = now + options.LifetimeFor(channel);
            _codes[subject.Lookup] = new CodeEntry(hash, expiresAt);
            return new CodeIssue(code, null, TimeSpan.Zero, options.MaxSendsPerContact - counter.Sends, expiresAt);
        }
    }

    public async Task<CodeCheckResult> CheckAsync(string flowId, ContactChannel channel, string contact, string? submittedCode, CancellationToken cancellationToken = default)
    {
        var subjects = await mac.SubjectsAsync(flowId, channel, contact, cancellationToken);
        var submitted = CodeMac.NormalizeSubmission(submittedCode);
        var hashes = subjects.Select(s => s.Hash(submitted)).ToList();

        lock (_gate)
        {
            var now = clock.GetUtcNow();
            for (var i = 0; i < subjects.Count; i++)
            {
                if (!_codes.TryGetValue(subjects[i].Lookup, out var entry))
                {
                    continue;
                }
                if (entry.ExpiresAt <= now)
                {
                    _codes.Remove(subjects[i].Lookup);
                    continue;
                }
                if (entry.WrongAttempts >= options.MaxWrongAttempts)
                {
                    return new CodeCheckResult(CodeCheck.Exhausted, 0);
                }
                if (CryptographicOperations.FixedTimeEquals(entry.Hash, hashes[i]))
                {
                    _codes.Remove(subjects[i].Lookup);
                    return new CodeCheckResult(CodeCheck.Verified, options.MaxWrongAttempts - entry.WrongAttempts);
                }
                entry.WrongAttempts++;
                var remaining = options.MaxWrongAttempts - entry.WrongAttempts;
                return remaining <= 0 ? new CodeCheckResult(CodeCheck.Exhausted, 0) : new CodeCheckResult(CodeCheck.Wrong, remaining);
            }
            return new CodeCheckResult(CodeCheck.Expired, 0);
        }
    }

    /// <summary>Drops expired entries at most once a minute (the maps stay as small as the live flows).</summary>
    private void Sweep(DateTimeOffset now)
    {
        if (now < _nextSweep)
        {
            return;
        }
        _nextSweep = now + TimeSpan.FromMinutes(1);
        foreach (var key in _codes.Where(p => p.Value.ExpiresAt <= now).Select(p => p.Key).ToList())
        {
            _codes.Remove(key);
        }
        foreach (var key in _sends.Where(p => p.Value.ExpiresAt <= now).Select(p => p.Key).ToList())
        {
            _sends.Remove(key);
        }
    }
}
