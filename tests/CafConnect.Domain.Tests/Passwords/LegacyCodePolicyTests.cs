using CafConnect.Domain.Passwords;
using static CafConnect.Domain.Passwords.PasswordRule;

namespace CafConnect.Domain.Tests.Passwords;

/// <summary>
/// Legacy 8-digit code rules. Context "household": NIR 1970678646489 (prefix 19706786), file 0260311,
/// birth dates 15/06/1997 and 09/03/2021, phones 06 12 15 45 45 and +33 6 45 45 44 55.
/// </summary>
public class LegacyCodePolicyTests
{
    [TestCase("no pattern", "24681357")]
    [TestCase("no pattern", "73915284")]
    [TestCase("no pattern", "10293847")]
    [TestCase("identical: two blocks of identical digits are fine", "55554444")]
    [TestCase("identical: seven identical digits are fine", "11111112")]
    [TestCase("sequential: a run broken at the end is fine", "12345670")]
    [TestCase("sequential: a run broken in the middle is fine", "12345778")]
    [TestCase("sequential: step 2 is not a run of successive digits", "13579135")]
    [TestCase("sequential: descending run broken at the end", "98765431")]
    [TestCase("birth date: one day off", "15061998")]
    [TestCase("birth date: MMDDYYYY is not a French date form", "06151997")]
    [TestCase("phone: last 8 digits off by one", "12154546")]
    [TestCase("phone: first 8 digits of the national form", "06121545")]
    [TestCase("NIR: prefix off by one", "19706787")]
    [TestCase("NIR: last 8 digits of the NIR", "78646489")]
    [TestCase("file number: only 6 of its digits", "26031100")]
    public void Accepts(string rule, string code)
    {
        var result = LegacyCodePolicy.Check(code, TestContexts.Household);
        Assert.That(result.IsAccepted, Is.True, $"{rule}: {result}");
    }

    [TestCase("required: null", null, new[] { Required })]
    [TestCase("required: empty", "", new[] { Required })]
    [TestCase("format: 7 digits", "1234567", new[] { LegacyFormat })]
    [TestCase("format: 9 digits", "123456789", new[] { LegacyFormat })]
    [TestCase("format: a letter", "1234567a", new[] { LegacyFormat })]
    [TestCase("format: letters only", "abcdefgh", new[] { LegacyFormat })]
    [TestCase("format: inner space", "1234 5678", new[] { LegacyFormat })]
    [TestCase("format: leading space is not trimmed", " 24681357", new[] { LegacyFormat })]
    [TestCase("format: full-width digits", "２４６８１３５７", new[] { LegacyFormat })]
    [TestCase("format: personal-style password", "Azerty123", new[] { LegacyFormat })]
    [TestCase("identical: 00000000", "00000000", new[] { LegacyIdenticalDigits })]
    [TestCase("identical: 11111111", "11111111", new[] { LegacyIdenticalDigits })]
    [TestCase("identical: 55555555", "55555555", new[] { LegacyIdenticalDigits })]
    [TestCase("identical: 99999999", "99999999", new[] { LegacyIdenticalDigits })]
    [TestCase("sequential: ascending 12345678", "12345678", new[] { LegacySequentialDigits })]
    [TestCase("sequential: ascending 23456789", "23456789", new[] { LegacySequentialDigits })]
    [TestCase("sequential: ascending 01234567", "01234567", new[] { LegacySequentialDigits })]
    [TestCase("sequential: descending 87654321", "87654321", new[] { LegacySequentialDigits })]
    [TestCase("sequential: descending 98765432", "98765432", new[] { LegacySequentialDigits })]
    [TestCase("sequential: descending 76543210", "76543210", new[] { LegacySequentialDigits })]
    [TestCase("sequential: ascending wrapping 90123456", "90123456", new[] { LegacySequentialDigits })]
    [TestCase("sequential: ascending wrapping 89012345", "89012345", new[] { LegacySequentialDigits })]
    [TestCase("sequential: ascending wrapping 67890123", "67890123", new[] { LegacySequentialDigits })]
    [TestCase("sequential: ascending wrapping 34567890", "34567890", new[] { LegacySequentialDigits })]
    [TestCase("sequential: descending wrapping 10987654", "10987654", new[] { LegacySequentialDigits })]
    [TestCase("sequential: descending wrapping 21098765", "21098765", new[] { LegacySequentialDigits })]
    [TestCase("sequential: descending wrapping 09876543", "09876543", new[] { LegacySequentialDigits })]
    [TestCase("birth date DDMMYYYY of the person", "15061997", new[] { LegacyBirthDate })]
    [TestCase("birth date YYYYMMDD of the person", "19970615", new[] { LegacyBirthDate })]
    [TestCase("birth date DDMMYYYY of a household member", "09032021", new[] { LegacyBirthDate })]
    [TestCase("birth date YYYYMMDD of a household member", "20210309", new[] { LegacyBirthDate })]
    [TestCase("phone: last 8 digits of 06 12 15 45 45", "12154545", new[] { LegacyPhoneNumber })]
    [TestCase("phone: last 8 digits of +33 6 45 45 44 55", "45454455", new[] { LegacyPhoneNumber })]
    [TestCase("NIR: first 8 digits", "19706786", new[] { LegacyNirPrefix })]
    [TestCase("file number with a leading 0", "00260311", new[] { LegacyFileNumber })]
    [TestCase("file number followed by a digit", "02603115", new[] { LegacyFileNumber })]
    [TestCase("file number preceded by a digit", "90260311", new[] { LegacyFileNumber })]
    public void Refuses(string rule, string? code, PasswordRule[] expected)
    {
        var result = LegacyCodePolicy.Check(code, TestContexts.Household);
        Assert.That(result.IsAccepted, Is.False, rule);
        Assert.That(result.Violations.Select(v => v.Rule), Is.EqualTo(expected), rule);
        Assert.That(result.Violations.Select(v => v.Message), Is.EqualTo(expected.Select(PasswordRules.MessageFor)), rule);
    }

    [TestCase("NIR: Corsican prefix read with 20", "corsican", "28803200", LegacyNirPrefix)]
    [TestCase("NIR: Corsican prefix read with 19 (key form)", "corsican", "28803190", LegacyNirPrefix)]
    [TestCase("file number: stored without its leading zero", "file number without its leading zero", "00260311", LegacyFileNumber)]
    [TestCase("file number: stored padded to 8 digits", "file number padded to 8 digits", "00260311", LegacyFileNumber)]
    [TestCase("phone: written 0033 (0)6.11.22.33.44", "phone written 0033", "11223344", LegacyPhoneNumber)]
    public void Refuses_with_data_in_other_forms(string rule, string context, string code, PasswordRule expected) =>
        Assert.That(LegacyCodePolicy.Check(code, TestContexts.For(context)).Violations.Single().Rule, Is.EqualTo(expected), rule);

    [Test]
    public void Reports_every_rule_that_fails()
    {
        // 12345678 is a run, the end of a known phone number and contains the file number: all reasons are given.
        var context = new PasswordContext { PhoneNumbers = ["01 12 34 56 78"], FileNumbers = ["1234567"] };
        Assert.That(LegacyCodePolicy.Check("12345678", context).Violations.Select(v => v.Rule),
            Is.EqualTo(new[] { LegacySequentialDigits, LegacyPhoneNumber, LegacyFileNumber }));
    }

    [Test]
    public void Without_context_only_the_pattern_rules_apply()
    {
        Assert.That(LegacyCodePolicy.Check("15061997").IsAccepted, Is.True);
        Assert.That(LegacyCodePolicy.Check("90123456").Violations.Single().Rule, Is.EqualTo(LegacySequentialDigits));
    }

    /// <summary>The 20 runs of 8 successive digits, wrapping included, built independently of the policy.</summary>
    private static readonly HashSet<string> AllRuns = Enumerable.Range(0, 10).SelectMany(start => new[]
    {
        string.Concat(Enumerable.Range(0, 8).Select(i => (char)('0' + (start + i) % 10))),
        string.Concat(Enumerable.Range(0, 8).Select(i => (char)('0' + (start - i + 10) % 10))),
    }).ToHashSet();

    [Test]
    public void Exactly_twenty_codes_are_runs_of_successive_digits_wrapping_included()
    {
        Assert.That(AllRuns, Has.Count.EqualTo(20));
        Assert.That(AllRuns, Has.All.Matches<string>(c => LegacyCodePolicy.Check(c).Violations.Single().Rule == LegacySequentialDigits));
    }

    [Test]
    public void Generated_codes_outside_the_patterns_are_accepted()
    {
        // Seeded sample of the 10^8 codes, plus every run: without context, only identical digits and runs are refused.
        var random = new Random(8);
        var codes = Enumerable.Range(0, 20_000).Select(_ => random.Next(100_000_000).ToString("D8")).Concat(AllRuns);
        foreach (var code in codes)
        {
            var expectedRefused = code.Distinct().Count() == 1 || AllRuns.Contains(code);
            Assert.That(LegacyCodePolicy.Check(code).IsAccepted, Is.EqualTo(!expectedRefused), code);
        }
    }
}

/// <summary>The one shape test of a legacy code, read by the login, the phone channel and the import.</summary>
public class LegacyCodeShapeTests
{
    [TestCase("12345678", true)]
    [TestCase("00000000", true)]
    [TestCase(null, false)]
    [TestCase("", false)]
    [TestCase("1234567", false)]
    [TestCase("123456789", false)]
    [TestCase("1234567a", false)]
    [TestCase(" 12345678", false)]
    [TestCase("1234 5678", false)]
    [TestCase("١٢٣٤٥٦٧٨", false)] // Arabic-Indic digits are digits to char.IsDigit, not to a keypad
    public void Exactly_eight_ascii_digits_nothing_trimmed(string? code, bool wellFormed) =>
        Assert.That(LegacyCodePolicy.IsWellFormed(code), Is.EqualTo(wellFormed));
}
