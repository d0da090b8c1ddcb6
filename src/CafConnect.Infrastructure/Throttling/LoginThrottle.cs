using CafConnect.Domain.Accounts;
using CafConnect.Infrastructure.Audit;
using CafConnect.Infrastructure.Notifications;
using Microsoft.Extensions.Logging;

namespace CafConnect.Infrastructure.Throttling;

/// <summary>An attempt to check a secret, as the throttle let it through (or not).</summary>
public sealed record SecretAttempt(ThrottleDecision Decision, string? Account, string Ip)
{
    public bool Allowed => Decision.Allowed;

    /// <summary>What the owner is told when this attempt locks: their account (web login) or their file's phone access.</summary>
    public NotificationKind LockNotice { get; init; } = NotificationKind.AccountLocked;

    /// <summary>The audit outcome of a refused attempt: <c>locked</c> for a locked account, otherwise <c>throttled</c>.</summary>
    public string? RefusalReason => Decision.Refusal switch
    {
        null => null,
        ThrottleRefusal.AccountLocked => "locked",
        _ => "throttled",
    };
}

/// <summary>
/// The one throttle in front of every check of a person's secret (password, legacy code, and later recovery codes):
/// <see cref="BeginAsync"/> before checking, then <see cref="FailedAsync"/> or <see cref="SucceededAsync"/>. A refused
/// attempt must look exactly like a wrong secret to the caller's user (same message, same status, one Argon2id
/// verification spent): the caller does that, the throttle only decides.
/// </summary>
public interface ILoginThrottle
{
    /// <summary>
    /// The account's budget, and the source budget <paramref name="source"/> names: the client IP's
    /// (<see cref="ThrottleSource.FromIp"/>: the connection's remote address, forwarded headers being the operators'
    /// configuration), or an authenticated client's own (<see cref="ThrottleSource.FromAuthenticatedClient"/>, refusal
    /// <see cref="ThrottleRefusal.ClientBlocked"/>).
    /// </summary>
    /// <param name="person">The account the identifier names, or null when it names none (the source budget still applies).</param>
    Task<SecretAttempt> BeginAsync(PersonAccount? person, ThrottleSource source, CancellationToken cancellationToken = default);

    /// <summary>
    /// The same budget under an account key chosen by the caller (<see cref="ThrottleKeys.ForPerson"/>, or
    /// <see cref="ThrottleKeys.ForClaimedIdentity"/> where no account exists yet): the verification-code step
    /// (<c>CafConnect.Application.CodeStep</c>) spends it for every code check; the source budget as in <see cref="BeginAsync"/>.
    /// </summary>
    Task<SecretAttempt> BeginForAccountKeyAsync(string accountKey, ThrottleSource source, CancellationToken cancellationToken = default);

    /// <summary>
    /// The same budget for the file's shared legacy code on the phone channel: counted per file (its own counters, not a
    /// person's) and per source — the client IP, or, for an attempt relayed by an authenticated voice server (whose one
    /// IP carries every caller's mistakes), that client's own budget (refusal <see cref="ThrottleRefusal.ClientBlocked"/>),
    /// so that a stolen voice-server credential still cannot spray codes across files unslowed. A lock tells the file
    /// holder (<see cref="NotificationKind.PhoneAccessLocked"/>).
    /// </summary>
    /// <param name="householdId">The file the number names, or null when it names none (the source budget still applies).</param>
    Task<SecretAttempt> BeginForFileAsync(Guid? householdId, ThrottleSource source, CancellationToken cancellationToken = default);

    /// <summary>
    /// The phone channel's budget for a person's own phone code (NIR + personal code): the same delays and locks as a
    /// file's code (<see cref="BeginForFileAsync"/>), counted per person under <see cref="ThrottleKeys.ForPhoneCode"/>,
    /// and per source. A lock tells the person (<see cref="NotificationKind.PhoneAccessLocked"/>).
    /// </summary>
    /// <param name="personId">The person the NIR names, or null when it names none (the source budget still applies).</param>
    Task<SecretAttempt> BeginForPhoneCodeAsync(Guid? personId, ThrottleSource source, CancellationToken cancellationToken = default);

    /// <summary>
    /// The secret was wrong. When this failure locked the account: audits <c>account.locked</c> and tells the owner
    /// (SMS and e-mail to verified contacts, once per lock) in the same unit of work.
    /// </summary>
    Task FailedAsync(SecretAttempt attempt, PersonAccount? person, string? clientId, CancellationToken cancellationToken = default);

    /// <summary>The secret was right: consecutive failures, delay, lock and lock level are forgotten.</summary>
    Task SucceededAsync(SecretAttempt attempt, CancellationToken cancellationToken = default);

    /// <summary>
    /// For password recovery (a new password proves the person): forgets the account's counters and lifts a lock,
    /// auditing <c>account.unlocked</c> with <paramref name="reason"/> when a lock was in force. Returns whether it was.
    /// </summary>
    Task<bool> ResetAsync(Guid personId, string reason, CancellationToken cancellationToken = default);

    /// <summary>
    /// <see cref="ResetAsync"/> in two steps around a transaction's one save: now, <c>account.unlocked</c> is added to the
    /// caller's unit of work when a lock is in force; the step returned forgets the counters and lifts the lock, to run
    /// once the new password is written (after the save, before the commit: <see cref="Persistence.StoreTransactions"/>).
    /// </summary>
    Task<Func<CancellationToken, Task>> PrepareResetAsync(Guid personId, string reason, CancellationToken cancellationToken = default);
}

public sealed class LoginThrottle(
    IThrottleStore store,
    AuditTrail audit,
    INotificationOutbox outbox,
    TimeProvider clock,
    ILogger<LoginThrottle> logger,
    Observability.CafConnectMetrics? metrics = null) : ILoginThrottle
{
    public Task<SecretAttempt> BeginAsync(PersonAccount? person, ThrottleSource source, CancellationToken cancellationToken = default) =>
        BeginFromSourceAsync(person is { IsClosed: false } ? ThrottleKeys.ForPerson(person.Id) : null, source, person?.Id, NotificationKind.AccountLocked, cancellationToken);

    public Task<SecretAttempt> BeginForAccountKeyAsync(string accountKey, ThrottleSource source, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(accountKey);
        return BeginFromSourceAsync(accountKey, source, null, NotificationKind.AccountLocked, cancellationToken);
    }

    public Task<SecretAttempt> BeginForFileAsync(Guid? householdId, ThrottleSource source, CancellationToken cancellationToken = default) =>
        BeginFromSourceAsync(householdId is { } id ? ThrottleKeys.ForFile(id) : null, source, null, NotificationKind.PhoneAccessLocked, cancellationToken);

    public Task<SecretAttempt> BeginForPhoneCodeAsync(Guid? personId, ThrottleSource source, CancellationToken cancellationToken = default) =>
        BeginFromSourceAsync(personId is { } id ? ThrottleKeys.ForPhoneCode(id) : null, source, null, NotificationKind.PhoneAccessLocked, cancellationToken);

    /// <summary>
    /// Every Begin: the account key's counters and the source's budget — the per-IP one of the options, or the
    /// authenticated client's own under <see cref="ThrottleKeys.ForClient"/>, whose refusal is
    /// <see cref="ThrottleRefusal.ClientBlocked"/> (logged as a warning: the relay's every user waits with it).
    /// </summary>
    private async Task<SecretAttempt> BeginFromSourceAsync(string? account, ThrottleSource source, Guid? personId, NotificationKind lockNotice,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(source);
        string sourceKey;
        ThrottleDecision decision;
        if (source.ClientId is { } clientId)
        {
            sourceKey = ThrottleKeys.ForClient(clientId);
            decision = await store.BeginAsync(account, sourceKey, source.ClientBudget!, cancellationToken);
            if (decision.Refusal == ThrottleRefusal.IpBlocked)
            {
                // The store names every refused source "IP"; here the source is the client.
                decision = decision with { Refusal = ThrottleRefusal.ClientBlocked };
                Refused(ThrottleRefusal.ClientBlocked);
                ThrottleLog.ClientBlocked(logger, clientId, decision.RetryAfter);
                return new SecretAttempt(decision, account, sourceKey) { LockNotice = lockNotice };
            }
        }
        else
        {
            sourceKey = ThrottleKeys.ForIp(source.Ip);
            decision = await store.BeginAsync(account, sourceKey, cancellationToken);
        }
        if (!decision.Allowed)
        {
            Refused(decision.Refusal!.Value);
            ThrottleLog.Refused(logger, decision.Refusal!.Value, personId, decision.RetryAfter);
        }
        return new SecretAttempt(decision, account, sourceKey) { LockNotice = lockNotice };
    }

    public async Task FailedAsync(SecretAttempt attempt, PersonAccount? person, string? clientId, CancellationToken cancellationToken = default)
    {
        if (attempt.Decision.LocksUntil is not { } lockedUntil || person is null || attempt.Account is null)
        {
            return;
        }
        var duration = lockedUntil - clock.GetUtcNow();
        var values = new Dictionary<string, string> { ["duration"] = FrenchDuration.Format(duration) };
        // One message per lock and channel: the lock's end identifies the lock.
        var notice = attempt.LockNotice;
        var key = notice == NotificationKind.AccountLocked
            ? $"account-locked:{person.Id:N}:{lockedUntil.ToUnixTimeMilliseconds()}"
            : $"phone-locked:{attempt.Account}:{lockedUntil.ToUnixTimeMilliseconds()}";
        if (person.MobilePhoneVerified && !string.IsNullOrWhiteSpace(person.MobilePhone))
        {
            outbox.Enqueue(new NotificationRequest(notice, NotificationChannel.Sms, person.MobilePhone, values, person.Id, key + ":sms"));
        }
        if (person.EmailVerified && !string.IsNullOrWhiteSpace(person.Email))
        {
            outbox.Enqueue(new NotificationRequest(notice, NotificationChannel.Email, person.Email, values, person.Id, key + ":email"));
        }
        // Appended with the queued messages: the login's unit of work commits them together.
        var scope = notice == NotificationKind.AccountLocked ? string.Empty : "scope=file;";
        audit.Append(new AuditEntry(AuditEventTypes.AccountLocked, $"lock_{attempt.Decision.LockNumber}", person.Id, clientId,
            $"{scope}until={lockedUntil:O};duration={(long)duration.TotalSeconds}s;failures={attempt.Decision.ConsecutiveFailures}"));
        ThrottleLog.Locked(logger, person.Id, attempt.Decision.LockNumber, duration);
    }

    private void Refused(ThrottleRefusal refusal) => metrics?.ThrottleRefused(refusal switch
    {
        ThrottleRefusal.AccountDelayed => "account_delayed",
        ThrottleRefusal.AccountLocked => "account_locked",
        ThrottleRefusal.IpBlocked => "ip_blocked",
        ThrottleRefusal.ClientBlocked => "client_blocked",
        _ => refusal.ToString().ToLowerInvariant(),
    });

    public Task SucceededAsync(SecretAttempt attempt, CancellationToken cancellationToken = default) =>
        store.SucceededAsync(attempt.Account, attempt.Ip, attempt.Decision.IpEntry, cancellationToken);

    public async Task<bool> ResetAsync(Guid personId, string reason, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(reason);
        var before = await store.ResetAsync(ThrottleKeys.ForPerson(personId), cancellationToken);
        return AuditUnlock(personId, reason, before);
    }

    public async Task<Func<CancellationToken, Task>> PrepareResetAsync(Guid personId, string reason, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(reason);
        var account = ThrottleKeys.ForPerson(personId);
        AuditUnlock(personId, reason, await store.GetAsync(account, cancellationToken));
        return ct => store.ResetAsync(account, ct);
    }

    private bool AuditUnlock(Guid personId, string reason, AccountThrottleState? before)
    {
        var wasLocked = before?.LockedUntil is { } until && until > clock.GetUtcNow();
        if (wasLocked)
        {
            audit.Append(new AuditEntry(AuditEventTypes.AccountUnlocked, reason, personId, null, $"lock={before!.Locks}"));
            ThrottleLog.Unlocked(logger, personId, reason);
        }
        return wasLocked;
    }
}

/// <summary>"15 minutes", "1 heure", "2 heures et 30 minutes": how long a lock lasts, for the person's message.</summary>
public static class FrenchDuration
{
    public static string Format(TimeSpan duration)
    {
        // Rounded up to the minute: the message must never promise access earlier than the lock ends.
        var minutes = Math.Max(1, (long)Math.Ceiling(duration.TotalMinutes - 1e-9));
        var hours = minutes / 60;
        var rest = minutes % 60;
        static string Unit(long n, string singular) => n == 1 ? $"1 {singular}" : $"{n} {singular}s";
        return hours == 0 ? Unit(rest, "minute")
            : rest == 0 ? Unit(hours, "heure")
            : $"{Unit(hours, "heure")} et {Unit(rest, "minute")}";
    }
}

internal static partial class ThrottleLog
{
    [LoggerMessage(EventId = 2201, EventName = "ThrottleRefused", Level = LogLevel.Information,
        Message = "Secret check refused ({Refusal}) for person {PersonId}; retry after {RetryAfter}")]
    public static partial void Refused(ILogger logger, ThrottleRefusal refusal, Guid? personId, TimeSpan retryAfter);

    [LoggerMessage(EventId = 2204, EventName = "ClientBudgetExhausted", Level = LogLevel.Warning,
        Message = "Client {ClientId} exhausted its failure budget: its secret checks are refused for {RetryAfter}")]
    public static partial void ClientBlocked(ILogger logger, string clientId, TimeSpan retryAfter);

    [LoggerMessage(EventId = 2202, EventName = "AccountLocked", Level = LogLevel.Warning,
        Message = "Account of person {PersonId} locked (lock {LockNumber}) for {Duration}")]
    public static partial void Locked(ILogger logger, Guid personId, int lockNumber, TimeSpan duration);

    [LoggerMessage(EventId = 2203, EventName = "AccountUnlocked", Level = LogLevel.Information,
        Message = "Account of person {PersonId} unlocked ({Reason})")]
    public static partial void Unlocked(ILogger logger, Guid personId, string reason);
}
