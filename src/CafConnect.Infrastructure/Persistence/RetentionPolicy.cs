using System.Globalization;
using Microsoft.Extensions.Configuration;

namespace CafConnect.Infrastructure.Persistence;

/// <summary>
/// How long the store keeps what it keeps about people, in days: the one place the defaults live, read by the purge
/// commands (<c>cafconnect audit purge</c>, <c>cafconnect maintenance purge</c>) and by the « Données personnelles » page,
/// so that what people are told is what the purges do.
/// </summary>
public sealed record RetentionPolicy(int AuditDays, int SessionDays, int AdminRequestDays, int FlowDays, int OutboxDays)
{
    /// <summary><c>Audit:RetentionDays</c>: the audit trail (authentication events).</summary>
    public const int DefaultAuditDays = 400;

    /// <summary>
    /// <c>Sessions:RetentionDays</c>: a row of the session registry after the session ended (or, never ended, after it
    /// started). Longer than a refresh token lives (14 days): <c>incident revoke</c> still finds every session whose
    /// tokens may still work, and which clients to send logout tokens for.
    /// </summary>
    public const int DefaultSessionDays = 30;

    /// <summary>
    /// <c>Admin:IdempotencyRetentionDays</c>: the answer of an applied admin request. Long enough for any retry of the
    /// benefits system: a request resent after its answer was purged would be applied again.
    /// </summary>
    public const int DefaultAdminRequestDays = 180;

    /// <summary>
    /// <c>Flows:RetentionDays</c>: a journey's flow row (what the person typed, the contact being proven) after it
    /// expired. A day rather than at once, so that a person coming back to a dead journey is told it expired rather
    /// than that it does not exist; flows last an hour at most, so nothing in progress is ever deleted.
    /// </summary>
    public const int DefaultFlowDays = 1;

    /// <summary>
    /// <c>Notifications:SentRetentionDays</c>: a sent (or given-up) outbox row — its body already wiped, the recipient,
    /// kind and dates left — for questions such as « I never got the SMS ». Longer than any retry of the event that
    /// queued it (a message's idempotency key dies with its row).
    /// </summary>
    public const int DefaultOutboxDays = 30;

    /// <summary>The configured values, or the defaults when absent or not a positive number of days.</summary>
    public static RetentionPolicy FromConfiguration(IConfiguration configuration) => new(
        Days(configuration["Audit:RetentionDays"], DefaultAuditDays),
        Days(configuration["Sessions:RetentionDays"], DefaultSessionDays),
        Days(configuration["Admin:IdempotencyRetentionDays"], DefaultAdminRequestDays),
        Days(configuration["Flows:RetentionDays"], DefaultFlowDays),
        Days(configuration["Notifications:SentRetentionDays"], DefaultOutboxDays));

    private static int Days(string? value, int fallback) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var days) && days >= 1 ? days : fallback;
}
