using CafConnect.Domain.Accounts;

namespace CafConnect.Domain.Households;

/// <summary>A person's role on one Caf file.</summary>
public enum HouseholdRole
{
    Allocataire = 1,
    Conjoint = 2,
    ConjointAllocataire = 3,
    Enfant = 4,
    Autre = 5,
}

/// <summary>A Caf file (dossier allocataire), identified by its 7-digit file number.</summary>
public sealed class Household
{
    public Guid Id { get; set; } = Guid.NewGuid();

    /// <summary>7 digits, leading zeros significant.</summary>
    public string FileNumber { get; set; } = string.Empty;

    /// <summary>Argon2id hash of the file's shared legacy 8-digit code, while it still exists.</summary>
    public string? LegacySecretHash { get; set; }

    /// <summary>
    /// A new shared code asked for by phone (« code confidentiel oublié », issue 16 item 9) and not used yet: Argon2id PHC
    /// string. It sits beside <see cref="LegacySecretHash"/>, which keeps working until this one is first used (the rule of
    /// docs/decisions.md #17: asking for a secret — anyone may, knowing a file number — never locks the household out).
    /// </summary>
    public string? PendingLegacySecretHash { get; set; }

    /// <summary>When the pending code was sent.</summary>
    public DateTimeOffset? PendingLegacySecretIssuedAt { get; set; }

    public DateTimeOffset CreatedAt { get; set; } = DateTimeOffset.UtcNow;

    /// <summary>
    /// A file the benefits system opened for a first-time applicant and is still processing (seed 000): its members are
    /// primo-demandeurs until the event <c>file_opened</c> clears it.
    /// </summary>
    public bool Pending { get; set; }

    public List<HouseholdMembership> Members { get; set; } = [];

    /// <summary>
    /// The one-partner rule: true when <paramref name="role"/> is a partner's (conjoint, conjoint allocataire) and the file
    /// already has a partner, so that nobody may join it with that role. Reads <see cref="Members"/>: load them. A write
    /// that adds a partner asks it again in its transaction, after locking the file's row (docs/decisions.md #54; the import
    /// too, #57).
    /// </summary>
    public bool HasPartnerAlreadyFor(HouseholdRole role) => HasPartnerAlreadyFor(role, Members.Select(m => m.Role));

    /// <summary>
    /// <see cref="HasPartnerAlreadyFor(HouseholdRole)"/> for a file known by its members' roles only (the import reads the
    /// stored files as roles, not as entities): the same rule.
    /// </summary>
    public static bool HasPartnerAlreadyFor(HouseholdRole role, IEnumerable<HouseholdRole> memberRoles) =>
        IsPartner(role) && memberRoles.Any(IsPartner);

    /// <summary>
    /// The one-partner rule at the invitation form: true when <paramref name="role"/> is a partner's and one of the file's
    /// <paramref name="openInvitations"/> (those <see cref="HouseholdInvitation.IsOpenAt"/> says are open) already invites
    /// a partner — both could be accepted. Asked again, with the members' rule, under the file's row lock when the
    /// invitation is stored (docs/decisions.md #57).
    /// </summary>
    public static bool HasPartnerInvitedFor(HouseholdRole role, IEnumerable<HouseholdInvitation> openInvitations) =>
        IsPartner(role) && openInvitations.Any(i => IsPartner(i.Role));

    /// <summary>
    /// The one-holder rule: true when <paramref name="role"/> is the allocataire's and another member already holds it, so
    /// that nobody joins the file with that role (a change of holder goes through the file's events). Reads
    /// <see cref="Members"/>: load them.
    /// </summary>
    public bool HasHolderAlreadyFor(HouseholdRole role) => HasHolderAlreadyFor(role, Members.Select(m => m.Role));

    /// <summary>
    /// <see cref="HasHolderAlreadyFor(HouseholdRole)"/> for a file known by the roles of its other members (the import,
    /// which leaves out the person it is importing again): the same rule.
    /// </summary>
    public static bool HasHolderAlreadyFor(HouseholdRole role, IEnumerable<HouseholdRole> otherMemberRoles) =>
        role == HouseholdRole.Allocataire && otherMemberRoles.Any(r => r == HouseholdRole.Allocataire);

    private static bool IsPartner(HouseholdRole role) => role is HouseholdRole.Conjoint or HouseholdRole.ConjointAllocataire;
}

/// <summary>A person on a file, with their role and, for a partner, whether the holder delegated the file.</summary>
public sealed class HouseholdMembership
{
    public Guid Id { get; set; } = Guid.NewGuid();
    public Guid HouseholdId { get; set; }
    public Household? Household { get; set; }
    public Guid PersonId { get; set; }
    public PersonAccount? Person { get; set; }
    public HouseholdRole Role { get; set; }
    public bool Delegated { get; set; }
    public DateTimeOffset JoinedAt { get; set; } = DateTimeOffset.UtcNow;

    /// <summary>On the holder's membership: when they last answered « Mes autorisations » (Oui or Non) for this file.</summary>
    public DateTimeOffset? DelegationChoiceAt { get; set; }

    /// <summary>On the holder's membership: when they last chose « Passer » on the delegation step of the login.</summary>
    public DateTimeOffset? DelegationStepSkippedAt { get; set; }
}

/// <summary>
/// The role names of the claims contract, the import format, the admin API's file events and the invitation form: one
/// table, read both ways.
/// </summary>
public static class HouseholdRoleNames
{
    private static readonly Dictionary<string, HouseholdRole> RolesByName = new(StringComparer.Ordinal)
    {
        ["allocataire"] = HouseholdRole.Allocataire,
        ["conjoint"] = HouseholdRole.Conjoint,
        ["conjoint_allocataire"] = HouseholdRole.ConjointAllocataire,
        ["enfant"] = HouseholdRole.Enfant,
        ["autre"] = HouseholdRole.Autre,
    };

    /// <summary>The role as the pages name it in a list or a table (« Mon compte », « Mon foyer »).</summary>
    public static string Label(HouseholdRole role) => role switch
    {
        HouseholdRole.Allocataire => "Responsable du dossier (allocataire)",
        HouseholdRole.Conjoint => "Conjoint(e)",
        HouseholdRole.ConjointAllocataire => "Conjoint(e) allocataire",
        HouseholdRole.Enfant => "Enfant",
        _ => "Autre membre du foyer",
    };

    /// <summary>The role an invitation offers, inside a sentence (« vous invite à le rejoindre en tant que conjoint(e) »).</summary>
    public static string InvitedAs(HouseholdRole role) => role switch
    {
        HouseholdRole.Conjoint => "conjoint(e)",
        HouseholdRole.Enfant => "enfant",
        _ => "autre personne du foyer",
    };

    /// <summary>Every role by its name (exact, lower case).</summary>
    public static IReadOnlyDictionary<string, HouseholdRole> ByName => RolesByName;

    /// <summary>The role a name designates; exact and case-sensitive, as the contract spells it.</summary>
    public static bool TryParse(string? name, out HouseholdRole role)
    {
        role = default;
        return name is not null && RolesByName.TryGetValue(name, out role);
    }

    /// <summary>The role's name in the claims contract and the import format.</summary>
    public static string ToClaimValue(this HouseholdRole role) =>
        RolesByName.FirstOrDefault(r => r.Value == role).Key ?? throw new ArgumentOutOfRangeException(nameof(role), role, null);
}
