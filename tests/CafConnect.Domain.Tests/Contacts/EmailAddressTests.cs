using CafConnect.Domain.Contacts;

namespace CafConnect.Domain.Tests.Contacts;

/// <summary>
/// One mailbox, one stored spelling (docs/decisions.md #49): the personal-contact rule compares spellings, so a mailbox
/// written two ways must not be two contacts (adversarial review, 5 December 2026, fifth session).
/// </summary>
public class EmailAddressTests
{
    [TestCase("Jean.Dupont@Exemple.FR", "Jean.Dupont@exemple.fr")]
    [TestCase("\"jean.dupont\"@exemple.fr", "jean.dupont@exemple.fr")]
    [TestCase("\"jean+caf\"@exemple.fr", "jean+caf@exemple.fr")]
    [TestCase("jean.dupont@exämple.fr", "jean.dupont@xn--exmple-cua.fr")]
    [TestCase("jean.dupont@XN--EXMPLE-CUA.fr", "jean.dupont@xn--exmple-cua.fr")]
    public void Is_stored_in_one_spelling(string input, string expected)
    {
        Assert.That(EmailAddress.TryNormalise(input, out var normalised, out var error), Is.True, error);
        Assert.That(normalised, Is.EqualTo(expected));
    }

    [TestCase("\"jean..dupont\"@exemple.fr")]
    [TestCase("\"jean,dupont\"@exemple.fr")]
    [TestCase("\"\"@exemple.fr")]
    [TestCase("jean.dupont@exemple..fr")]
    public void A_quoted_local_part_that_needs_its_quotes_or_a_broken_domain_is_refused(string input)
    {
        Assert.That(EmailAddress.TryNormalise(input, out _, out var error), Is.False);
        Assert.That(error, Is.EqualTo("Saisissez une adresse mail valide, par exemple prenom.nom@exemple.fr."));
    }
}
