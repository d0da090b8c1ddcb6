using CafConnect.Domain.Accounts;
using CafConnect.Domain.Households;

namespace CafConnect.Domain.Tests.Households;

/// <summary>Issue 16 item 8: a token from the file's shared code carries only what every adult who may use it may do.</summary>
public sealed class SharedFileCodePermissionsTests
{
    private static Household File(params (HouseholdRole Role, bool Delegated, bool Closed)[] members)
    {
        var file = new Household { FileNumber = "0412345" };
        foreach (var (role, delegated, closed) in members)
        {
            file.Members.Add(new HouseholdMembership { Role = role, Delegated = delegated, Person = new PersonAccount { ClosedAt = closed ? DateTimeOffset.UtcNow : null } });
        }
        return file;
    }

    [Test]
    public void A_holder_and_an_undelegated_partner_share_only_personal_data_contacts_and_separation() =>
        Assert.That(HouseholdPermissions.ForSharedFileCode(File((HouseholdRole.Allocataire, false, false), (HouseholdRole.Conjoint, false, false))),
            Is.EqualTo(new[] { HouseholdPermission.DonneesPersonnelles, HouseholdPermission.ModifierCoordonnees, HouseholdPermission.DeclarerSeparation }));

    [Test]
    public void A_delegated_partner_gives_the_delegated_partners_set() =>
        Assert.That(HouseholdPermissions.ForSharedFileCode(File((HouseholdRole.Allocataire, false, false), (HouseholdRole.Conjoint, true, false))),
            Is.EqualTo(HouseholdPermissions.For(HouseholdRole.Conjoint, delegated: true)));

    [Test]
    public void One_adult_gives_their_set_and_children_do_not_narrow_it() =>
        Assert.That(HouseholdPermissions.ForSharedFileCode(File((HouseholdRole.Allocataire, false, false), (HouseholdRole.Enfant, false, false))),
            Is.EqualTo(HouseholdPermissions.For(HouseholdRole.Allocataire, delegated: false)));

    [Test]
    public void A_closed_account_uses_no_code_and_a_file_without_adults_gives_nothing()
    {
        Assert.That(HouseholdPermissions.ForSharedFileCode(File((HouseholdRole.Allocataire, false, false), (HouseholdRole.Conjoint, false, true))),
            Is.EqualTo(HouseholdPermissions.For(HouseholdRole.Allocataire, delegated: false)));
        Assert.That(HouseholdPermissions.ForSharedFileCode(File((HouseholdRole.Enfant, false, false))), Is.Empty);
    }
}
