using CafConnect.Application.Navigation;
using CafConnect.Application.SignIn;
using CafConnect.Application.Credentials;
using CafConnect.Domain.Accounts;
using CafConnect.Domain.Identity;
using CafConnect.Domain.Passwords;
using CafConnect.IdP.Sessions;
using CafConnect.Infrastructure.Flows;
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
/// goes through the login throttle (per account and per client IP, docs/security.md). Whatever the outcome,
/// the attempt commits once: its audit line with what it changed (last login, an upgraded hash, the session row).
/// The check itself is <see cref="PasswordSignIn"/> (Application), shared with the kiosks' grant; this handler turns the
/// form into its request and its result into the page's messages and the session cookie.
/// </summary>
public sealed class LoginHandler(PasswordSignIn signIn, TimeProvider clock, FirstLogin.FirstLoginJourney firstLogin)
{
    public const string IdentifierField = "Identifier";
    public const string PasswordField = "Password";

    public static string WrongCredentialsMessage(LoginIdentifierKind kind) => kind == LoginIdentifierKind.Nir
        ? "Le numéro de Sécurité sociale ou le mot de passe est incorrect."
        : "L'identifiant provisoire ou le mot de passe est incorrect.";

    public async Task<LoginOutcome> HandleAsync(LoginAttempt attempt, HttpContext http, CancellationToken cancellationToken = default)
    {
        var fieldErrors = new Dictionary<string, string>();
        var sessionOpened = false;
        SelfServiceFlow? firstLoginFlow = null;
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

        var identifier = LoginIdentifierFor(normalised!);
        // The one check of an identifier and a password (Application): throttle, secret, audit, required actions.
        var result = await signIn.ExecuteAsync(
            // A browser: the per-IP budget (only the kiosk grant's authenticated client spends a budget of its own).
            new PasswordSignInRequest(identifier, password, attempt.ClientId, ThrottleSource.FromIp(http.Connection.RemoteIpAddress)),
            openSession: async (person, _) =>
            {
                // A brand-new session for every authentication (no fixation); audited with that session's id.
                var session = await PersonSession.SignInAsync(http, person, PasswordSignIn.PasswordMethod, clock);
                http.Items[HttpAuditContextAccessor.SessionIdItem] = session.SessionId;
                sessionOpened = true;
            },
            // Right secret, steps to go through: the first-login flow is stored with the login's one commit.
            onPendingActions: (person, pending, signedInWith) =>
                firstLoginFlow = firstLogin.Start(http, person, pending, signedInWith, attempt.ReturnUrl, attempt.ClientId),
            cancellationToken: cancellationToken);
        switch (result.Status)
        {
            case PasswordSignInStatus.ProvisionalExpired:
                return new LoginOutcome(null, fieldErrors, VerifyStoredSecret.ProvisionalExpiredMessage(result.ExpiredOn));
            case PasswordSignInStatus.WrongCredentials or PasswordSignInStatus.Throttled:
                // A throttled attempt and a locked account read exactly like a wrong password on the page.
                return new LoginOutcome(null, fieldErrors, WrongCredentialsMessage(attempt.Kind));
            case PasswordSignInStatus.AccountChanged:
                if (sessionOpened)
                {
                    // The session row was never stored, so the cookie would be refused anyway: remove it at once.
                    await http.SignOutAsync(PersonSession.Scheme);
                }
                return new LoginOutcome(null, fieldErrors, AccountChangedMessage);
            case PasswordSignInStatus.NeedsActions:
                // Right secret, but no session until the steps are done (the first-login flow opens it).
                return new LoginOutcome(result.Person, fieldErrors, null) { SignedInWith = result.SignedInWith, PendingActions = result.PendingActions, FirstLoginFlow = firstLoginFlow };
            default:
                return new LoginOutcome(result.Person, fieldErrors, null) { SignedInWith = result.SignedInWith };
        }
    }

    /// <summary>The form's field, parsed with its own kind's French messages above, as the identifier the sign-in looks up.</summary>
    private static LoginIdentifier LoginIdentifierFor(string normalised) =>
        LoginIdentifier.TryParse(normalised, out var identifier, out _) ? identifier
            : throw new InvalidOperationException("A normalised identifier always parses.");

    /// <summary>Said when the account's secret or state changed while this login was checking the old one.</summary>
    public const string AccountChangedMessage = CommitSignIn.AccountChangedMessage;
}
