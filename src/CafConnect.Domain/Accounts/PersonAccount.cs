using CafConnect.Domain.Households;

namespace CafConnect.Domain.Accounts;

/// <summary>What kind of secret the account currently holds; decides which steps a login must go through.</summary>
public enum CredentialKind
{
    /// <summary>No secret yet (e.g. created by import without a legacy code).</summary>
    None = 0,
    /// <summary>Personal alphanumeric password chosen by the person.</summary>
    Personal = 1,
    /// <summary>Provisional password sent by SMS or letter; must be replaced at first use.</summary>
    Provisional = 2,
}

public enum Civility
{
    Unknown = 0,
    Monsieur = 1,
    Madame = 2,
}

/// <summary>
/// One person's account ("connexion à la personne"). Identified by a NIR or, without one, a provisional id.
/// The subject (<see cref="Subject"/>) is opaque and never derived from the NIR.
/// </summary>
public sealed class PersonAccount
{
    public Guid Id { get; set; } = Guid.NewGuid();

    /// <summary>Stable opaque OIDC subject, random at creation.</summary>
    public string Subject { get; set; } = NewSubject();

    /// <summary>13 normalised NIR characters, or null for a person registered without one.</summary>
    public string? Nir { get; set; }

    /// <summary>"P" + 8 digits, only while the person has no NIR.</summary>
    public string? ProvisionalId { get; set; }

    public Civility Civility { get; set; }
    public string BirthName { get; set; } = string.Empty;
    public string? UsageName { get; set; }
    public string GivenNames { get; set; } = string.Empty;
    public DateOnly? BirthDate { get; set; }

    /// <summary>Country of birth as the agency records it: its name in capitals (FRANCE, ALGERIE) or an INSEE code (99xxx).</summary>
    public string? BirthCountry { get; set; }
    public string? BirthCity { get; set; }

    /// <summary>For a birth abroad (seed 003): the birth names and first names of both parents, as the person gave them.</summary>
    public string? Parent1BirthName { get; set; }
    public string? Parent1GivenNames { get; set; }
    public string? Parent2BirthName { get; set; }
    public string? Parent2GivenNames { get; set; }

    /// <summary>Postal code of the place of residence (5 digits).</summary>
    public string? PostalCode { get; set; }

    public string? Email { get; set; }
    public bool EmailVerified { get; set; }
    public string? MobilePhone { get; set; }
    public bool MobilePhoneVerified { get; set; }

    /// <summary>Argon2id PHC string; never the secret itself.</summary>
    public string? PasswordHash { get; set; }
    public CredentialKind CredentialKind { get; set; }
    public DateTimeOffset? PasswordSetAt { get; set; }

    /// <summary>
    /// A provisional password sent (by SMS or letter) and not used yet: Argon2id PHC string. It sits beside the current
    /// secret, which keeps working until this one is first used or a personal password is set (docs/decisions.md #17):
    /// asking for one — anyone may, knowing a NIR — never locks the person out.
    /// </summary>
    public string? PendingProvisionalPasswordHash { get; set; }

    /// <summary>When the pending provisional password was sent (its two months of validity start here).</summary>
    public DateTimeOffset? PendingProvisionalPasswordIssuedAt { get; set; }

    /// <summary>
    /// The person's own 8-digit keypad code for the phone channel (issue 16, item 8), chosen in « Mon compte »: Argon2id PHC
    /// string, null until chosen. With the NIR it gives a phone token for this person and their own rights, unlike the
    /// file's shared code (docs/decisions.md #25).
    /// </summary>
    public string? PhoneCodeHash { get; set; }

    /// <summary>When the personal phone code was last chosen.</summary>
    public DateTimeOffset? PhoneCodeSetAt { get; set; }

    public DateTimeOffset CreatedAt { get; set; } = DateTimeOffset.UtcNow;
    public DateTimeOffset? LastLoginAt { get; set; }
    public DateTimeOffset? ClosedAt { get; set; }

    /// <summary>Version of the terms of use the person last accepted, and when.</summary>
    public int? AcceptedTermsVersion { get; set; }
    public DateTimeOffset? TermsAcceptedAt { get; set; }

    /// <summary>
    /// Set when the password chosen at a first login (the file's code, or FranceConnect without a password) became the
    /// account's; cleared when a first-login journey ends and « Votre compte est créé » goes out. A journey left after
    /// the password step and finished at a later login still sends it (the later login is no longer a migration).
    /// </summary>
    public DateTimeOffset? AccountCreatedNoticeOwedSince { get; set; }

    /// <summary>When the person last chose "Passer cette étape" on the contact step.</summary>
    public DateTimeOffset? ContactStepSkippedAt { get; set; }

    /// <summary>Actions set on the account by others, done at the next login.</summary>
    public List<PendingRequiredAction> RequiredActions { get; set; } = [];

    /// <summary>Optimistic concurrency token, changed at every update.</summary>
    public Guid ConcurrencyStamp { get; set; } = Guid.NewGuid();

    public List<HouseholdMembership> Memberships { get; set; } = [];

    public bool IsClosed => ClosedAt is not null;

    /// <summary>The name people see: usage name when they have one, else birth name.</summary>
    public string FamilyName => string.IsNullOrWhiteSpace(UsageName) ? BirthName : UsageName!;

    public static string NewSubject() => Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
}
