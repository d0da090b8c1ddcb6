using CafConnect.Domain.Passwords;
using static CafConnect.Domain.Passwords.PasswordReplacementReason;

namespace CafConnect.Domain.Tests.Passwords;

public class PasswordExpiryPolicyTests
{
    private static readonly DateTimeOffset SetAt = new(2024, 1, 15, 10, 0, 0, TimeSpan.Zero);

    private static PasswordReplacementReason? ReasonOf(PasswordStatus status) =>
        status is PasswordStatus.MustBeReplaced m ? m.Reason : null;

    // Offsets from SetAt: "1d" days, "2y" years, "2m" months, "-1t" one tick before.
    [TestCase("personal: just set", PasswordKind.Personal, "0d", null)]
    [TestCase("personal: one year old", PasswordKind.Personal, "1y", null)]
    [TestCase("personal: one tick before 2 years", PasswordKind.Personal, "2y-1t", null)]
    [TestCase("personal: exactly 2 years → expired", PasswordKind.Personal, "2y", PersonalExpired)]
    [TestCase("personal: 3 years", PasswordKind.Personal, "3y", PersonalExpired)]
    [TestCase("personal: set in the future (clock skew) is not expired", PasswordKind.Personal, "-1d", null)]
    [TestCase("provisional: first login right away must replace", PasswordKind.Provisional, "0d", ProvisionalFirstLogin)]
    [TestCase("provisional: one tick before 2 months", PasswordKind.Provisional, "2m-1t", ProvisionalFirstLogin)]
    [TestCase("provisional: exactly 2 months → expired", PasswordKind.Provisional, "2m", ProvisionalExpired)]
    [TestCase("provisional: one year later", PasswordKind.Provisional, "1y", ProvisionalExpired)]
    [TestCase("legacy code: must always be replaced on web/app/kiosk", PasswordKind.LegacyFileCode, "0d", LegacyCode)]
    [TestCase("legacy code: old code still leads to replacement, not failure", PasswordKind.LegacyFileCode, "5y", LegacyCode)]
    public void Evaluates_with_default_policy(string rule, PasswordKind kind, string age, PasswordReplacementReason? expected)
    {
        var status = PasswordExpiryPolicy.Evaluate(kind, SetAt, After(SetAt, age));
        Assert.That(ReasonOf(status), Is.EqualTo(expected), rule);
        Assert.That(status.IsValid, Is.EqualTo(expected is null), rule);
    }

    [TestCase("personal validity set to 1 year: 1 year + 1 day is expired", PasswordKind.Personal, "1y1d", PersonalExpired)]
    [TestCase("personal validity set to 1 year: 11 months is valid", PasswordKind.Personal, "11m", null)]
    [TestCase("provisional validity set to 10 days: 9 days is a first login", PasswordKind.Provisional, "9d", ProvisionalFirstLogin)]
    [TestCase("provisional validity set to 10 days: 10 days is expired", PasswordKind.Provisional, "10d", ProvisionalExpired)]
    public void Evaluates_with_configured_policy(string rule, PasswordKind kind, string age, PasswordReplacementReason? expected)
    {
        var options = new PasswordExpiryOptions { PersonalValidity = ValidityPeriod.FromYears(1), ProvisionalValidity = ValidityPeriod.FromDays(10) };
        Assert.That(ReasonOf(PasswordExpiryPolicy.Evaluate(kind, SetAt, After(SetAt, age), options)), Is.EqualTo(expected), rule);
    }

    [Test]
    public void Months_follow_the_calendar()
    {
        var sentOn = new DateTimeOffset(2023, 12, 31, 9, 0, 0, TimeSpan.Zero);
        Assert.That(PasswordExpiryPolicy.ExpiresAt(PasswordKind.Provisional, sentOn), Is.EqualTo(new DateTimeOffset(2024, 2, 29, 9, 0, 0, TimeSpan.Zero)));
        var leapDay = new DateTimeOffset(2024, 2, 29, 0, 0, 0, TimeSpan.Zero);
        Assert.That(PasswordExpiryPolicy.ExpiresAt(PasswordKind.Personal, leapDay), Is.EqualTo(new DateTimeOffset(2026, 2, 28, 0, 0, 0, TimeSpan.Zero)));
        Assert.That(PasswordExpiryPolicy.ExpiresAt(PasswordKind.LegacyFileCode, leapDay), Is.Null);
    }

    [Test]
    public void Compares_instants_whatever_the_offsets()
    {
        var setInParis = new DateTimeOffset(2024, 1, 15, 12, 0, 0, TimeSpan.FromHours(1)); // 11:00 UTC
        var justBeforeUtc = new DateTimeOffset(2026, 1, 15, 10, 59, 59, TimeSpan.Zero);
        var justAfterUtc = new DateTimeOffset(2026, 1, 15, 11, 0, 0, TimeSpan.Zero);
        Assert.That(PasswordExpiryPolicy.Evaluate(PasswordKind.Personal, setInParis, justBeforeUtc).IsValid, Is.True);
        Assert.That(PasswordExpiryPolicy.Evaluate(PasswordKind.Personal, setInParis, justAfterUtc).IsValid, Is.False);
    }

    [Test]
    public void Defaults_are_two_years_and_two_months()
    {
        var options = new PasswordExpiryOptions();
        Assert.That(options.PersonalValidity, Is.EqualTo(new ValidityPeriod(Years: 2)));
        Assert.That(options.ProvisionalValidity, Is.EqualTo(new ValidityPeriod(Months: 2)));
    }

    [TestCase(0, 0, 0)]
    [TestCase(-1, 0, 0)]
    [TestCase(1, -13, 0)]
    public void Refuses_a_non_positive_validity(int years, int months, int days)
    {
        var options = new PasswordExpiryOptions { PersonalValidity = new ValidityPeriod(years, months, days) };
        Assert.That(() => PasswordExpiryPolicy.Evaluate(PasswordKind.Personal, SetAt, SetAt, options), Throws.ArgumentException);
    }

    [Test]
    public void Every_reason_has_its_own_french_message()
    {
        var messages = Enum.GetValues<PasswordReplacementReason>().Select(PasswordExpiryPolicy.MessageFor).ToList();
        Assert.That(messages, Is.Unique);
        Assert.That(messages, Has.All.Contains("mot de passe"));
        var status = (PasswordStatus.MustBeReplaced)PasswordExpiryPolicy.Evaluate(PasswordKind.Provisional, SetAt, SetAt);
        Assert.That(status.Message, Is.EqualTo(PasswordExpiryPolicy.MessageFor(ProvisionalFirstLogin)));
    }

    private static DateTimeOffset After(DateTimeOffset start, string age)
    {
        var result = start;
        var rest = age;
        var minus = rest.EndsWith("-1t");
        if (minus) rest = rest[..^3];
        var number = "";
        foreach (var c in rest)
        {
            if (char.IsDigit(c) || c == '-') { number += c; continue; }
            var n = int.Parse(number);
            number = "";
            result = c switch
            {
                'y' => result.AddYears(n),
                'm' => result.AddMonths(n),
                'd' => result.AddDays(n),
                _ => throw new ArgumentException(age),
            };
        }
        return minus ? result.AddTicks(-1) : result;
    }
}
