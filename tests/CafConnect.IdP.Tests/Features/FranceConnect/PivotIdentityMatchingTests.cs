using CafConnect.Domain.Accounts;
using CafConnect.IdP.Features.FranceConnect;

namespace CafConnect.IdP.Tests.Features.FranceConnect;

/// <summary>The matching rule (docs/decisions.md, "FranceConnect: the matching rule"), element by element.</summary>
public sealed class PivotIdentityMatchingTests
{
    // Jeanne DUPONT as the Caf holds her: NIR 2 85 03 75 112 048 — a woman born in March 1985 in Paris 12e (75112).
    private static PersonAccount Jeanne() => new()
    {
        Nir = "2850375112048", Civility = Civility.Madame, BirthName = "DUPONT", GivenNames = "Jeanne", BirthDate = new DateOnly(1985, 3, 14),
    };

    private static PivotIdentity Certified(string givenNames = "Jeanne Marie", string familyName = "DUPONT", string birthDate = "1985-03-14",
        string gender = "female", string birthPlace = "75112", string birthCountry = "99100") =>
        new("sub", givenNames, familyName, DateOnly.Parse(birthDate, System.Globalization.CultureInfo.InvariantCulture), gender, birthPlace, birthCountry);

    [Test]
    public void The_whole_pivot_agreeing_matches() => Assert.That(PivotIdentityMatching.Matches(Jeanne(), Certified()), Is.True);

    [TestCase("jeanne marie", "dupont", TestName = "Lower case matches")]
    [TestCase("Jéanne", "Dupônt", TestName = "Accents are ignored")]
    [TestCase("Jeanne", "DUPONT", TestName = "Exactly the given names held")]
    public void Case_accents_and_extra_given_names_are_not_differences(string givenNames, string familyName) =>
        Assert.That(PivotIdentityMatching.Matches(Jeanne(), Certified(givenNames, familyName)), Is.True);

    [Test]
    public void Hyphens_and_spaces_in_names_are_the_same()
    {
        var person = Jeanne();
        person.GivenNames = "Marie-Claire";
        person.BirthName = "DUPONT DURAND";
        Assert.That(PivotIdentityMatching.Matches(person, Certified("Marie Claire", "Dupont-Durand")), Is.True);
    }

    [TestCase("Marie Jeanne", "DUPONT", "1985-03-14", "female", "75112", "99100", TestName = "First given name differs")]
    [TestCase("Jeanne", "DUPOND", "1985-03-14", "female", "75112", "99100", TestName = "Birth name differs")]
    [TestCase("Jeanne", "DUPONT", "1985-03-15", "female", "75112", "99100", TestName = "Birth date differs")]
    [TestCase("Jeanne", "DUPONT", "1985-03-14", "male", "75112", "99100", TestName = "Gender differs")]
    [TestCase("Jeanne", "DUPONT", "1985-03-14", "female", "75111", "99100", TestName = "Birth commune differs from the NIR")]
    [TestCase("Jeanne", "DUPONT", "1985-03-14", "female", "", "99351", TestName = "Born abroad for FranceConnect, in Paris for the NIR")]
    [TestCase("Jeanne", "DUPONT", "1985-03-14", "female", "75112", "", TestName = "No birth country")]
    public void Any_element_of_the_pivot_that_disagrees_is_no_match(string given, string family, string birthDate, string gender, string place, string country) =>
        Assert.That(PivotIdentityMatching.Matches(Jeanne(), Certified(given, family, birthDate, gender, place, country)), Is.False);

    [Test]
    public void Given_names_held_beyond_the_certified_ones_are_no_match()
    {
        var person = Jeanne();
        person.GivenNames = "Jeanne Marie Louise";
        Assert.That(PivotIdentityMatching.Matches(person, Certified("Jeanne Marie")), Is.False);
    }

    [Test]
    public void A_closed_account_never_matches()
    {
        var person = Jeanne();
        person.ClosedAt = DateTimeOffset.UtcNow;
        Assert.That(PivotIdentityMatching.Matches(person, Certified()), Is.False);
    }

    [Test]
    public void Unknown_civility_falls_back_on_the_NIR_sex_digit()
    {
        var person = Jeanne();
        person.Civility = Civility.Unknown;
        Assert.That(PivotIdentityMatching.Matches(person, Certified()), Is.True);
        Assert.That(PivotIdentityMatching.Matches(person, Certified(gender: "male")), Is.False);
    }

    [Test]
    public void Corsica_before_1976_in_the_NIR_matches_2A_or_2B_with_the_same_commune()
    {
        var person = Jeanne();
        person.Nir = "2850320004048"; // département 20, commune 004
        Assert.That(PivotIdentityMatching.Matches(person, Certified(birthPlace: "2A004")), Is.True);
        Assert.That(PivotIdentityMatching.Matches(person, Certified(birthPlace: "2B004")), Is.True);
        Assert.That(PivotIdentityMatching.Matches(person, Certified(birthPlace: "2A005")), Is.False);
    }

    [Test]
    public void A_birth_abroad_is_the_NIR_country_code()
    {
        var person = Jeanne();
        person.Nir = "2850399351048"; // 99 + 351 (Algeria)
        Assert.That(PivotIdentityMatching.Matches(person, Certified(birthPlace: "", birthCountry: "99351")), Is.True);
        Assert.That(PivotIdentityMatching.Matches(person, Certified(birthPlace: "", birthCountry: "99352")), Is.False);
    }

    [Test]
    public void Without_NIR_the_birth_place_must_be_held_as_INSEE_codes()
    {
        var person = Jeanne();
        person.Nir = null;
        person.ProvisionalId = "P33392250";
        person.BirthCountry = "99351";
        Assert.That(PivotIdentityMatching.Matches(person, Certified(birthPlace: "", birthCountry: "99351")), Is.True, "a country code held");

        person.BirthCountry = "ALGERIE";
        Assert.That(PivotIdentityMatching.Matches(person, Certified(birthPlace: "", birthCountry: "99351")), Is.False, "a country name is not compared");

        person.BirthCountry = "FRANCE";
        person.BirthCity = "75112";
        Assert.That(PivotIdentityMatching.Matches(person, Certified()), Is.True, "France and a commune code held");
        person.BirthCity = "PARIS";
        Assert.That(PivotIdentityMatching.Matches(person, Certified()), Is.False, "a commune name is not compared");
    }
}
