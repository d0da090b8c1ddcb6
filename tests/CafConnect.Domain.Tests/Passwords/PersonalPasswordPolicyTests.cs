using System.Text.RegularExpressions;
using CafConnect.Domain.Passwords;
using static CafConnect.Domain.Passwords.PasswordRule;

namespace CafConnect.Domain.Tests.Passwords;

/// <summary>
/// Personal password rules. Context "household": NIR 1970678646489, file 0260311, birth dates 15/06/1997 and 09/03/2021,
/// phones 06 12 15 45 45 and +33 6 45 45 44 55. The first argument of each case names the rule it checks.
/// </summary>
public class PersonalPasswordPolicyTests
{
    [TestCase("all rules met, minimum length 8", "aB3defgh")]
    [TestCase("all rules met, maximum length 24", "Abcdefghijklmnopqrstuvw1")]
    [TestCase("digit in the middle", "Ma1sonBleue")]
    [TestCase("digits first", "2024TrompetteBleue")]
    [TestCase("uncommon word + digits", "Bonjour2Caf")]
    [TestCase("random-looking", "Xk9mPq2wZt")]
    [TestCase("NIR: 7 digits only is not the 8-digit prefix", "Nir1970678Xy")]
    [TestCase("NIR: last digits of the NIR are allowed", "Fin646489Ab")]
    [TestCase("birth date: the year alone is allowed", "Marie1997Zz")]
    [TestCase("birth date: day and month without year allowed", "Soleil1506Ab")]
    [TestCase("phone: 7 digits only is not a phone number", "Tel1215454Ab")]
    [TestCase("file number: 6 digits is not the file number", "Caf260311Xy")]
    [TestCase("blocklist: a common base word with an unusual suffix", "Azerty123Moustache")]
    [TestCase("blocklist: common password with an extra letter", "Password1x")]
    public void Accepts(string rule, string password)
    {
        var result = PersonalPasswordPolicy.Check(password, TestContexts.Household);
        Assert.That(result.IsAccepted, Is.True, $"{rule}: {result}");
        Assert.That(result.Violations, Is.Empty);
    }

    [TestCase("required: null", null, new[] { Required })]
    [TestCase("required: empty", "", new[] { Required })]
    [TestCase("length: 7 characters", "Abcde1f", new[] { Length })]
    [TestCase("length: 25 characters", "Abcdefghijklmnopqrstuvwx1", new[] { Length })]
    [TestCase("length: 3 characters, also no digit no upper", "abc", new[] { Length, Digit, Uppercase })]
    [TestCase("digit: letters only", "Abcdefghij", new[] { Digit })]
    [TestCase("lowercase: upper-case and digits only", "ABCDEFG12", new[] { Lowercase })]
    [TestCase("uppercase: lower-case and digits only", "abcdefg12", new[] { Uppercase })]
    [TestCase("lowercase and uppercase: digits only", "12345678", new[] { Lowercase, Uppercase })]
    [TestCase("digit and lowercase: capitals only", "ABCDEFGHIJ", new[] { Digit, Lowercase })]
    [TestCase("allowed characters: exclamation mark", "Abcdef12!", new[] { AllowedCharacters })]
    [TestCase("allowed characters: question mark", "Abcdefg1?", new[] { AllowedCharacters })]
    [TestCase("allowed characters: at sign", "Ab1@cdefg", new[] { AllowedCharacters })]
    [TestCase("allowed characters: inner space", "Abc def12", new[] { AllowedCharacters })]
    [TestCase("allowed characters: trailing space is not trimmed", "Abcdef12 ", new[] { AllowedCharacters })]
    [TestCase("allowed characters: tab", "Abcdefgh12\t", new[] { AllowedCharacters })]
    [TestCase("allowed characters: accented é", "Abcdef1é", new[] { AllowedCharacters })]
    [TestCase("allowed characters: accented ù", "AbcdefgH1ù", new[] { AllowedCharacters })]
    [TestCase("allowed characters: umlaut", "Passwörd12", new[] { AllowedCharacters })]
    [TestCase("allowed characters: hyphen", "Mot-de-passe1", new[] { AllowedCharacters })]
    [TestCase("allowed characters: emoji", "Abcdefg1😀", new[] { AllowedCharacters })]
    [TestCase("allowed characters: accented capital is not an upper-case letter", "Éléphant12", new[] { Uppercase, AllowedCharacters })]
    [TestCase("allowed characters: full-width digit is not a digit", "Abcdefgh１", new[] { Digit, AllowedCharacters })]
    [TestCase("every composition rule: a single space", " ", new[] { Length, Digit, Lowercase, Uppercase, AllowedCharacters })]
    [TestCase("NIR: first 8 digits", "Marie19706786", new[] { ContainsNir })]
    [TestCase("NIR: the whole NIR", "X1970678646489y", new[] { ContainsNir })]
    [TestCase("NIR: the whole NIR with key", "Ab197067864648990", new[] { ContainsNir })]
    [TestCase("file number", "Caf0260311a", new[] { ContainsFileNumber })]
    [TestCase("file number at the start", "0260311Allocataire", new[] { ContainsFileNumber })]
    [TestCase("birth date DDMMYYYY", "Lea15061997A", new[] { ContainsBirthDate })]
    [TestCase("birth date YYYYMMDD", "Lea19970615A", new[] { ContainsBirthDate })]
    [TestCase("birth date DDMMYY", "Lea150697Ab", new[] { ContainsBirthDate })]
    [TestCase("birth date of a household member (child)", "Enzo09032021A", new[] { ContainsBirthDate })]
    [TestCase("birth date DDMMYY of the child", "Enzo090321Ab", new[] { ContainsBirthDate })]
    [TestCase("phone: national form 06…", "Tel0612154545A", new[] { ContainsPhoneNumber })]
    [TestCase("phone: last 8 digits", "Tel12154545Ab", new[] { ContainsPhoneNumber })]
    [TestCase("phone: international form +33 6…", "Num33645454455a", new[] { ContainsPhoneNumber })]
    [TestCase("phone: 9-digit national significant number", "A645454455b", new[] { ContainsPhoneNumber })]
    [TestCase("blocklist: Azerty123", "Azerty123", new[] { CommonPassword })]
    [TestCase("blocklist: Password1", "Password1", new[] { CommonPassword })]
    [TestCase("blocklist: case variant aZERTY123", "aZERTY123", new[] { CommonPassword })]
    [TestCase("blocklist: Motdepasse1", "Motdepasse1", new[] { CommonPassword })]
    [TestCase("blocklist: Soleil2024", "Soleil2024", new[] { CommonPassword })]
    [TestCase("blocklist: Marseille13", "Marseille13", new[] { CommonPassword })]
    [TestCase("blocklist: Qwerty123", "Qwerty123", new[] { CommonPassword })]
    [TestCase("blocklist: Nicolas1985", "Nicolas1985", new[] { CommonPassword })]
    [TestCase("blocklist: keyboard walk 1Qaz2wsx", "1Qaz2wsx", new[] { CommonPassword })]
    [TestCase("blocklist: Chocolat01", "Chocolat01", new[] { CommonPassword })]
    [TestCase("blocklist: leet P4ssw0rd", "P4ssw0rd", new[] { CommonPassword })]
    [TestCase("blocklist: lower-case entry also misses an upper-case letter", "azerty123", new[] { Uppercase, CommonPassword })]
    [TestCase("several: birth date and no upper-case letter", "lea15061997", new[] { Uppercase, ContainsBirthDate })]
    [TestCase("several: NIR prefix, phone and file number", "A19706786b12154545c0260311", new[] { Length, ContainsNir, ContainsFileNumber, ContainsPhoneNumber })]
    public void Refuses(string rule, string? password, PasswordRule[] expected)
    {
        var result = PersonalPasswordPolicy.Check(password, TestContexts.Household);
        Assert.That(result.IsAccepted, Is.False, rule);
        Assert.That(result.Violations.Select(v => v.Rule), Is.EqualTo(expected), rule);
        Assert.That(result.Violations.Select(v => v.Message), Is.EqualTo(expected.Select(PasswordRules.MessageFor)), rule);
    }

    [TestCase("NIR: Corsican prefix with letters, lower-case", "Zz288032a0", new[] { ContainsNir })]
    [TestCase("NIR: Corsican prefix with letters, upper-case", "Zz288032A0x", new[] { ContainsNir })]
    [TestCase("NIR: Corsican prefix typed with 20", "Zz28803200", new[] { ContainsNir })]
    [TestCase("NIR: Corsican prefix typed with 19 (key form)", "Zz28803190", new[] { ContainsNir })]
    public void Refuses_for_a_person_born_in_corsica(string rule, string password, PasswordRule[] expected) =>
        Assert.That(PersonalPasswordPolicy.Check(password, TestContexts.Corsican).Violations.Select(v => v.Rule), Is.EqualTo(expected), rule);

    [TestCase("file number without its leading zero", "Caf0260311a")]
    [TestCase("file number padded to 8 digits", "Caf0260311a")]
    [TestCase("phone written 0033", "Tel11223344Ab")]
    public void Normalises_the_data_known_to_the_file(string context, string password)
    {
        var result = PersonalPasswordPolicy.Check(password, TestContexts.For(context));
        Assert.That(result.IsAccepted, Is.False, context);
    }

    [Test]
    public void Without_context_only_composition_and_blocklist_apply()
    {
        Assert.That(PersonalPasswordPolicy.Check("Marie19706786").IsAccepted, Is.True);
        Assert.That(PersonalPasswordPolicy.Check("Azerty123").Violations.Single().Rule, Is.EqualTo(CommonPassword));
    }

    [Test]
    public void Every_rule_has_its_own_french_message()
    {
        var messages = Enum.GetValues<PasswordRule>().Select(PasswordRules.MessageFor).ToList();
        Assert.That(messages, Is.Unique);
        Assert.That(messages, Has.All.Match("^[A-ZÀ-Ý].*[.!]$"), "full French sentences");
    }

    [Test]
    public void Result_ToString_never_contains_the_password()
    {
        var result = PersonalPasswordPolicy.Check("Marie19706786", TestContexts.Household);
        Assert.That(result.ToString(), Is.EqualTo("Refused: ContainsNir"));
        Assert.That(PersonalPasswordPolicy.Check("Xk9mPq2wZt").ToString(), Is.EqualTo("Accepted"));
    }

    // ---- The live checklist -----------------------------------------------------------------------------------

    [Test]
    public void Checklist_exposes_the_five_rules_with_the_tutorial_labels()
    {
        Assert.That(PersonalPasswordPolicy.ChecklistRules.Select(r => r.Label), Is.EqualTo(new[]
        {
            "8 à 24 caractères", "1 chiffre", "1 lettre minuscule", "1 lettre majuscule", "chiffres et lettres uniquement",
        }));
        Assert.That(PersonalPasswordPolicy.ChecklistRules.Select(r => r.Rule), Is.EqualTo(new[] { Length, Digit, Lowercase, Uppercase, AllowedCharacters }));
        Assert.That(PersonalPasswordPolicy.ChecklistRules.Select(r => r.Message), Is.EqualTo(new[] { Length, Digit, Lowercase, Uppercase, AllowedCharacters }.Select(PasswordRules.MessageFor)));
    }

    //                  length digit  lower  upper  allowed
    [TestCase("",       false, false, false, false, true)]
    [TestCase(null,     false, false, false, false, true)]
    [TestCase("a",      false, false, true,  false, true)]
    [TestCase("aB",     false, false, true,  true,  true)]
    [TestCase("aB3",    false, true,  true,  true,  true)]
    [TestCase("aB3defgh", true, true, true,  true,  true)]
    [TestCase("aB3defg!", true, true, true,  true,  false)]
    [TestCase("ééééééé1", true, true, false, false, false)]
    [TestCase("Abcdefghijklmnopqrstuvwxy1", false, true, true, true, true)]
    public void Checklist_ticks_each_line_as_the_person_types(string? typed, bool length, bool digit, bool lower, bool upper, bool allowed)
    {
        var ticks = PersonalPasswordPolicy.ChecklistRules.Select(r => r.IsSatisfiedBy(typed)).ToArray();
        Assert.That(ticks, Is.EqualTo(new[] { length, digit, lower, upper, allowed }));
    }

    [TestCase("")]
    [TestCase("aB3defgh")]
    [TestCase("aB3defg!")]
    [TestCase("ééééééé1")]
    [TestCase("ABC 123")]
    [TestCase("Abcdefghijklmnopqrstuvwxy1")]
    [TestCase("abcdefgh\nABC1")]
    public void Checklist_client_patterns_agree_with_the_server(string typed)
    {
        foreach (var rule in PersonalPasswordPolicy.ChecklistRules)
        {
            // ECMAScript mode is the closest .NET gets to the browser's RegExp.
            var client = Regex.IsMatch(typed, rule.ClientPattern, RegexOptions.ECMAScript);
            Assert.That(client, Is.EqualTo(rule.IsSatisfiedBy(typed)), $"{rule.Label} on \"{typed}\"");
        }
    }

    [Test]
    public void A_failed_checklist_line_is_a_violation_of_the_same_rule()
    {
        foreach (var typed in new[] { "abc", "ABCDEFGH", "abcdefgh", "12345678", "Abc 1234" })
        {
            var failedLines = PersonalPasswordPolicy.ChecklistRules.Where(r => !r.IsSatisfiedBy(typed)).Select(r => r.Rule);
            var violations = PersonalPasswordPolicy.Check(typed).Violations.Select(v => v.Rule).Where(r => r <= AllowedCharacters);
            Assert.That(violations, Is.EqualTo(failedLines), typed);
        }
    }
}
