using CafConnect.Domain.Households;

namespace CafConnect.Domain.Tests.Households;

public class HouseholdRoleNamesTests
{
    [TestCase("allocataire", HouseholdRole.Allocataire)]
    [TestCase("conjoint", HouseholdRole.Conjoint)]
    [TestCase("conjoint_allocataire", HouseholdRole.ConjointAllocataire)]
    [TestCase("enfant", HouseholdRole.Enfant)]
    [TestCase("autre", HouseholdRole.Autre)]
    public void Each_role_has_one_name_read_both_ways(string name, HouseholdRole role)
    {
        Assert.That(HouseholdRoleNames.TryParse(name, out var parsed), Is.True);
        Assert.That(parsed, Is.EqualTo(role));
        Assert.That(role.ToClaimValue(), Is.EqualTo(name));
        Assert.That(HouseholdRoleNames.ByName[name], Is.EqualTo(role));
    }

    [TestCase(null)]
    [TestCase("")]
    [TestCase("Conjoint")]
    [TestCase(" conjoint")]
    [TestCase("conjoint-allocataire")]
    [TestCase("child")]
    public void Anything_else_is_no_role(string? name) => Assert.That(HouseholdRoleNames.TryParse(name, out _), Is.False);

    [Test]
    public void Every_role_is_named() =>
        Assert.That(Enum.GetValues<HouseholdRole>().Select(r => r.ToClaimValue()), Is.EquivalentTo(HouseholdRoleNames.ByName.Keys));

    [Test]
    public void An_undefined_role_has_no_name() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => ((HouseholdRole)99).ToClaimValue());
}
