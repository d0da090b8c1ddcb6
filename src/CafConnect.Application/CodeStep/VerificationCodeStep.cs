using CafConnect.Application.Persistence;
using CafConnect.Application.RateLimiting;
using CafConnect.Infrastructure.Audit;
using CafConnect.Infrastructure.Notifications;
using CafConnect.Infrastructure.Throttling;
using CafConnect.Infrastructure.Verification;

namespace CafConnect.Application.CodeStep;

/// <summary>
/// The one step that issues, resends and checks a 6-digit verification code, for every journey that uses one
/// (recovery, first-login contact, account creation and the « Mon foyer » invitations it redeems). In the spirit of
/// Kratos's single <c>strategy/code</c>: the budgets, the messages and the <c>renvoye=1</c> marker live here only.
/// <list type="bullet">
/// <item>Sends: 4 per contact (or per flow for recovery, <see cref="CodeSendScope.PerFlow"/>), 30 s apart
/// (<see cref="VerificationCodeOptions"/>, kept by <see cref="IVerificationCodeStore"/>).</item>
/// <item>Messages: every code counts against the person's and the contact's ceiling across journeys
/// (<see cref="MessageCap"/>, docs/decisions.md #31); once spent the send is refused with the journey's "too many codes"
/// message — or, for recovery, whose answer must not tell whether the identifier exists, refused only when the
/// identifier's own count is spent and otherwise withheld (issued, never delivered, answered as sent).</item>
/// <item>Wrong entries: 5 per code, then the code is void.</item>
/// <item>Guesses: every check spends the account's budget of <see cref="ILoginThrottle"/> (or the claimed identity's,
/// where no account exists yet) exactly as a password does — delay after 3 consecutive failures, lock at 10 — so
/// resending codes or starting new flows never adds guesses. A check the throttle refuses (delay, lock, IP blocked)
/// checks nothing and answers exactly like a wrong code: it spends one of the code's entries with a submission that
/// can never match, so the message ("Il vous reste N essais") is the one a wrong code gives.</item>
/// </list>
/// The caller decides the destination (contact proof) and keeps the flow.
/// <para>Commits (docs/decisions.md #22): a send and a verified check commit nothing — the message, the audit line and
/// the caller's flow are stored by the caller's one commit at the end of its step. A send the message ceiling refuses
/// commits its audit line at once, for the same reason as a rejected check. A rejected check commits at once,
/// itself: the journey only stays on its page, so no commit of the caller follows, and the rejection's audit line (and
/// the lock's message when it locks) must be stored whatever the caller does next. The guess itself never depends on
/// any commit: it is counted before the code is compared, in the throttle's store (<see cref="ILoginThrottle"/>:
/// Redis or memory, atomically) and in the code store (the code's wrong entries), neither of which a rollback of the
/// store's transaction undoes. So a caller must check the code before changing anything else in its step.</para>
/// </summary>
public sealed class VerificationCodeStep(
    IVerificationCodeStore codes, VerificationCodeOptions options, ILoginThrottle throttle, INotificationOutbox outbox, AuditTrail audit,
    IUnitOfWork unitOfWork, MessageCap messageCap)
{
    /// <summary>The query parameter that tells a code page a new code was just sent (« un nouveau code vient de … être envoyé »).</summary>
    public const string ResentParameter = "renvoye";

    /// <summary>What the code store is given instead of the typed code when the throttle refuses: never 6 digits, so never a match.</summary>
    private const string RefusedSubmission = "refused";

    /// <summary>The code page's URL after a resend: the page shows its "new code sent" notice for this marker only.</summary>
    public static string MarkResent(string codePageUrl) =>
        codePageUrl + (codePageUrl.Contains('?') ? "&" : "?") + ResentParameter + "=1";

    /// <summary>How long a code sent on <paramref name="channel"/> is valid, in French, from the configured lifetime (what the store enforces).</summary>
    public string Validity(ContactChannel channel) => CodeStepMessages.Duration(options.LifetimeFor(channel));

    public async Task<CodeSendAnswer> SendAsync(SendCodeRequest request, CancellationToken cancellationToken)
    {
        var destination = request.Destination;
        var scope = request.Purpose == CodePurpose.PasswordRecovery ? CodeSendScope.PerFlow : CodeSendScope.PerContact;
        var issue = await codes.IssueAsync(request.FlowId, destination.Channel, destination.Contact, scope, cancellationToken);
        if (!issue.Issued)
        {
            return new CodeSendAnswer(issue.Refusal == CodeRefusal.TooSoon
                ? CodeStepMessages.TooSoon(issue.RetryAfter)
                : CodeStepMessages.TooManySends(request.Purpose));
        }
        // A decoy counts too (against the identifier claimed), so a known and an unknown identifier reach the ceiling alike.
        var cap = await messageCap.CountAsync(JourneyOf(request.Purpose),
            new MessageRecipient(request.PersonId, destination.Deliver ? destination.Channel : null, destination.Deliver ? destination.Contact : null,
                request.ClaimedIdentityKey),
            answersAlike: request.Purpose == CodePurpose.PasswordRecovery, cancellationToken);
        if (cap == MessageCapOutcome.Refused)
        {
            // Like a rejected check: the journey stays on its page, so its audit line (message.capped) is committed here.
            await unitOfWork.CommitAsync(cancellationToken);
            return new CodeSendAnswer(CodeStepMessages.TooManySends(request.Purpose));
        }
        if (!destination.Deliver || cap == MessageCapOutcome.Withheld)
        {
            return new CodeSendAnswer(null);
        }
        outbox.Enqueue(new NotificationRequest(NotificationKind.VerificationCode,
            destination.Channel == ContactChannel.Sms ? NotificationChannel.Sms : NotificationChannel.Email, destination.Contact,
            new Dictionary<string, string> { ["code"] = issue.Code!, ["validity"] = Validity(destination.Channel) },
            request.PersonId, $"{MessageKeyPrefix(request.Purpose)}:{request.FlowId}:{Guid.NewGuid():N}"));
        audit.Append(SentEntry(request));
        // Stored by the caller's commit, with the flow that now records where the code went: one commit per step. If
        // that commit fails, the code was issued but never sent — the person asks for another one.
        return new CodeSendAnswer(null);
    }

    public async Task<CodeCheckAnswer> CheckAsync(CheckCodeRequest request, CancellationToken cancellationToken)
    {
        var typed = new string((request.Submitted ?? string.Empty).Where(c => !char.IsWhiteSpace(c)).ToArray());
        if (typed.Length != 6 || !typed.All(char.IsAsciiDigit))
        {
            // Depends only on what was typed: no guess was made, no budget is spent.
            return new CodeCheckAnswer(false, CodeStepMessages.Format);
        }

        var destination = request.Destination;
        var attempt = await throttle.BeginForAccountKeyAsync(request.Budget.Key, ThrottleSource.FromIp(request.ClientIp), cancellationToken);
        var result = await codes.CheckAsync(request.FlowId, destination.Channel, destination.Contact,
            attempt.Allowed ? typed : RefusedSubmission, cancellationToken);
        if (attempt.Allowed && result.Outcome == CodeCheck.Verified)
        {
            await throttle.SucceededAsync(attempt, cancellationToken);
            return CodeCheckAnswer.Success;
        }
        if (attempt.Allowed)
        {
            // Counted before the check (atomically, so parallel submissions cannot overtake the budget); this tells the
            // owner when it locks, in the same unit of work as its audit row.
            await throttle.FailedAsync(attempt, request.Budget.Owner, request.ClientId, cancellationToken);
        }
        var outcome = attempt.RefusalReason ?? result.Outcome.ToString();
        audit.Append(RejectedEntry(request, outcome));
        // The guess is already counted (throttle and code store, outside the store's transaction: it counts even if
        // this commit or the caller fails). Its audit line and a lock's message are committed here, at once: the
        // journey only stays on its page, so no commit of its own follows.
        await unitOfWork.CommitAsync(cancellationToken);
        return new CodeCheckAnswer(false, CodeStepMessages.For(result));
    }

    private static string JourneyOf(CodePurpose purpose) => purpose switch
    {
        CodePurpose.PasswordRecovery => MessageCap.Journeys.Recovery,
        CodePurpose.AccountCreation => MessageCap.Journeys.AccountCreation,
        _ => MessageCap.Journeys.FirstLogin,
    };

    private static string MessageKeyPrefix(CodePurpose purpose) => purpose switch
    {
        CodePurpose.PasswordRecovery => "recovery-code",
        CodePurpose.AccountCreation => "creation-code",
        _ => "code",
    };

    private static AuditEntry SentEntry(SendCodeRequest request) => request.Purpose switch
    {
        CodePurpose.PasswordRecovery => new AuditEntry(AuditEventTypes.RecoveryCodeSent, request.Destination.Channel.ToString(), request.PersonId),
        CodePurpose.AccountCreation => new AuditEntry(AuditEventTypes.ContactCodeSent, request.Destination.Channel.ToString(), request.PersonId, request.ClientId, "flow=account-creation"),
        _ => new AuditEntry(AuditEventTypes.ContactCodeSent, request.Destination.Channel.ToString(), request.PersonId, request.ClientId),
    };

    private static AuditEntry RejectedEntry(CheckCodeRequest request, string outcome) => request.Purpose switch
    {
        CodePurpose.PasswordRecovery => new AuditEntry(AuditEventTypes.RecoveryCodeRejected, outcome, request.PersonId),
        CodePurpose.AccountCreation => new AuditEntry(AuditEventTypes.ContactCodeRejected, outcome, request.PersonId, request.ClientId, "flow=account-creation"),
        _ => new AuditEntry(AuditEventTypes.ContactCodeRejected, outcome, request.PersonId, request.ClientId),
    };
}
