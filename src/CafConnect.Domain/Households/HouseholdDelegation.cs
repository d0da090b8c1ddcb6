namespace CafConnect.Domain.Households;

/// <summary>
/// When the delegation question ("Mes autorisations") applies (seed 003/004): only to the holder (allocataire) of a file
/// where they live as a couple, i.e. the file also has a <see cref="HouseholdRole.Conjoint"/>. Never to the partner, never
/// to a single holder, and not when the partner is a <see cref="HouseholdRole.ConjointAllocataire"/> (who already has the
/// holder's rights).
/// </summary>
public static class HouseholdDelegation
{
    /// <summary>The partner the holder may delegate to on this file, or null when the question does not apply.</summary>
    public static HouseholdMembership? DelegablePartner(HouseholdMembership holder)
    {
        if (holder.Role != HouseholdRole.Allocataire || holder.Household is null)
        {
            return null;
        }
        // One partner per file; should the import ever bring two, the oldest one is the couple.
        return holder.Household.Members
            .Where(m => m.Role == HouseholdRole.Conjoint && m.PersonId != holder.PersonId)
            .OrderBy(m => m.JoinedAt)
            .FirstOrDefault();
    }

    /// <summary>The person's files on which they are a holder living as a couple, with the partner.</summary>
    public static IEnumerable<(HouseholdMembership Holder, HouseholdMembership Partner)> CouplesHeldBy(Accounts.PersonAccount person) =>
        person.Memberships
            .Select(m => (Holder: m, Partner: DelegablePartner(m)))
            .Where(c => c.Partner is not null)
            .OrderBy(c => c.Holder.Household!.FileNumber, StringComparer.Ordinal)
            .Select(c => (c.Holder, c.Partner!));

    /// <summary>
    /// Whether the login must ask the question: a holder in a couple who has not answered it for the current partner
    /// (a new partner on the file asks it again), and did not choose « Passer » within <paramref name="reminderInterval"/>.
    /// </summary>
    public static bool ChoicePending(Accounts.PersonAccount person, DateTimeOffset now, TimeSpan reminderInterval) =>
        CouplesHeldBy(person).Any(c => NeedsChoice(c.Holder, c.Partner, now, reminderInterval));

    public static bool NeedsChoice(HouseholdMembership holder, HouseholdMembership partner, DateTimeOffset now, TimeSpan reminderInterval)
    {
        var answered = holder.DelegationChoiceAt is { } at && at >= partner.JoinedAt;
        var recentlySkipped = holder.DelegationStepSkippedAt is { } skipped && skipped >= partner.JoinedAt && now - skipped < reminderInterval;
        return !answered && !recentlySkipped;
    }
}
