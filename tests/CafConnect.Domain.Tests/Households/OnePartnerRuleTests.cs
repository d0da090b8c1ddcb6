using CafConnect.Domain.Households;

namespace CafConnect.Domain.Tests.Households;

/// <summary>
/// The one-partner rule (docs/decisions.md #54, #57): its three forms — a file's members, a file read as roles (the
/// import), a file's open invitations (the invitation form) — answer alike.
/// </summary>
public sealed class OnePartnerRuleTests
{
    private static readonly HouseholdRole[] Partners = [HouseholdRole.Conjoint, HouseholdRole.ConjointAllocataire];
    private static readonly HouseholdRole[] Others = [HouseholdRole.Allocataire, HouseholdRole.Enfant, HouseholdRole.Autre];

    [Test]
    public void A_partner_is_refused_only_when_the_file_has_one_and_the_three_forms_agree(
        [ValueSource(nameof(AllRoles))] HouseholdRole joining, [ValueSource(nameof(AllRoles))] HouseholdRole present)
    {
        var household = new Household { Members = [new HouseholdMembership { Role = HouseholdRole.Allocataire }, new HouseholdMembership { Role = present }] };
        var invited = new[] { new HouseholdInvitation { Role = present } };
        var expected = Partners.Contains(joining) && Partners.Contains(present);

        Assert.Multiple(() =>
        {
            Assert.That(household.HasPartnerAlreadyFor(joining), Is.EqualTo(expected), "members");
            Assert.That(Household.HasPartnerAlreadyFor(joining, household.Members.Select(m => m.Role)), Is.EqualTo(expected), "roles");
            Assert.That(Household.HasPartnerInvitedFor(joining, invited), Is.EqualTo(expected), "open invitations");
        });
    }

    [Test]
    public void No_invitation_open_leaves_a_partner_free_to_be_invited() =>
        Assert.That(Household.HasPartnerInvitedFor(HouseholdRole.Conjoint, []), Is.False);

    private static IEnumerable<HouseholdRole> AllRoles() => Partners.Concat(Others);
}
