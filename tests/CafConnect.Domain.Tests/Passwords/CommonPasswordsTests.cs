using CafConnect.Domain.Passwords;

namespace CafConnect.Domain.Tests.Passwords;

public class CommonPasswordsTests
{
    [Test]
    public void Holds_at_least_ten_thousand_entries() =>
        Assert.That(CommonPasswords.Count, Is.GreaterThanOrEqualTo(10_000));

    [TestCase("Azerty123")]
    [TestCase("azerty123")]
    [TestCase("AZERTY123")]
    [TestCase("aZeRtY123")]
    [TestCase("Password1")]
    [TestCase("PASSWORD1")]
    [TestCase("Motdepasse1")]
    [TestCase("Qwerty123")]
    [TestCase("Soleil123")]
    [TestCase("Marseille13")]
    [TestCase("Bonjour2020")]
    [TestCase("Camille2010")]
    [TestCase("Psg12345")]
    [TestCase("Doudou123")]
    [TestCase("Loulou01")]
    [TestCase("Jetaime1")]
    [TestCase("123Soleil")]
    [TestCase("1q2w3E4r")]
    public void Contains_common_passwords_whatever_the_case(string password) =>
        Assert.That(CommonPasswords.Contains(password), Is.True);

    [TestCase(null)]
    [TestCase("")]
    [TestCase("Xk9mPq2wZt")]
    [TestCase("Azerty123Moustache")]
    [TestCase("azerty")]
    public void Does_not_contain_other_strings(string? password) =>
        Assert.That(CommonPasswords.Contains(password), Is.False);

    [Test]
    public void Every_entry_is_lower_case_and_would_pass_the_composition_rules_once_capitalised()
    {
        foreach (var entry in CommonPasswords.All)
        {
            Assert.That(entry, Does.Match("^[a-z0-9]{8,24}$"), entry);
            var capitalised = CapitaliseFirstLetter(entry);
            Assert.That(PersonalPasswordPolicy.ChecklistRules.All(r => r.IsSatisfiedBy(capitalised)), Is.True, capitalised);
        }
    }

    [Test]
    public void Resource_file_is_sorted_without_duplicates()
    {
        using var stream = typeof(CommonPasswords).Assembly.GetManifestResourceStream(CommonPasswords.ResourceName)!;
        using var reader = new StreamReader(stream);
        var lines = reader.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => !l.StartsWith('#')).ToList();
        Assert.That(lines, Has.Count.EqualTo(CommonPasswords.Count));
        Assert.That(lines, Is.Ordered.Using((IComparer<string>)StringComparer.Ordinal));
    }

    private static string CapitaliseFirstLetter(string entry)
    {
        var i = entry.IndexOfAny("abcdefghijklmnopqrstuvwxyz".ToCharArray());
        return entry[..i] + char.ToUpperInvariant(entry[i]) + entry[(i + 1)..];
    }
}
