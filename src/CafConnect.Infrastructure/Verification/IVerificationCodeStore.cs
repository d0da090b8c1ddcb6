namespace CafConnect.Infrastructure.Verification;

/// <summary>Where a 6-digit verification code is sent.</summary>
public enum ContactChannel
{
    Sms,
    Email,
}

/// <summary>Rules of the verification codes (seed 003): 6 digits, 10 min by SMS, 15 min by e-mail, 3 resends, 5 tries.</summary>
public sealed class VerificationCodeOptions
{
    public TimeSpan SmsLifetime { get; set; } = TimeSpan.FromMinutes(10);
    public TimeSpan EmailLifetime { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>The first send plus "Demander l'envoi d'un nouveau code" three times, per contact and per flow.</summary>
    public int MaxSendsPerContact { get; set; } = 4;

    public TimeSpan MinIntervalBetweenSends { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Wrong entries after which the code is void.</summary>
    public int MaxWrongAttempts { get; set; } = 5;

    /// <summary>How long send counters are kept (at least a flow's lifetime).</summary>
    public TimeSpan CounterLifetime { get; set; } = TimeSpan.FromHours(1);

    public TimeSpan LifetimeFor(ContactChannel channel) => channel == ContactChannel.Sms ? SmsLifetime : EmailLifetime;
}

/// <summary>What the send limits (interval, number of sends) of a code are counted over.</summary>
public enum CodeSendScope
{
    /// <summary>Per contact within the flow: changing the contact (first login) starts that contact's own count.</summary>
    PerContact,

    /// <summary>
    /// Per flow, whatever the contact: the answer to « Demander un nouveau code » then cannot depend on how many contacts
    /// the account holds (password recovery answers alike for two contacts, one, none and unknown identifiers).
    /// </summary>
    PerFlow,
}

public enum CodeRefusal
{
    /// <summary>Less than <see cref="VerificationCodeOptions.MinIntervalBetweenSends"/> since the last send.</summary>
    TooSoon,
    /// <summary>This contact already received the maximum number of codes in this flow.</summary>
    TooManySends,
}

/// <summary>A code to send (only the sender ever sees <see cref="Code"/>), or why none was issued.</summary>
public sealed record CodeIssue(string? Code, CodeRefusal? Refusal, TimeSpan RetryAfter, int SendsRemaining, DateTimeOffset? ExpiresAt)
{
    public bool Issued => Code is not null;
}

public enum CodeCheck
{
    /// <summary>Right code: it is consumed (a second submission of it fails).</summary>
    Verified,
    /// <summary>Wrong code; the code stays valid while attempts remain.</summary>
    Wrong,
    /// <summary>No valid code: expired, already used, never issued.</summary>
    Expired,
    /// <summary>Too many wrong entries: the code is void.</summary>
    Exhausted,
}

public sealed record CodeCheckResult(CodeCheck Outcome, int AttemptsRemaining);

/// <summary>
/// Issues and checks the 6-digit codes that verify a contact within one flow. Codes are stored only as an HMAC,
/// with their lifetime as a TTL, compared in constant time and consumed atomically (two concurrent submissions
/// of the right code: exactly one wins). Redis in production; an in-memory store with the same contract for the
/// embedded default.
/// </summary>
public interface IVerificationCodeStore
{
    /// <summary>Issues a code, its send limits counted per contact (<see cref="CodeSendScope.PerContact"/>).</summary>
    Task<CodeIssue> IssueAsync(string flowId, ContactChannel channel, string contact, CancellationToken cancellationToken = default) =>
        IssueAsync(flowId, channel, contact, CodeSendScope.PerContact, cancellationToken);

    /// <param name="sendScope">What the send limits count over (<see cref="CodeSendScope.PerContact"/> unless the caller
    /// must answer alike whatever the contacts, see <see cref="CodeSendScope.PerFlow"/>).</param>
    Task<CodeIssue> IssueAsync(string flowId, ContactChannel channel, string contact, CodeSendScope sendScope, CancellationToken cancellationToken = default);

    Task<CodeCheckResult> CheckAsync(string flowId, ContactChannel channel, string contact, string? submittedCode, CancellationToken cancellationToken = default);
}
