using CafConnect.Domain.Accounts;

namespace CafConnect.Domain.Tests.Accounts;

public class BirthDateInputTests
{
    private static readonly DateOnly Today = new(2026, 12, 4);

    [TestCase("09/05/1990")]
    [TestCase("9/5/1990")]
    [TestCase("09-05-1990")]
    [TestCase("09.05.1990")]
    [TestCase("1990-05-09")]
    [TestCase("  09/05/1990  ")]
    public void Accepts_the_forms_people_type_and_the_date_picker_sends(string input)
    {
        Assert.That(BirthDateInput.TryParse(input, Today, out var date, out _), Is.True);
        Assert.That(date, Is.EqualTo(new DateOnly(1990, 5, 9)));
    }

    [TestCase(null, BirthDateError.Empty)]
    [TestCase("   ", BirthDateError.Empty)]
    [TestCase("05/09/90", BirthDateError.InvalidFormat)]
    [TestCase("31/02/1990", BirthDateError.InvalidFormat)]
    [TestCase("1990/05/09", BirthDateError.InvalidFormat)]
    [TestCase("05/12/2026", BirthDateError.OutOfRange)]
    [TestCase("31/12/1899", BirthDateError.OutOfRange)]
    public void Refuses_with_the_reason(string? input, BirthDateError expected)
    {
        Assert.That(BirthDateInput.TryParse(input, Today, out _, out var error), Is.False);
        Assert.That(error, Is.EqualTo(expected));
    }

    [Test]
    public void Today_and_1900_are_the_bounds()
    {
        Assert.That(BirthDateInput.TryParse("04/12/2026", Today, out _, out _), Is.True);
        Assert.That(BirthDateInput.TryParse("01/01/1900", Today, out _, out _), Is.True);
    }

    [Test]
    public void The_messages_are_the_forms_French_ones()
    {
        Assert.That(BirthDateInput.MessageFor(BirthDateError.Empty), Is.EqualTo("Saisissez la date de naissance."));
        Assert.That(BirthDateInput.MessageFor(BirthDateError.Empty, ownBirthDate: true), Is.EqualTo("Saisissez votre date de naissance."));
        Assert.That(BirthDateInput.MessageFor(BirthDateError.InvalidFormat), Is.EqualTo("Saisissez une date de naissance valide au format JJ/MM/AAAA, par exemple 09/05/1990."));
        Assert.That(BirthDateInput.MessageFor(BirthDateError.OutOfRange), Is.EqualTo("La date de naissance doit être passée et postérieure à 1900."));
    }
}
