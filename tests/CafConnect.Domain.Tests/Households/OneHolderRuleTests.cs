using CafConnect.Domain.Households;

namespace CafConnect.Domain.Tests.Households;

/// <summary>
/// The one-holder rule: a file has one allocataire. Its two forms — a file's members (the admin API's
/// <c>person_added</c>), the roles of a file's other members (the import) — answer alike.
/// </summary>
public sealed class OneHolderRuleTests
{
    [Test]
    public void A_holder_is_refused_only_when_the_file_has_one_and_the_two_forms_agree(
        [Values] HouseholdRole joining, [Values] HouseholdRole present)
    {
        var household = new Household { Members = [new HouseholdMembership { Role = present }] };
        var expected = joining == HouseholdRole.Allocataire && present == HouseholdRole.Allocataire;

        Assert.Multiple(() =>
        {
            Assert.That(household.HasHolderAlreadyFor(joining), Is.EqualTo(expected), "members");
            Assert.That(Household.HasHolderAlreadyFor(joining, household.Members.Select(m => m.Role)), Is.EqualTo(expected), "roles");
        });
    }

    [Test]
    public void A_file_without_members_takes_a_holder() =>
        Assert.That(new Household().HasHolderAlreadyFor(HouseholdRole.Allocataire), Is.False);
}
