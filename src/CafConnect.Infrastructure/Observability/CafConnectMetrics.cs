using System.Diagnostics;
using System.Diagnostics.Metrics;
using CafConnect.Infrastructure.Audit;

namespace CafConnect.Infrastructure.Observability;

/// <summary>
/// Every metric of CafConnect, in one place (docs/operations.md, "What to watch"). The meter comes from the host's
/// <see cref="IMeterFactory"/>, so that each host (and each test host) has its own instruments. The services that
/// decide — the audit trail, the throttle, the verification-code store, the hasher, the outbox dispatcher, back-channel
/// logout, the token endpoint — record here; pages never do. Tags are bounded sets (results, channels, registered
/// client ids, grant types): never a person, an identifier, an address or a secret.
/// </summary>
public sealed class CafConnectMetrics
{
    public const string MeterName = "CafConnect";

    private readonly Counter<long> _logins;
    private readonly Counter<long> _grants;
    private readonly Counter<long> _tokensIssued;
    private readonly Counter<long> _lockouts;
    private readonly Counter<long> _throttled;
    private readonly Counter<long> _codesSent;
    private readonly Counter<long> _codeChecks;
    private readonly Counter<long> _messagesCapped;
    private readonly Histogram<double> _argon2id;
    private readonly Counter<long> _outboxSends;
    private readonly Counter<long> _backchannelLogouts;
    private OutboxBacklog _backlog = OutboxBacklog.Unknown;

    public CafConnectMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _logins = meter.CreateCounter<long>("cafconnect.logins", "{login}",
            "Sign-in attempts by result (succeeded, failed, required_actions), outcome, channel and client.");
        _grants = meter.CreateCounter<long>("cafconnect.grants", "{request}",
            "Token endpoint requests by grant type, result (issued or the OAuth error code), channel and client.");
        _tokensIssued = meter.CreateCounter<long>("cafconnect.tokens.issued", "{response}",
            "Token responses issued, by grant type, channel and client.");
        _lockouts = meter.CreateCounter<long>("cafconnect.lockouts", "{lock}",
            "Accounts (or a file's phone access) locked after consecutive failures, by scope and channel.");
        _throttled = meter.CreateCounter<long>("cafconnect.throttled_attempts", "{attempt}",
            "Secret checks refused by the throttle, by refusal (delay, account_locked, ip_blocked, client_blocked).");
        _codesSent = meter.CreateCounter<long>("cafconnect.verification_codes.sent", "{code}",
            "Verification codes issued for sending, by channel (sms, email).");
        _codeChecks = meter.CreateCounter<long>("cafconnect.verification_codes.checks", "{check}",
            "Verification code entries by result (verified, wrong, expired, exhausted) and channel.");
        _messagesCapped = meter.CreateCounter<long>("cafconnect.messages.capped", "{message}",
            "Messages not sent because the person's or the contact's ceiling across journeys was spent, by journey and outcome (refused, withheld).");
        _argon2id = meter.CreateHistogram<double>("cafconnect.argon2id.duration", "s",
            "Time of one Argon2id computation, by operation (hash, verify, dummy).",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1, 2] });
        _outboxSends = meter.CreateCounter<long>("cafconnect.outbox.sends", "{attempt}",
            "Outbox send attempts by channel and result (sent, retrying, given_up).");
        _backchannelLogouts = meter.CreateCounter<long>("cafconnect.backchannel_logout.deliveries", "{token}",
            "Back-channel logout tokens by result (delivered, failed) and client.");
        meter.CreateObservableGauge("cafconnect.outbox.backlog", () => ObserveBacklog(b => b.Pending), "{message}",
            "Messages waiting in the outbox (not sent, not given up), as last measured by the dispatcher.");
        meter.CreateObservableGauge("cafconnect.outbox.oldest_age", () => ObserveBacklog(b => b.OldestAge.TotalSeconds), "s",
            "Age of the oldest message waiting in the outbox, as last measured by the dispatcher.");
    }

    /// <summary>Called by <see cref="AuditTrail"/> for every event: the audit trail is where every login and token is told.</summary>
    public void Audited(AuditEntry entry, AuditContext context)
    {
        var channel = context.Channel ?? "none";
        var client = entry.ClientId ?? "none";
        switch (entry.Type)
        {
            case AuditEventTypes.LoginSucceeded:
                _logins.Add(1, Tags("result", "succeeded", "outcome", entry.Outcome, channel, client));
                break;
            case AuditEventTypes.LoginFailed:
                _logins.Add(1, Tags("result", "failed", "outcome", entry.Outcome, channel, client));
                break;
            case AuditEventTypes.LoginRequiredActions:
                // The outcome lists the pending steps: only whether there were some is a bounded tag.
                _logins.Add(1, Tags("result", "required_actions", "outcome", "pending", channel, client));
                break;
            case AuditEventTypes.TokenIssued:
                _tokensIssued.Add(1, new TagList { { "grant_type", entry.Outcome ?? "unknown" }, { "channel", channel }, { "client", client } });
                break;
            case AuditEventTypes.MessageCapped:
                _messagesCapped.Add(1, new TagList { { "journey", JourneyOf(entry.Details) }, { "outcome", entry.Outcome ?? "none" } });
                break;
            case AuditEventTypes.AccountLocked:
                var scope = entry.Details?.StartsWith("scope=file;", StringComparison.Ordinal) == true ? "file" : "account";
                _lockouts.Add(1, new TagList { { "scope", scope }, { "channel", channel } });
                break;
        }
    }

    public void GrantAnswered(string? grantType, string? error, string? channel, string? clientId) =>
        _grants.Add(1, new TagList { { "grant_type", grantType ?? "unknown" }, { "result", error ?? "issued" }, { "channel", channel ?? "none" }, { "client", clientId ?? "none" } });

    public void ThrottleRefused(string refusal) => _throttled.Add(1, new KeyValuePair<string, object?>("refusal", refusal));

    public void CodeSent(string channel) => _codesSent.Add(1, new KeyValuePair<string, object?>("channel", channel));

    public void CodeChecked(string channel, string result) =>
        _codeChecks.Add(1, new KeyValuePair<string, object?>("channel", channel), new KeyValuePair<string, object?>("result", result));

    public void Argon2idComputed(string operation, TimeSpan elapsed) =>
        _argon2id.Record(elapsed.TotalSeconds, new KeyValuePair<string, object?>("operation", operation));

    public void OutboxAttempt(string channel, string result) =>
        _outboxSends.Add(1, new KeyValuePair<string, object?>("channel", channel), new KeyValuePair<string, object?>("result", result));

    public void OutboxMeasured(OutboxBacklog backlog) => Volatile.Write(ref _backlog, backlog);

    public void BackchannelLogout(string clientId, bool delivered) =>
        _backchannelLogouts.Add(1, new KeyValuePair<string, object?>("result", delivered ? "delivered" : "failed"), new KeyValuePair<string, object?>("client", clientId));

    private IEnumerable<Measurement<double>> ObserveBacklog(Func<OutboxBacklog, double> value)
    {
        var backlog = Volatile.Read(ref _backlog);
        return backlog.MeasuredAt is null ? [] : [new Measurement<double>(value(backlog))];
    }

    /// <summary>The journey named first in a <c>message.capped</c> row's details (<c>journey=…;</c>): a bounded set written by the code.</summary>
    private static string JourneyOf(string? details) =>
        details is not null && details.StartsWith("journey=", StringComparison.Ordinal)
            ? details["journey=".Length..].Split(';')[0]
            : "unknown";

    private static TagList Tags(string resultKey, string result, string outcomeKey, string? outcome, string channel, string client) =>
        new() { { resultKey, result }, { outcomeKey, outcome ?? "none" }, { "channel", channel }, { "client", client } };
}

/// <summary>What waits in the outbox: messages not sent and not given up, and the age of the oldest.</summary>
public sealed record OutboxBacklog(long Pending, TimeSpan OldestAge, DateTimeOffset? MeasuredAt)
{
    public static readonly OutboxBacklog Unknown = new(0, TimeSpan.Zero, null);
}

/// <summary>Times one piece of work for a histogram without allocating.</summary>
public readonly struct MetricTimer
{
    private readonly long _started;

    private MetricTimer(long started) => _started = started;

    public static MetricTimer Start() => new(Stopwatch.GetTimestamp());

    public TimeSpan Elapsed => Stopwatch.GetElapsedTime(_started);
}
