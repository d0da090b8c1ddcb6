namespace CafConnect.Domain.Households;

/// <summary>
/// Who may use a file's shared legacy 8-digit code (seed 003): the holder and the partner, each once, with their own
/// NIR, for their own first login. The login reads it to accept the code; the file events read it to know whose
/// access the code still opens (a separation or a new member revokes or re-issues it).
/// </summary>
public static class LegacyCodeRoles
{
    public static IReadOnlyList<HouseholdRole> All { get; } =
        [HouseholdRole.Allocataire, HouseholdRole.Conjoint, HouseholdRole.ConjointAllocataire];

    /// <summary>Whether a member with this role signs in with the file's legacy code before choosing a password.</summary>
    public static bool Contains(HouseholdRole role) => All.Contains(role);
}
