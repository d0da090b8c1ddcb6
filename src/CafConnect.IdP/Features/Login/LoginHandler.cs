using CafConnect.Application.Credentials;
using CafConnect.Domain.Accounts;
using CafConnect.Domain.Households;
using CafConnect.Domain.Identity;
using CafConnect.Domain.Passwords;
using CafConnect.IdP.Sessions;
using CafConnect.Infrastructure.Accounts;
using CafConnect.Infrastructure.Audit;
using CafConnect.Infrastructure.Security;
using CafConnect.Infrastructure.Terms;
using CafConnect.Infrastructure.Throttling;

namespace CafConnect.IdP.Features.Login;

/// <summary>How the person identifies on the login page: the default NIR form, or "J'ai un identifiant provisoire".</summary>
public enum LoginIdentifierKind
{
    Nir,
    Provisional,
}

public sealed record LoginAttempt(LoginIdentifierKind Kind, string? Identifier, string? Password, string? ClientId);

/// <summary>
/// The result of a login: refused (field or credential errors), signed in, or — right credentials but steps to go
/// through first (terms, new password, contact) — <see cref="PendingActions"/> with no session yet.
/// </summary>
public sealed record LoginOutcome(PersonAccount? Person, IReadOnlyDictionary<string, string> FieldErrors, string? FormError)
{
    public PasswordKind SignedInWith { get; init; } = PasswordKind.Personal;
    public IReadOnlyList<RequiredAction> PendingActions { get; init; } = [];
    public bool Succeeded => Person is not null && PendingActions.Count == 0;
    public bool NeedsActions => Person is not null && PendingActions.Count > 0;
}

/// <summary>Settings of the login (<c>Accounts:*</c>).</summary>
public sealed class LoginOptions
{
    public PasswordExpiryOptions PasswordExpiry { get; set; } = new();
    public TimeSpan ContactReminderInterval { get; set; } = RequiredActionTriggers.DefaultContactReminderInterval;
    /// <summary>How long « Passer » on « Mes autorisations » keeps the question from being asked again.</summary>
    public TimeSpan DelegationReminderInterval { get; set; } = RequiredActionTriggers.DefaultDelegationReminderInterval;
}

/// <summary>
/// Checks an identifier and a secret and, when they are right and nothing is pending, opens the person's session.
/// A wrong identifier, a wrong password, a throttled attempt and a locked account are indistinguishable to the person
/// typing (same message, same status) and to a stopwatch (each pays one Argon2id verification). Every credential check
/// goes through <see cref="ILoginThrottle"/> (per account and per client IP, docs/security.md).
/// </summary>
public sealed class LoginHandler(
    PersonDirectory persons, ISecretHasher hasher, AuditTrail audit, TermsOfUseCatalog terms, LoginOptions options,
    ILoginThrottle throttle, TimeProvider clock, ILogger<LoginHandler> logger, VerifyStoredSecret credentials)
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
            await audit.WriteAsync(new AuditEntry(AuditEventTypes.LoginFailed, gate.RefusalReason, person?.Id, attempt.ClientId,
                $"scope={(gate.Decision.Refusal == ThrottleRefusal.IpBlocked ? "ip" : "account")}"), cancellationToken);
            LogFailure(logger, person?.Id);
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
            await audit.WriteAsync(new AuditEntry(AuditEventTypes.LoginFailed, reason, person!.Id, attempt.ClientId), cancellationToken);
            return new LoginOutcome(null, fieldErrors, VerifyStoredSecret.ProvisionalExpiredMessage(check.ExpiredOn));
        }
        if (!verified)
        {
            if (person is null || person.IsClosed)
            {
                hasher.VerifyAgainstDummy(password);
            }
            await throttle.FailedAsync(gate, person, attempt.ClientId, cancellationToken);
            await audit.WriteAsync(new AuditEntry(AuditEventTypes.LoginFailed, reason, person?.Id, attempt.ClientId), cancellationToken);
            LogFailure(logger, person?.Id);
            return new LoginOutcome(null, fieldErrors, WrongCredentialsMessage(attempt.Kind));
        }
        await throttle.SucceededAsync(gate, cancellationToken);

        var now = clock.GetUtcNow();
        person!.LastLoginAt = now;
        await persons.SaveAsync(person, cancellationToken);

        var currentTerms = await terms.CurrentAsync(cancellationToken);
        var pending = RequiredActionTriggers.Evaluate(person, new RequiredActionContext(
            currentTerms?.Version ?? 0, now, signedInWith, options.PasswordExpiry, options.ContactReminderInterval)
        {
            DelegationReminderInterval = options.DelegationReminderInterval,
        });
        if (pending.Count > 0)
        {
            // Right secret, but no session until the steps are done (the first-login flow opens it).
            await audit.WriteAsync(new AuditEntry(AuditEventTypes.LoginRequiredActions, string.Join(',', pending), person.Id, attempt.ClientId, $"secret={signedInWith}"), cancellationToken);
            return new LoginOutcome(person, fieldErrors, null) { SignedInWith = signedInWith, PendingActions = pending };
        }

        // A brand-new session for every authentication (no fixation); audited with that session's id.
        var session = await PersonSession.SignInAsync(http, person, "pwd", clock);
        http.Items[HttpAuditContextAccessor.SessionIdItem] = session.SessionId;
        await audit.WriteAsync(new AuditEntry(AuditEventTypes.LoginSucceeded, "pwd", person.Id, attempt.ClientId), cancellationToken);
        return new LoginOutcome(person, fieldErrors, null) { SignedInWith = signedInWith };
    }

    private static void LogFailure(ILogger logger, Guid? personId) =>
        logger.LogInformation(new EventId(2001, "LoginFailed"), "Login failed for person {PersonId}", personId?.ToString() ?? "(unknown)");
}
