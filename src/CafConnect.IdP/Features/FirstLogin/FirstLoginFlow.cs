using CafConnect.Domain.Accounts;
using CafConnect.Domain.Passwords;
using CafConnect.Infrastructure.Verification;

namespace CafConnect.IdP.Features.FirstLogin;

/// <summary>
/// States of the first-login journey ("la bascule") and of later required actions. Each state is a page.
/// New states get new names; existing names keep their meaning so flows in progress stay consistent.
/// </summary>
public static class FirstLoginStates
{
    public const string FlowType = "first-login";
    public const string Intro = "intro";
    public const string Terms = "terms";
    public const string Password = "password";
    public const string Contact = "contact";
    public const string Verify = "verify";
    public const string Delegation = "delegation";

    public static string For(RequiredAction action) => action switch
    {
        RequiredAction.AcceptTerms => Terms,
        RequiredAction.ChooseNewPassword => Password,
        RequiredAction.VerifyContact => Contact,
        RequiredAction.DelegationChoice => Delegation,
        _ => throw new ArgumentOutOfRangeException(nameof(action), action, null),
    };

    public static string PathOf(string state) => state switch
    {
        Intro => "/premiere-connexion",
        Terms => "/premiere-connexion/conditions",
        Password => "/premiere-connexion/mot-de-passe",
        Contact => "/premiere-connexion/coordonnees",
        Verify => "/premiere-connexion/verification",
        Delegation => "/premiere-connexion/autorisations",
        _ => "/connexion",
    };
}

/// <summary>What the flow remembers between pages. Never a secret: no password, no code.</summary>
public sealed class FirstLoginContext
{
    /// <summary>
    /// The Argon2id hash of the password chosen before the records' contact was proven: set only once it is, so that
    /// someone who knows the file's code and the NIR (the partner) cannot replace the holder's secret (docs/security.md,
    /// adversarial review). A hash, as in the accounts table, never the password.
    /// </summary>
    public string? DeferredPasswordHash { get; set; }

    /// <summary>Steps still to do, in order.</summary>
    public List<RequiredAction> Remaining { get; set; } = [];

    /// <summary>Every step asked in this flow (for "étape 2 sur 3").</summary>
    public List<RequiredAction> Asked { get; set; } = [];

    public PasswordKind SignedInWith { get; set; }

    /// <summary>The session's <c>amr</c> once the steps are done: <c>pwd</c>, or <c>fc</c> after FranceConnect.</summary>
    public string AuthenticationMethod { get; set; } = "pwd";

    /// <summary>
    /// FranceConnect's ID token, kept only for the session's logout at FranceConnect, encrypted
    /// (<see cref="CafConnect.IdP.Sessions.FranceConnectLogoutHint"/>): it carries the person's certified identity.
    /// </summary>
    public string? ProtectedFranceConnectLogoutHint { get; set; }

    /// <summary>The contact the code was sent to (normalised), while verifying it.</summary>
    public ContactChannel? Channel { get; set; }
    public string? Contact { get; set; }

    /// <summary>A different contact the person typed, proven right after the records' contact (then the records' contact is told).</summary>
    public ContactChannel? NextChannel { get; set; }
    public string? NextContact { get; set; }

    /// <summary>The records' contact proven in this flow, to tell when another contact is added.</summary>
    public ContactChannel? ToldContactChannel { get; set; }
    public string? ToldContact { get; set; }

    /// <summary>Legacy-code first login while the records hold a contact: it must be proven (before the password), no skipping.</summary>
    public bool MustProveRecordsContact { get; set; }
    public bool RecordsContactProven { get; set; }

    /// <summary>Legacy-code first login while the records hold no contact: a letter tells the person at the end.</summary>
    public bool RecordsHoldNoContact { get; set; }

    /// <summary>Started by « Créer Mon Compte »: the password is the account's first, not a replacement.</summary>
    public bool IsAccountCreation { get; set; }

    /// <summary>The "VOTRE CONNEXION À « MON COMPTE » CHANGE !" page: shown to people migrating from the legacy code.</summary>
    public bool IsMigration => SignedInWith == PasswordKind.LegacyFileCode;

    public int StepNumber(RequiredAction action) => Asked.IndexOf(action) + 1;
}
