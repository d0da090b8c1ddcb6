using CafConnect.Domain.Accounts;
using CafConnect.Domain.Passwords;
using CafConnect.Infrastructure.Audit;
using CafConnect.Infrastructure.Terms;

namespace CafConnect.Application.SignIn;

/// <summary>How the person proved who they are, as far as the steps before their session are concerned.</summary>
public enum SignInMethod
{
    /// <summary>The login page: a personal or provisional password, or the file's legacy code (see <see cref="RequiredActionsRequest.SignedInWith"/>).</summary>
    Password,
    /// <summary>A certified FranceConnect identity: no secret of ours was typed.</summary>
    FranceConnect,
    /// <summary>The end of « Créer Mon Compte »: the contact was just proven, no password exists yet.</summary>
    AccountCreation,
    /// <summary>
    /// The identifier-password grant of the agency's kiosks: a password as on the login page, but no browser to walk the
    /// steps in, so only the steps no one may skip (terms, a new password) hold it back; the optional ones (contact,
    /// delegation) wait for the next browser login (docs/decisions.md #26).
    /// </summary>
    Kiosk,
}

/// <param name="SignedInWith">The secret that was verified; read only for <see cref="SignInMethod.Password"/> and <see cref="SignInMethod.Kiosk"/>.</param>
public sealed record RequiredActionsRequest(PersonAccount Person, SignInMethod Method, string? ClientId, PasswordKind SignedInWith = PasswordKind.Personal);

/// <param name="SignedInWith">The credential the steps are evaluated for (what the first-login flow records).</param>
public sealed record RequiredActionsResult(IReadOnlyList<RequiredAction> Pending, PasswordKind SignedInWith)
{
    public bool AnyPending => Pending.Count > 0;
}

/// <summary>
/// The one entry point that decides which steps (terms, new password, contact, delegation) stand between a person who
/// just proved who they are and their session, whatever the way in: the login page, FranceConnect, account creation.
/// It appends the audit line of a login held back by steps; the caller's use case commits it with the rest.
/// </summary>
public sealed class RequiredActionsStart(TermsOfUseCatalog terms, LoginOptions options, AuditTrail audit, TimeProvider clock)
{
    public async Task<RequiredActionsResult> EvaluateAsync(RequiredActionsRequest request, CancellationToken cancellationToken = default)
    {
        var person = request.Person;
        var signedInWith = request.Method switch
        {
            // Seed 003: the first login « avec son NIR ou avec FranceConnect » asks for the terms, a personal password and
            // the contact. A person without a password of their own (legacy code, import) goes through the whole migration.
            SignInMethod.FranceConnect => person.PasswordHash is null ? PasswordKind.LegacyFileCode : PasswordKind.Personal,
            // No password yet: evaluated as a provisional credential, the triggers always ask for one.
            SignInMethod.AccountCreation => PasswordKind.Provisional,
            _ => request.SignedInWith,
        };
        var currentTermsVersion = await terms.CurrentVersionAsync(cancellationToken);
        var pending = RequiredActionTriggers.Evaluate(person, new RequiredActionContext(
            currentTermsVersion ?? 0, clock.GetUtcNow(), signedInWith, options.PasswordExpiry, options.ContactReminderInterval)
        {
            DelegationReminderInterval = options.DelegationReminderInterval,
        });
        if (request.Method == SignInMethod.FranceConnect && signedInWith == PasswordKind.Personal
            && !person.RequiredActions.Any(a => a.Action == RequiredAction.ChooseNewPassword))
        {
            // An expired personal password is not what FranceConnect vouched for: it is asked at the next password login.
            pending = pending.Where(a => a != RequiredAction.ChooseNewPassword).ToList();
        }
        if (request.Method == SignInMethod.Kiosk)
        {
            pending = pending.Where(RequiredActionTriggers.CannotBeSkipped).ToList();
        }

        if (pending.Count > 0 && request.Method != SignInMethod.AccountCreation)
        {
            // Right secret (or identity), but no session until the steps are done.
            audit.Append(new AuditEntry(AuditEventTypes.LoginRequiredActions, string.Join(',', pending), person.Id, request.ClientId,
                request.Method == SignInMethod.FranceConnect ? "secret=fc" : $"secret={signedInWith}"));
        }
        return new RequiredActionsResult(pending, signedInWith);
    }
}
