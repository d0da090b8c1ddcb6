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

    public DateTimeOffset CreatedAt { get; set; } = DateTimeOffset.UtcNow;

    /// <summary>
    /// A file the benefits system opened for a first-time applicant and is still processing (seed 000): its members are
    /// primo-demandeurs until the event <c>file_opened</c> clears it.
    /// </summary>
    public bool Pending { get; set; }

    public List<HouseholdMembership> Members { get; set; } = [];
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

public static class HouseholdRoleNames
{
    /// <summary>The role names of the claims contract and the import format.</summary>
    public static string ToClaimValue(this HouseholdRole role) => role switch
    {
        HouseholdRole.Allocataire => "allocataire",
        HouseholdRole.Conjoint => "conjoint",
        HouseholdRole.ConjointAllocataire => "conjoint_allocataire",
        HouseholdRole.Enfant => "enfant",
        HouseholdRole.Autre => "autre",
        _ => throw new ArgumentOutOfRangeException(nameof(role), role, null),
    };
}
