using CafConnect.Domain.Accounts;
using CafConnect.Domain.Identity;
using CafConnect.Infrastructure.Accounts;
using CafConnect.Infrastructure.Audit;
using CafConnect.Infrastructure.Security;
using CafConnect.IdP.Sessions;

namespace CafConnect.IdP.Features.Login;

/// <summary>How the person identifies on the login page: the default NIR form, or "J'ai un identifiant provisoire".</summary>
public enum LoginIdentifierKind
{
    Nir,
    Provisional,
}

public sealed record LoginAttempt(LoginIdentifierKind Kind, string? Identifier, string? Password, string? ClientId);

public sealed record LoginOutcome(PersonAccount? Person, IReadOnlyDictionary<string, string> FieldErrors, string? FormError)
{
    public bool Succeeded => Person is not null;
}

/// <summary>
/// Checks an identifier and password and, when they are right, opens the person's session. A wrong identifier and a wrong password are indistinguishable to the
/// person typing (same message) and to a stopwatch (an unknown identifier still pays one Argon2id verification).
/// </summary>
public sealed class LoginHandler(PersonDirectory persons, ISecretHasher hasher, AuditTrail audit, TimeProvider clock, ILogger<LoginHandler> logger)
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

        if (person is null || person.IsClosed || person.PasswordHash is null)
        {
            hasher.VerifyAgainstDummy(password);
            await audit.WriteAsync(new AuditEntry(AuditEventTypes.LoginFailed, person is null ? "unknown_identifier" : "no_usable_credential", person?.Id, attempt.ClientId), cancellationToken);
            LogFailure(logger, person?.Id);
            return new LoginOutcome(null, fieldErrors, WrongCredentialsMessage(attempt.Kind));
        }

        var verification = hasher.Verify(password, person.PasswordHash);
        if (verification == SecretVerification.Failed)
        {
            await audit.WriteAsync(new AuditEntry(AuditEventTypes.LoginFailed, "wrong_password", person.Id, attempt.ClientId), cancellationToken);
            LogFailure(logger, person.Id);
            return new LoginOutcome(null, fieldErrors, WrongCredentialsMessage(attempt.Kind));
        }

        if (verification == SecretVerification.SucceededRehashNeeded)
        {
            // Cost parameters were raised since this hash was made: upgrade it while we hold the secret.
            person.PasswordHash = hasher.Hash(password);
            await audit.WriteAsync(new AuditEntry(AuditEventTypes.PasswordRehashed, null, person.Id, attempt.ClientId), cancellationToken);
        }

        person.LastLoginAt = clock.GetUtcNow();
        await persons.SaveAsync(person, cancellationToken);

        // A brand-new session for every authentication (no fixation); audited with that session's id.
        var session = await PersonSession.SignInAsync(http, person, "pwd", clock);
        http.Items[HttpAuditContextAccessor.SessionIdItem] = session.SessionId;
        await audit.WriteAsync(new AuditEntry(AuditEventTypes.LoginSucceeded, "pwd", person.Id, attempt.ClientId), cancellationToken);
        return new LoginOutcome(person, fieldErrors, null);
    }

    private static void LogFailure(ILogger logger, Guid? personId) =>
        logger.LogInformation(new EventId(2001, "LoginFailed"), "Login failed for person {PersonId}", personId?.ToString() ?? "(unknown)");
}
