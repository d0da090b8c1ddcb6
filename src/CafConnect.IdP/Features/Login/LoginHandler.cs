using CafConnect.Application.Navigation;
using CafConnect.Application.Persistence;
using CafConnect.Application.SignIn;
using CafConnect.Application.Credentials;
using CafConnect.Domain.Accounts;
using CafConnect.Domain.Households;
using CafConnect.Domain.Identity;
using CafConnect.Domain.Passwords;
using CafConnect.IdP.Sessions;
using CafConnect.Infrastructure.Accounts;
using CafConnect.Infrastructure.Audit;
using CafConnect.Infrastructure.Flows;
using CafConnect.Infrastructure.Security;
using CafConnect.Infrastructure.Throttling;
using Microsoft.AspNetCore.Authentication;

namespace CafConnect.IdP.Features.Login;

/// <param name="Kind">Which form the person used: the default NIR form, or « J'ai un identifiant provisoire ».</param>
/// <param name="ReturnUrl">Where the login resumes (already made usable by the page): the first-login flow keeps it.</param>
public sealed record LoginAttempt(LoginIdentifierKind Kind, string? Identifier, string? Password, string? ClientId, string ReturnUrl = ReturnUrls.AccountHome);

/// <summary>
/// The result of a login: refused (field or credential errors), signed in, or — right credentials but steps to go
/// through first (terms, new password, contact) — <see cref="PendingActions"/> with no session yet.
/// </summary>
public sealed record LoginOutcome(PersonAccount? Person, IReadOnlyDictionary<string, string> FieldErrors, string? FormError)
{
    public PasswordKind SignedInWith { get; init; } = PasswordKind.Personal;
    public IReadOnlyList<RequiredAction> PendingActions { get; init; } = [];
    /// <summary>With <see cref="PendingActions"/>: the first-login flow started, stored with the login's commit.</summary>
    public SelfServiceFlow? FirstLoginFlow { get; init; }
    public bool Succeeded => Person is not null && PendingActions.Count == 0;
    public bool NeedsActions => Person is not null && PendingActions.Count > 0;
}

/// <summary>
/// Checks an identifier and a secret and, when they are right and nothing is pending, opens the person's session.
/// A wrong identifier, a wrong password, a throttled attempt and a locked account are indistinguishable to the person
/// typing (same message, same status) and to a stopwatch (each pays one Argon2id verification). Every credential check
/// goes through <see cref="ILoginThrottle"/> (per account and per client IP, docs/security.md). Whatever the outcome,
/// the attempt commits once: its audit line with what it changed (last login, an upgraded hash, the session row).
/// </summary>
public sealed class LoginHandler(
    PersonDirectory persons, ISecretHasher hasher, AuditTrail audit, RequiredActionsStart requiredActions, IUnitOfWork unitOfWork,
    ILoginThrottle throttle, TimeProvider clock, ILogger<LoginHandler> logger, VerifyStoredSecret credentials, CommitSignIn signIns,
    FirstLogin.FirstLoginJourney firstLogin)
{
    public const string IdentifierField = "Identifier";
    public const string PasswordField = "Password";

    public static string WrongCredentialsMessage(LoginIdentifierKind kind) => kind == LoginIdentifierKind.Nir
        ? "Le numéro de Sécurité sociale ou le mot de passe est incorrect."
        : "L'identifiant provisoire ou le mot de passe est incorrect.";

    public async Task<LoginOutcome> HandleAsync(LoginAttempt attempt, HttpContext http, CancellationToken cancellationToken = default)
    {
        var fieldErrors = new Dictionary<string, string>();
        string? normalised = null;
        if (attempt.Kind == LoginIdentifierKind.Nir)
        {
            if (Nir.TryParse(attempt.Identifier, out var nir, out var nirError))
            {
                normalised = nir.Value;
            }
            else
            {
                fieldErrors[IdentifierField] = Nir.MessageFor(nirError);
            }
        }
        else if (ProvisionalId.TryParse(attempt.Identifier, out var provisional, out var provisionalError))
        {
            normalised = provisional.Value;
        }
        else
        {
            fieldErrors[IdentifierField] = ProvisionalId.MessageFor(provisionalError);
        }

        var password = attempt.Password ?? string.Empty;
        if (password.Length == 0)
        {
            fieldErrors[PasswordField] = "Saisissez votre mot de passe.";
        }
        else if (password.Length is < 8 or > 24)
        {
            fieldErrors[PasswordField] = "Le mot de passe doit comporter de 8 à 24 caractères.";
        }

        if (fieldErrors.Count > 0)
        {
            return new LoginOutcome(null, fieldErrors, null);
        }

        var person = attempt.Kind == LoginIdentifierKind.Nir
            ? await persons.FindByNirAsync(normalised!, cancellationToken)
            : await persons.FindByProvisionalIdAsync(normalised!, cancellationToken);

        var gate = await throttle.BeginAsync(person, http.Connection.RemoteIpAddress, cancellationToken);
        if (!gate.Allowed)
        {
            // Refused before any check of the secret; the answer (and its cost) is that of a wrong password.
            hasher.VerifyAgainstDummy(password);
            audit.Append(new AuditEntry(AuditEventTypes.LoginFailed, gate.RefusalReason, person?.Id, attempt.ClientId,
                $"scope={(gate.Decision.Refusal == ThrottleRefusal.IpBlocked ? "ip" : "account")}"));
            LogFailure(logger, person?.Id);
            await unitOfWork.CommitAsync(cancellationToken);
            return new LoginOutcome(null, fieldErrors, WrongCredentialsMessage(attempt.Kind));
        }

        var check = person is null || person.IsClosed
            ? new VerifyStoredSecretResult(false, PasswordKind.Personal, person is null ? "unknown_identifier" : "closed_account")
            : await credentials.ExecuteAsync(new VerifyStoredSecretRequest(person, password), cancellationToken);
        var (verified, signedInWith, reason) = (check.Verified, check.Kind, check.Reason);
        if (check.ProvisionalExpired)
        {
            // The right provisional password, past its two months: not a login, but not a guess either — its own answer.
            await throttle.FailedAsync(gate, person, attempt.ClientId, cancellationToken);
            audit.Append(new AuditEntry(AuditEventTypes.LoginFailed, reason, person!.Id, attempt.ClientId));
            await unitOfWork.CommitAsync(cancellationToken);
            return new LoginOutcome(null, fieldErrors, VerifyStoredSecret.ProvisionalExpiredMessage(check.ExpiredOn));
        }
        if (!verified)
        {
            if (person is null || person.IsClosed)
            {
                hasher.VerifyAgainstDummy(password);
            }
            await throttle.FailedAsync(gate, person, attempt.ClientId, cancellationToken);
            audit.Append(new AuditEntry(AuditEventTypes.LoginFailed, reason, person?.Id, attempt.ClientId));
            LogFailure(logger, person?.Id);
            await unitOfWork.CommitAsync(cancellationToken);
            return new LoginOutcome(null, fieldErrors, WrongCredentialsMessage(attempt.Kind));
        }
        await throttle.SucceededAsync(gate, cancellationToken);

        person!.LastLoginAt = clock.GetUtcNow();

        var required = await requiredActions.EvaluateAsync(new RequiredActionsRequest(person, SignInMethod.Password, attempt.ClientId, signedInWith), cancellationToken);
        if (required.AnyPending)
        {
            // Right secret, but no session until the steps are done (the first-login flow opens it): the flow is stored
            // with the login's one commit.
            var flow = firstLogin.Start(http, person, required.Pending, signedInWith, attempt.ReturnUrl, attempt.ClientId);
            if (!(await signIns.ExecuteAsync(new CommitSignInRequest(person), cancellationToken)).Committed)
            {
                return new LoginOutcome(null, fieldErrors, AccountChangedMessage);
            }
            return new LoginOutcome(person, fieldErrors, null) { SignedInWith = signedInWith, PendingActions = required.Pending, FirstLoginFlow = flow };
        }

        // A brand-new session for every authentication (no fixation); audited with that session's id.
        var session = await PersonSession.SignInAsync(http, person, "pwd", clock);
        http.Items[HttpAuditContextAccessor.SessionIdItem] = session.SessionId;
        audit.Append(new AuditEntry(AuditEventTypes.LoginSucceeded, "pwd", person.Id, attempt.ClientId));
        if (!(await signIns.ExecuteAsync(new CommitSignInRequest(person), cancellationToken)).Committed)
        {
            // The session row was never stored, so the cookie would be refused anyway: remove it at once.
            await http.SignOutAsync(PersonSession.Scheme);
            return new LoginOutcome(null, fieldErrors, AccountChangedMessage);
        }
        return new LoginOutcome(person, fieldErrors, null) { SignedInWith = signedInWith };
    }

    /// <summary>Said when the account's secret or state changed while this login was checking the old one.</summary>
    public const string AccountChangedMessage = CommitSignIn.AccountChangedMessage;

    private static void LogFailure(ILogger logger, Guid? personId) =>
        logger.LogInformation(new EventId(2001, "LoginFailed"), "Login failed for person {PersonId}", personId?.ToString() ?? "(unknown)");
}
