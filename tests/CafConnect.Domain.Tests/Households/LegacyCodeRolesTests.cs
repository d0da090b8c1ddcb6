using CafConnect.Domain.Households;

namespace CafConnect.Domain.Tests.Households;

public class LegacyCodeRolesTests
{
    [TestCase(HouseholdRole.Allocataire, true)]
    [TestCase(HouseholdRole.Conjoint, true)]
    [TestCase(HouseholdRole.ConjointAllocataire, true)]
    [TestCase(HouseholdRole.Enfant, false)]
    [TestCase(HouseholdRole.Autre, false)]
    public void The_holder_and_the_partner_share_the_file_code_children_and_others_do_not(HouseholdRole role, bool shares)
    {
        Assert.That(LegacyCodeRoles.Contains(role), Is.EqualTo(shares));
        Assert.That(LegacyCodeRoles.All.Contains(role), Is.EqualTo(shares), "the list and the test agree");
    }
}
