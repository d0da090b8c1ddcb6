using CafConnect.Domain.Accounts;
using CafConnect.Domain.Households;

namespace CafConnect.Domain.Tests.Accounts;

public sealed class CivilStatusMatchingTests
{
    private static readonly PersonAccount Lea = new() { BirthName = "DUBOIS", GivenNames = "Léa Marie", BirthDate = new DateOnly(2009, 3, 12) };

    [TestCase("dubois", "lea", TestName = "Case and accents do not matter, the first given name alone is enough")]
    [TestCase(" Dubois ", "LÉA-MARIE", TestName = "Spaces are trimmed and hyphens count as spaces")]
    [TestCase("DUBOIS", "Léa Marie", TestName = "All the given names match")]
    public void Matching_civil_statuses(string birthName, string givenNames) =>
        Assert.That(CivilStatusMatching.Matches(Lea, birthName, givenNames, new DateOnly(2009, 3, 12)), Is.True);

    [TestCase("DUPOND", "Léa", "2009-03-12", TestName = "Another birth name does not match")]
    [TestCase("DUBOIS", "Marie", "2009-03-12", TestName = "The second given name alone does not match")]
    [TestCase("DUBOIS", "Léa", "2009-03-13", TestName = "Another birth date does not match")]
    [TestCase("", "", "2009-03-12", TestName = "Empty names never match")]
    public void Different_civil_statuses(string birthName, string givenNames, string birthDate) =>
        Assert.That(CivilStatusMatching.Matches(Lea, birthName, givenNames, DateOnly.Parse(birthDate)), Is.False);

    [TestCase("2010-06-15", "2026-06-14", 15, false, TestName = "The day before the 16th birthday is too young")]
    [TestCase("2010-06-15", "2026-06-15", 16, true, TestName = "The 16th birthday is old enough")]
    [TestCase("2008-02-29", "2024-02-28", 15, false, TestName = "Born on 29 February: still 15 on 28 February")]
    [TestCase("2008-02-29", "2024-02-29", 16, true, TestName = "Born on 29 February: 16 on 29 February")]
    public void Age_rule(string birthDate, string today, int age, bool oldEnough)
    {
        Assert.That(CivilStatusMatching.AgeOn(DateOnly.Parse(birthDate), DateOnly.Parse(today)), Is.EqualTo(age));
        Assert.That(CivilStatusMatching.IsOldEnough(DateOnly.Parse(birthDate), DateOnly.Parse(today)), Is.EqualTo(oldEnough));
    }

    [TestCase("France", true)]
    [TestCase(" FRANCE ", true)]
    [TestCase("99100", true)]
    [TestCase("Algérie", false)]
    [TestCase("99352", false)]
    public void Born_in_France(string country, bool expected) =>
        Assert.That(CivilStatusMatching.IsBornInFrance(country), Is.EqualTo(expected));

    [Test]
    public void An_invitation_matches_the_invitee_like_any_civil_status()
    {
        var invitation = new HouseholdInvitation { BirthName = "DUBOIS", GivenNames = "NINA", BirthDate = new DateOnly(2008, 1, 1) };
        Assert.That(invitation.Invites("Dubois", "Nina", new DateOnly(2008, 1, 1)), Is.True);
        Assert.That(invitation.Invites("Dubois", "Nina", new DateOnly(2008, 1, 2)), Is.False);
    }

    [TestCase("DUBOIS", "Léa", "2009-03-12", true, TestName = "Same person: the first given name of a record holding two")]
    [TestCase("DUBOIS", "Léa Marie Anne", "2009-03-12", false, TestName = "Not the same person: given names neither all nor the first")]
    [TestCase("Dubois", "LEA-MARIE", "2009-03-12", true, TestName = "Same person: accents, case and hyphens do not matter")]
    [TestCase("DUBOIS", "Léa", "2009-03-13", false, TestName = "Not the same person: another birth date")]
    [TestCase("LEFEBVRE", "Léa", "2009-03-12", false, TestName = "Not the same person: another birth name")]
    public void Is_same_person_compares_two_records(string birthName, string givenNames, string birthDate, bool expected) =>
        Assert.That(CivilStatusMatching.IsSamePerson(Lea, new CivilStatusClaim(birthName, givenNames, DateOnly.Parse(birthDate, System.Globalization.CultureInfo.InvariantCulture))), Is.EqualTo(expected));

    [Test]
    public void A_record_holding_only_the_first_given_name_is_the_same_person_as_a_claim_with_all_of_them() =>
        Assert.That(CivilStatusMatching.IsSamePerson(new PersonAccount { BirthName = "DUBOIS", GivenNames = "Léa", BirthDate = new DateOnly(2009, 3, 12) },
            new CivilStatusClaim("DUBOIS", "Léa Marie", new DateOnly(2009, 3, 12))), Is.True);
}
