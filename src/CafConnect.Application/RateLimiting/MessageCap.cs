using CafConnect.Domain.Contacts;
using CafConnect.Infrastructure.Audit;
using CafConnect.Infrastructure.Notifications;
using CafConnect.Infrastructure.Verification;

namespace CafConnect.Application.RateLimiting;

/// <summary>
/// The ceiling of messages that someone other than the person can make CafConnect send to a person's contacts, across
/// every journey (section <c>Messages:Cap</c>, docs/operations.md, docs/decisions.md #31). Defaults: 12 an hour and 20 a
/// day per person and per destination contact — above what a person doing a creation, a first login and a recovery on
/// one day with every resend the agency allows (seed 003: 3 resends per code) ever sends themselves.
/// </summary>
public sealed class MessageCapOptions
{
    public int PerHour { get; set; } = 12;
    public int PerDay { get; set; } = 20;

    /// <summary>Part of every counter's (hashed) name; the throttle store adds its own <c>Throttling:KeyPrefix</c>.</summary>
    public string KeyPrefix { get; set; } = "cafconnect:msgcap:";
}

/// <summary>
/// Which messages the cap counts. Every <see cref="NotificationKind"/> is classified here, once: a kind added without a
/// class fails <c>MessageCapTests.Every_kind_of_message_is_classified</c>.
/// </summary>
public enum MessageClass
{
    /// <summary>Someone else can make CafConnect send it (a code, a reminder, a file code, an invitation): counted and capped.</summary>
    Capped,

    /// <summary>A security notice the person must always get (password changed, « si ce n'est pas vous », locked): never suppressed, never counted.</summary>
    SecurityNotice,

    /// <summary>Sent on the agency's own decision (file events, an agent's letters): its systems and agents answer for it, not counted.</summary>
    AgencyInitiated,
}

/// <summary>Who a message is for: the person when known, the destination contact when it is a phone or an address, and, where a journey must answer alike whether the person exists, the identity claimed (already hashed).</summary>
public sealed record MessageRecipient(Guid? PersonId, ContactChannel? Channel = null, string? Contact = null, string? ClaimedIdentityKey = null);

public enum MessageCapOutcome
{
    /// <summary>Within the ceiling: send.</summary>
    Allowed,

    /// <summary>Spent: do not send, and answer as the journey answers its own resend limit.</summary>
    Refused,

    /// <summary>Spent, but the journey's answer must not change (it would tell whether the person or contact exists): do not send, answer as if sent.</summary>
    Withheld,
}

/// <summary>
/// One ceiling per person on the messages strangers can trigger towards them (docs/decisions.md #31): every code
/// (recovery, first login, account creation and the invitations it redeems), the provisional-id reminder, the phone
/// channel's forgotten file code by SMS and the holder's invitations count, whichever journey sends them, against the
/// person's id and against the destination contact (normalised: two flows aimed at one mobile share its budget, and a
/// contact receives no more because nobody is known yet). Security notices are never counted nor suppressed
/// (<see cref="Classify"/>). The counters are the throttle store's fixed windows (Redis in production, memory on the
/// embedded default), hashed keys, the host's clock; the day's counter counts only what the hour let through, so an
/// attacker hammering in one hour spends one hour's worth of the day.
/// <para>A journey that must answer alike whether the identity exists (recovery) gives the claimed identity: the
/// refusal it shows depends only on that counter, which counts the same whoever exists; a spent person or contact
/// budget then withholds the message without changing the answer. Every refusal is audited
/// <see cref="AuditEventTypes.MessageCapped"/> (counted by <c>cafconnect.messages.capped</c>).</para>
/// </summary>
public sealed class MessageCap(IJourneyRateLimiter limiter, MessageCapOptions options, AuditTrail audit)
{
    /// <summary>Journey names, a bounded set (audit outcome and metric tag).</summary>
    public static class Journeys
    {
        public const string Recovery = "recovery";
        public const string FirstLogin = "first-login";
        public const string AccountCreation = "account-creation";
        public const string ProvisionalIdReminder = "provisional-id-reminder";
        public const string PhoneFileCode = "phone-file-code";
        public const string HouseholdInvitation = "household-invitation";
    }

    /// <summary>What each kind of message is (docs/decisions.md #31 gives the reasons).</summary>
    public static MessageClass Classify(NotificationKind kind) => kind switch
    {
        NotificationKind.VerificationCode or NotificationKind.ProvisionalIdReminder or NotificationKind.HouseholdInvitation => MessageClass.Capped,
        // Only the forgotten-code path (a caller on the voice server) is capped; separation and mutation are the agency's.
        NotificationKind.FileCodeIssued => MessageClass.Capped,
        NotificationKind.AccountCreated or NotificationKind.PasswordChanged or NotificationKind.AccountLocked or NotificationKind.PhoneAccessLocked
            or NotificationKind.ContactChanged or NotificationKind.PhoneCodeChanged or NotificationKind.DelegationChanged => MessageClass.SecurityNotice,
        // Provisional passwords: by letter at most one a day (ContactProof.LetterInterval) when self-service, else an agent's.
        NotificationKind.ProvisionalPassword or NotificationKind.SeparationRecorded or NotificationKind.FileTransferred
            or NotificationKind.NirAttached or NotificationKind.ApplicantIdentifier => MessageClass.AgencyInitiated,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Every kind of message is classified here (docs/decisions.md #31)."),
    };

    /// <summary>
    /// Counts one message to <paramref name="recipient"/> and says whether it may go. Call it right before queueing the
    /// message; the counts are taken whatever the caller's commit does (like every throttle counter). Appends the audit
    /// line of a refusal to the caller's unit of work.
    /// </summary>
    /// <param name="answersAlike">The journey's answer must not depend on whether the person or contact exists: a spent
    /// person or contact budget withholds; only the claimed identity's may refuse.</param>
    public async Task<MessageCapOutcome> CountAsync(string journey, MessageRecipient recipient, bool answersAlike, CancellationToken cancellationToken)
    {
        var spent = new List<string>();
        foreach (var (scope, subject) in Subjects(recipient))
        {
            if (!await WithinAsync(scope, subject, cancellationToken))
            {
                spent.Add(scope);
            }
        }
        if (spent.Count == 0)
        {
            return MessageCapOutcome.Allowed;
        }
        // Answering alike, only the claimed identity's counter (the same whoever exists) may show; without one, nothing does.
        var outcome = !answersAlike || spent.Contains(ClaimedScope) ? MessageCapOutcome.Refused : MessageCapOutcome.Withheld;
        audit.Append(new AuditEntry(AuditEventTypes.MessageCapped, outcome == MessageCapOutcome.Refused ? "refused" : "withheld", recipient.PersonId,
            Details: $"journey={journey}; scope={string.Join(',', spent)}; channel={recipient.Channel?.ToString() ?? "none"}"));
        return outcome;
    }

    private const string PersonScope = "person";
    private const string ContactScope = "contact";
    private const string ClaimedScope = "identity";

    private static IEnumerable<(string Scope, string Subject)> Subjects(MessageRecipient recipient)
    {
        if (recipient.PersonId is { } person)
        {
            yield return (PersonScope, person.ToString("N"));
        }
        if (recipient.Channel is { } channel && NormalisedContact(channel, recipient.Contact) is { } contact)
        {
            yield return (ContactScope, contact);
        }
        if (recipient.ClaimedIdentityKey is { } claimed)
        {
            yield return (ClaimedScope, claimed);
        }
    }

    /// <summary>One spelling per contact: a mobile as E.164 however it was typed or stored, an address ignoring case.</summary>
    public static string? NormalisedContact(ContactChannel channel, string? contact)
    {
        if (string.IsNullOrWhiteSpace(contact))
        {
            return null;
        }
        return channel == ContactChannel.Sms
            ? "sms:" + (FrenchMobile.TryNormalise(contact, out var e164, out _) ? e164 : new string(contact.Where(char.IsAsciiDigit).ToArray()))
            : "email:" + contact.Trim().ToLowerInvariant();
    }

    /// <summary>The hour first; the day counts only what the hour let through.</summary>
    private async Task<bool> WithinAsync(string scope, string subject, CancellationToken cancellationToken) =>
        await limiter.TryAcquireAsync(options.KeyPrefix + scope + ":hour", subject, options.PerHour, TimeSpan.FromHours(1), cancellationToken)
        && await limiter.TryAcquireAsync(options.KeyPrefix + scope + ":day", subject, options.PerDay, TimeSpan.FromDays(1), cancellationToken);
}
