using CafConnect.Application.Credentials;
using CafConnect.Application.Persistence;
using CafConnect.Domain.Accounts;
using CafConnect.Domain.Identity;
using CafConnect.Domain.Passwords;
using CafConnect.Infrastructure.Accounts;
using CafConnect.Infrastructure.Audit;
using CafConnect.Infrastructure.Security;
using CafConnect.Infrastructure.Throttling;
using Microsoft.Extensions.Logging;

namespace CafConnect.Application.SignIn;

/// <param name="Identifier">A NIR or a provisional identifier, already parsed (each channel says in its own words what is malformed).</param>
/// <param name="Method">
/// <see cref="SignInMethod.Password"/> for the login page, <see cref="SignInMethod.Kiosk"/> for the identifier-password
/// grant of the agency's kiosks (only the steps no one may skip hold a kiosk login back).
/// </param>
/// <param name="Source">
/// The source budget the attempt spends besides the account's: the client IP's (<see cref="ThrottleSource.FromIp"/>, the
/// login page), or the authenticated kiosk client's own (<see cref="ThrottleSource.FromAuthenticatedClient"/>: every
/// kiosk of an office leaves through its backend's one address; docs/decisions.md #40). The account's counters are the
/// same either way.
/// </param>
public sealed record PasswordSignInRequest(LoginIdentifier Identifier, string Password, string? ClientId, ThrottleSource Source, SignInMethod Method = SignInMethod.Password);

public enum PasswordSignInStatus
{
    /// <summary>Wrong identifier or secret, closed account: one answer for all.</summary>
    WrongCredentials,
    /// <summary>The throttle refused the attempt before any check (<see cref="PasswordSignInResult.Refusal"/>, <see cref="PasswordSignInResult.RetryAfter"/>).</summary>
    Throttled,
    /// <summary>The right provisional password, past its two months (<see cref="PasswordSignInResult.ExpiredOn"/>).</summary>
    ProvisionalExpired,
    /// <summary>Right secret, but steps to go through before any session (<see cref="PasswordSignInResult.PendingActions"/>).</summary>
    NeedsActions,
    /// <summary>Right secret, nothing pending: the channel's session (or token) was opened and committed.</summary>
    SignedIn,
    /// <summary>The account's secret or state changed while this attempt checked the old one: nothing of it was stored.</summary>
    AccountChanged,
}

public sealed record PasswordSignInResult(PasswordSignInStatus Status, PersonAccount? Person)
{
    public PasswordKind SignedInWith { get; init; } = PasswordKind.Personal;
    public IReadOnlyList<RequiredAction> PendingActions { get; init; } = [];
    public DateTimeOffset? ExpiredOn { get; init; }
    public ThrottleRefusal? Refusal { get; init; }
    public TimeSpan RetryAfter { get; init; }
}

/// <summary>
/// The one check of an identifier and a password, whatever the channel — the login page (<c>/connexion</c>) and the
/// kiosks' identifier-password grant: the throttle (per account, and per source — the client IP, or the authenticated
/// kiosk client's own budget; an identifier nobody holds is counted
/// under its claimed identity so that it locks like a real one), <see cref="VerifyStoredSecret"/> (every kind of stored
/// secret, provisional expiry, hash upgrade), the failure and success audit lines, the last-login date and
/// <see cref="RequiredActionsStart"/>. A wrong identifier, a wrong password and a closed account cost one Argon2id
/// verification each and give the same status. Whatever the outcome the attempt commits once; on success the channel's
/// <c>openSession</c> (the web session row and cookie, the kiosk's token audit) is part of that commit.
/// </summary>
public sealed class PasswordSignIn(
    PersonDirectory persons, ISecretHasher hasher, AuditTrail audit, RequiredActionsStart requiredActions, IUnitOfWork unitOfWork,
    ILoginThrottle throttle, TimeProvider clock, ILogger<PasswordSignIn> logger, VerifyStoredSecret credentials, CommitSignIn signIns)
{
    /// <summary>The audit outcome of a password login (the channel is the audit context's).</summary>
    public const string PasswordMethod = "pwd";

    /// <param name="openSession">Run when the secret is right and nothing is pending, before <c>login.succeeded</c> is appended.</param>
    /// <param name="onPendingActions">Run when the secret is right but steps are pending, before the commit (the web login starts its first-login flow there).</param>
    public async Task<PasswordSignInResult> ExecuteAsync(PasswordSignInRequest request, Func<PersonAccount, CancellationToken, Task>? openSession = null,
        Action<PersonAccount, IReadOnlyList<RequiredAction>, PasswordKind>? onPendingActions = null,
        CancellationToken cancellationToken = default)
    {
        var password = request.Password;
        var person = await persons.FindByLoginIdentifierAsync(request.Identifier, cancellationToken);
        // An identifier nobody holds (or a closed account's) spends a budget of its own, so that after ten guesses it is
        // refused exactly like a locked account: a channel that says "locked" (the kiosk) reveals nothing by it.
        var gate = person is { IsClosed: false }
            ? await throttle.BeginAsync(person, request.Source, cancellationToken)
            : await throttle.BeginForAccountKeyAsync(ThrottleKeys.ForClaimedIdentity(ClaimedIdentity(request.Identifier)), request.Source, cancellationToken);
        if (!gate.Allowed)
        {
            // Refused before any check of the secret; its cost is that of a wrong password.
            hasher.VerifyAgainstDummy(password);
            audit.Append(new AuditEntry(AuditEventTypes.LoginFailed, gate.RefusalReason, person?.Id, request.ClientId,
                $"scope={RefusalScope(gate.Decision.Refusal)}"));
            LogFailure(logger, person?.Id);
            await unitOfWork.CommitAsync(cancellationToken);
            return new(PasswordSignInStatus.Throttled, null) { Refusal = gate.Decision.Refusal, RetryAfter = gate.Decision.RetryAfter };
        }

        var check = person is null || person.IsClosed
            ? new VerifyStoredSecretResult(false, PasswordKind.Personal, person is null ? "unknown_identifier" : "closed_account")
            : await credentials.ExecuteAsync(new VerifyStoredSecretRequest(person, password), cancellationToken);
        if (check.ProvisionalExpired)
        {
            // The right provisional password, past its two months: not a login, but not a guess either — its own answer.
            await throttle.FailedAsync(gate, person, request.ClientId, cancellationToken);
            audit.Append(new AuditEntry(AuditEventTypes.LoginFailed, check.Reason, person!.Id, request.ClientId));
            await unitOfWork.CommitAsync(cancellationToken);
            return new(PasswordSignInStatus.ProvisionalExpired, null) { ExpiredOn = check.ExpiredOn };
        }
        if (!check.Verified)
        {
            if (person is null || person.IsClosed)
            {
                hasher.VerifyAgainstDummy(password);
            }
            await throttle.FailedAsync(gate, person is { IsClosed: false } ? person : null, request.ClientId, cancellationToken);
            audit.Append(new AuditEntry(AuditEventTypes.LoginFailed, check.Reason, person?.Id, request.ClientId));
            LogFailure(logger, person?.Id);
            await unitOfWork.CommitAsync(cancellationToken);
            return new(PasswordSignInStatus.WrongCredentials, null);
        }
        await throttle.SucceededAsync(gate, cancellationToken);

        person!.LastLoginAt = clock.GetUtcNow();

        var method = request.Method == SignInMethod.Kiosk ? SignInMethod.Kiosk : SignInMethod.Password;
        var required = await requiredActions.EvaluateAsync(new RequiredActionsRequest(person, method, request.ClientId, check.Kind), cancellationToken);
        if (required.AnyPending)
        {
            // Right secret, but no session until the steps are done (the first-login flow opens it).
            onPendingActions?.Invoke(person, required.Pending, check.Kind);
            return (await signIns.ExecuteAsync(new CommitSignInRequest(person), cancellationToken)).Committed
                ? new(PasswordSignInStatus.NeedsActions, person) { SignedInWith = check.Kind, PendingActions = required.Pending }
                : new(PasswordSignInStatus.AccountChanged, null);
        }

        if (openSession is not null)
        {
            await openSession(person, cancellationToken);
        }
        audit.Append(new AuditEntry(AuditEventTypes.LoginSucceeded, PasswordMethod, person.Id, request.ClientId));
        return (await signIns.ExecuteAsync(new CommitSignInRequest(person), cancellationToken)).Committed
            ? new(PasswordSignInStatus.SignedIn, person) { SignedInWith = check.Kind }
            : new(PasswordSignInStatus.AccountChanged, null);
    }

    private static string RefusalScope(ThrottleRefusal? refusal) => refusal switch
    {
        ThrottleRefusal.IpBlocked => "ip",
        ThrottleRefusal.ClientBlocked => "client",
        _ => "account",
    };

    private static string ClaimedIdentity(LoginIdentifier identifier) =>
        (identifier.Kind == LoginIdentifierKind.Nir ? "login-nir:" : "login-provisional:") + identifier.Value;

    private static void LogFailure(ILogger logger, Guid? personId) =>
        logger.LogInformation(new EventId(2001, "LoginFailed"), "Login failed for person {PersonId}", personId?.ToString() ?? "(unknown)");
}
