using CafConnect.Domain.Accounts;
using CafConnect.Domain.Households;
using CafConnect.Domain.Passwords;

namespace CafConnect.Domain.Tests.Households;

/// <summary>Who is asked « Mes autorisations », and when the login asks it (RequiredAction.DelegationChoice).</summary>
public class HouseholdDelegationTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 24, 10, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Interval = TimeSpan.FromDays(30);

    private static (PersonAccount Holder, PersonAccount Partner, Household File) Couple(HouseholdRole partnerRole = HouseholdRole.Conjoint)
    {
        var file = new Household { FileNumber = "0260311" };
        var holder = Member(file, HouseholdRole.Allocataire);
        var partner = Member(file, partnerRole);
        return (holder, partner, file);
    }

    private static PersonAccount Member(Household file, HouseholdRole role, DateTimeOffset? joinedAt = null)
    {
        var person = new PersonAccount
        {
            AcceptedTermsVersion = 1,
            MobilePhone = "+33600000000",
            MobilePhoneVerified = true,
            PasswordSetAt = Now.AddDays(-1),
            CredentialKind = CredentialKind.Personal,
        };
        var membership = new HouseholdMembership { Household = file, HouseholdId = file.Id, Person = person, PersonId = person.Id, Role = role, JoinedAt = joinedAt ?? Now.AddYears(-1) };
        file.Members.Add(membership);
        person.Memberships.Add(membership);
        return person;
    }

    private static IReadOnlyList<RequiredAction> Evaluate(PersonAccount person) =>
        RequiredActionTriggers.Evaluate(person, new RequiredActionContext(1, Now, PasswordKind.Personal, new PasswordExpiryOptions(), TimeSpan.FromDays(30)));

    [Test]
    public void A_holder_in_a_couple_who_never_chose_is_asked_last()
    {
        var (holder, _, _) = Couple();
        holder.AcceptedTermsVersion = null;

        Assert.That(Evaluate(holder), Is.EqualTo(new[] { RequiredAction.AcceptTerms, RequiredAction.DelegationChoice }));
    }

    [Test]
    public void A_holder_who_answered_is_not_asked_again()
    {
        var (holder, _, _) = Couple();
        holder.Memberships[0].DelegationChoiceAt = Now.AddDays(-200);

        Assert.That(Evaluate(holder), Does.Not.Contain(RequiredAction.DelegationChoice));
    }

    [Test]
    public void A_new_partner_on_the_file_asks_the_question_again()
    {
        var (holder, _, file) = Couple();
        holder.Memberships[0].DelegationChoiceAt = Now.AddDays(-200);
        file.Members.RemoveAll(m => m.Role == HouseholdRole.Conjoint);
        Member(file, HouseholdRole.Conjoint, joinedAt: Now.AddDays(-10));

        Assert.That(Evaluate(holder), Does.Contain(RequiredAction.DelegationChoice));
    }

    [Test]
    public void Passer_keeps_the_question_away_for_the_reminder_interval_only()
    {
        var (holder, _, _) = Couple();
        holder.Memberships[0].DelegationStepSkippedAt = Now.AddDays(-29);
        Assert.That(Evaluate(holder), Does.Not.Contain(RequiredAction.DelegationChoice), "skipped 29 days ago");

        holder.Memberships[0].DelegationStepSkippedAt = Now.AddDays(-31);
        Assert.That(Evaluate(holder), Does.Contain(RequiredAction.DelegationChoice), "skipped 31 days ago");
    }

    [Test]
    public void The_partner_is_never_asked()
    {
        var (_, partner, _) = Couple();

        Assert.That(Evaluate(partner), Does.Not.Contain(RequiredAction.DelegationChoice));
        Assert.That(HouseholdDelegation.CouplesHeldBy(partner), Is.Empty);
    }

    [Test]
    public void A_single_holder_is_never_asked()
    {
        var file = new Household { FileNumber = "1234567" };
        var single = Member(file, HouseholdRole.Allocataire);
        Member(file, HouseholdRole.Enfant);

        Assert.That(Evaluate(single), Does.Not.Contain(RequiredAction.DelegationChoice));
        Assert.That(HouseholdDelegation.CouplesHeldBy(single), Is.Empty);
    }

    [Test]
    public void A_holder_whose_partner_is_conjoint_allocataire_is_not_asked()
    {
        var (holder, _, _) = Couple(HouseholdRole.ConjointAllocataire);

        Assert.That(Evaluate(holder), Does.Not.Contain(RequiredAction.DelegationChoice));
    }

    [Test]
    public void The_delegable_partner_is_the_conjoint_of_that_file()
    {
        var (holder, partner, _) = Couple();

        var couple = HouseholdDelegation.CouplesHeldBy(holder).Single();

        Assert.That(couple.Partner.Person, Is.SameAs(partner));
        Assert.That(couple.Holder.Person, Is.SameAs(holder));
    }
}
