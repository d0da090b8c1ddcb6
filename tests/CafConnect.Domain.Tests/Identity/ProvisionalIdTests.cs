using CafConnect.Domain.Identity;

namespace CafConnect.Domain.Tests.Identity;

public class ProvisionalIdTests
{
    [TestCase("seed example from the account summary", "P33392250", "P33392250")]
    [TestCase("seed example from the e-mail", "P17917680", "P17917680")]
    [TestCase("case-insensitive: lower-case p", "p50575506", "P50575506")]
    [TestCase("surrounding spaces trimmed", "  P12345678 ", "P12345678")]
    [TestCase("spaces inside tolerated", "P 1234 5678", "P12345678")]
    [TestCase("leading zeros kept", "P00000001", "P00000001")]
    [TestCase("all nines", "P99999999", "P99999999")]
    public void Accepts(string rule, string input, string expected)
    {
        Assert.That(ProvisionalId.TryParse(input, out var id, out _), Is.True, rule);
        Assert.That(id.Value, Is.EqualTo(expected), rule);
        Assert.That(id.ToString(), Is.EqualTo(expected), rule);
    }

    [TestCase("empty: null", null, ProvisionalIdError.Empty)]
    [TestCase("empty: blank", "  ", ProvisionalIdError.Empty)]
    [TestCase("prefix: digits only", "12345678", ProvisionalIdError.MissingPrefix)]
    [TestCase("prefix: other letter", "Q12345678", ProvisionalIdError.MissingPrefix)]
    [TestCase("prefix: P at the end", "12345678P", ProvisionalIdError.MissingPrefix)]
    [TestCase("length: 7 digits", "P1234567", ProvisionalIdError.InvalidLength)]
    [TestCase("length: 9 digits", "P123456789", ProvisionalIdError.InvalidLength)]
    [TestCase("length: P alone", "P", ProvisionalIdError.InvalidLength)]
    [TestCase("characters: letter O for zero", "P1234567O", ProvisionalIdError.InvalidCharacters)]
    [TestCase("characters: double P", "PP1234567", ProvisionalIdError.InvalidCharacters)]
    [TestCase("characters: hyphen", "P-12345678", ProvisionalIdError.InvalidCharacters)]
    public void Refuses(string rule, string? input, ProvisionalIdError expected)
    {
        Assert.That(ProvisionalId.TryParse(input, out _, out var error), Is.False, rule);
        Assert.That(error, Is.EqualTo(expected), rule);
    }

    [Test]
    public void Every_error_has_its_own_french_message() =>
        Assert.That(Enum.GetValues<ProvisionalIdError>().Select(ProvisionalId.MessageFor), Is.Unique.And.All.Contains("identifiant provisoire"));
}

public class FileNumberTests
{
    [TestCase("seed example: leading zero kept", "0260311", "0260311")]
    [TestCase("no leading zero", "1234567", "1234567")]
    [TestCase("spaces tolerated", " 026 03 11 ", "0260311")]
    [TestCase("all zeros but last", "0000001", "0000001")]
    public void Accepts(string rule, string input, string expected)
    {
        Assert.That(FileNumber.TryParse(input, out var number, out _), Is.True, rule);
        Assert.That(number.Value, Is.EqualTo(expected), rule);
    }

    [TestCase("empty", "", FileNumberError.Empty)]
    [TestCase("empty: null", null, FileNumberError.Empty)]
    [TestCase("leading zero dropped: 6 digits are not padded", "260311", FileNumberError.InvalidLength)]
    [TestCase("8 digits", "02603110", FileNumberError.InvalidLength)]
    [TestCase("letters", "026O311", FileNumberError.InvalidCharacters)]
    [TestCase("hyphen", "026-0311", FileNumberError.InvalidCharacters)]
    public void Refuses(string rule, string? input, FileNumberError expected)
    {
        Assert.That(FileNumber.TryParse(input, out _, out var error), Is.False, rule);
        Assert.That(error, Is.EqualTo(expected), rule);
    }

    [Test]
    public void Leading_zeros_are_significant() =>
        Assert.That(FileNumber.TryParse("0260311", out var a, out _) && FileNumber.TryParse("2603110", out var b, out _) && a != b, Is.True);

    [Test]
    public void Every_error_has_its_own_french_message() =>
        Assert.That(Enum.GetValues<FileNumberError>().Select(FileNumber.MessageFor), Is.Unique.And.All.Contains("numéro allocataire"));
}

public class LoginIdentifierTests
{
    [TestCase("NIR, 13 characters grouped", "1 97 06 78 646 489", LoginIdentifierKind.Nir, "1970678646489")]
    [TestCase("NIR, 15 characters with key", "197067864648990", LoginIdentifierKind.Nir, "1970678646489")]
    [TestCase("NIR, Corsica lower-case", "2 88 03 2a 004 012 35", LoginIdentifierKind.Nir, "288032A004012")]
    [TestCase("provisional id", "P33392250", LoginIdentifierKind.Provisional, "P33392250")]
    [TestCase("provisional id, lower-case with spaces", " p 3339 2250", LoginIdentifierKind.Provisional, "P33392250")]
    public void Accepts(string rule, string input, LoginIdentifierKind kind, string value)
    {
        Assert.That(LoginIdentifier.TryParse(input, out var id, out var error), Is.True, rule);
        Assert.That(error, Is.Empty);
        Assert.That(id.Kind, Is.EqualTo(kind), rule);
        Assert.That(id.Value, Is.EqualTo(value), rule);
        Assert.That(id.Nir.HasValue, Is.EqualTo(kind == LoginIdentifierKind.Nir));
        Assert.That(id.ProvisionalId.HasValue, Is.EqualTo(kind == LoginIdentifierKind.Provisional));
    }

    [TestCase("empty", "", LoginIdentifier.EmptyMessage)]
    [TestCase("empty: null", null, LoginIdentifier.EmptyMessage)]
    [TestCase("NIR with wrong key → NIR message", "197067864648991", "Le numéro de Sécurité sociale n'est pas valide : la clé ne correspond pas.")]
    [TestCase("NIR too short → NIR message", "19706786", "Le numéro de Sécurité sociale doit comporter 13 caractères.")]
    [TestCase("P with 7 digits → provisional id message", "P1234567", "L'identifiant provisoire comporte la lettre P suivie de 8 chiffres.")]
    [TestCase("file number is not a login identifier", "0260311", "Le numéro de Sécurité sociale doit comporter 13 caractères.")]
    public void Refuses(string rule, string? input, string message)
    {
        Assert.That(LoginIdentifier.TryParse(input, out _, out var error), Is.False, rule);
        Assert.That(error, Is.EqualTo(message), rule);
    }

    [Test]
    public void A_nir_identifier_is_masked_when_logged()
    {
        LoginIdentifier.TryParse("1 97 06 78 646 489", out var id, out _);
        Assert.That(id.ToString(), Is.EqualTo("**********489"));
    }
}
