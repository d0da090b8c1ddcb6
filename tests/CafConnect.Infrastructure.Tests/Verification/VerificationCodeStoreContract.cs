using System.Text.RegularExpressions;
using CafConnect.Infrastructure.Verification;
using Microsoft.Extensions.Time.Testing;

namespace CafConnect.Infrastructure.Tests.Verification;

/// <summary>
/// What every <see cref="IVerificationCodeStore"/> promises (seed 003: 6 digits, 10 min by SMS, 15 min by e-mail,
/// 3 resends, 5 tries), run against the in-memory store and against a real Redis. Each test uses its own flow ids.
/// </summary>
public abstract class VerificationCodeStoreContract
{
    protected const string Phone = "06 12 34 56 78";
    protected const string Email = "Jean.Dupont@Exemple.fr";

    protected FakeTimeProvider Clock { get; private set; } = null!;

    /// <summary>The server keys the store under test uses (tests may rotate them).</summary>
    protected RotatableMacKeys MacKeys { get; private set; } = null!;

    protected abstract IVerificationCodeStore CreateStore(VerificationCodeOptions options, CodeMac mac);

    private IVerificationCodeStore CreateStore(VerificationCodeOptions options) => CreateStore(options, new CodeMac(MacKeys));

    /// <summary>Options of the expiry tests (Redis's TTLs run in real time: it uses lifetimes of seconds).</summary>
    protected virtual VerificationCodeOptions ExpiryOptions() => new();

    /// <summary>Lets time pass for code expiry (the fake clock; Redis also waits for real).</summary>
    protected virtual Task ElapseAsync(TimeSpan span)
    {
        Clock.Advance(span);
        return Task.CompletedTask;
    }

    protected static string NewFlow() => "flow-" + Guid.NewGuid().ToString("N");

    [SetUp]
    public void StartClock()
    {
        Clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        MacKeys = new RotatableMacKeys();
    }

    private IVerificationCodeStore Store() => CreateStore(new VerificationCodeOptions());

    [Test]
    public async Task An_issued_code_verifies()
    {
        var store = Store();
        var flow = NewFlow();

        var issue = await store.IssueAsync(flow, ContactChannel.Sms, Phone);
        var check = await store.CheckAsync(flow, ContactChannel.Sms, Phone, issue.Code);

        Assert.Multiple(() =>
        {
            Assert.That(issue.Issued, Is.True);
            Assert.That(issue.Refusal, Is.Null);
            Assert.That(issue.SendsRemaining, Is.EqualTo(3));
            Assert.That(issue.ExpiresAt, Is.EqualTo(Clock.GetUtcNow() + TimeSpan.FromMinutes(10)));
            Assert.That(check, Is.EqualTo(new CodeCheckResult(CodeCheck.Verified, 5)));
        });
    }

    [Test]
    public async Task A_wrong_code_then_the_right_one_verifies()
    {
        var store = Store();
        var flow = NewFlow();
        var issue = await store.IssueAsync(flow, ContactChannel.Email, Email);

        var wrong = await store.CheckAsync(flow, ContactChannel.Email, Email, Other(issue.Code!));
        var right = await store.CheckAsync(flow, ContactChannel.Email, Email, issue.Code);

        Assert.Multiple(() =>
        {
            Assert.That(wrong, Is.EqualTo(new CodeCheckResult(CodeCheck.Wrong, 4)));
            Assert.That(right.Outcome, Is.EqualTo(CodeCheck.Verified));
        });
    }

    [Test]
    public async Task Five_wrong_entries_void_the_code_and_the_right_one_no_longer_works()
    {
        var store = Store();
        var flow = NewFlow();
        var issue = await store.IssueAsync(flow, ContactChannel.Sms, Phone);
        var wrongCode = Other(issue.Code!);

        var results = new List<CodeCheckResult>();
        for (var i = 0; i < 6; i++)
        {
            results.Add(await store.CheckAsync(flow, ContactChannel.Sms, Phone, wrongCode));
        }
        var right = await store.CheckAsync(flow, ContactChannel.Sms, Phone, issue.Code);

        Assert.Multiple(() =>
        {
            Assert.That(results.Take(4).Select(r => r.Outcome), Is.All.EqualTo(CodeCheck.Wrong));
            Assert.That(results.Take(4).Select(r => r.AttemptsRemaining), Is.EqualTo(new[] { 4, 3, 2, 1 }));
            Assert.That(results[4], Is.EqualTo(new CodeCheckResult(CodeCheck.Exhausted, 0)), "the 5th wrong entry voids the code");
            Assert.That(results[5], Is.EqualTo(new CodeCheckResult(CodeCheck.Exhausted, 0)), "6th wrong entry");
            Assert.That(right.Outcome, Is.EqualTo(CodeCheck.Exhausted), "the right code after exhaustion");
        });
    }

    [TestCase(ContactChannel.Sms, Phone)]
    [TestCase(ContactChannel.Email, Email)]
    public async Task A_code_lives_for_its_channel_lifetime(ContactChannel channel, string contact)
    {
        var options = ExpiryOptions();
        var store = CreateStore(options);
        var lifetime = options.LifetimeFor(channel);
        var margin = TimeSpan.FromTicks(lifetime.Ticks / 4);
        var (early, late) = (NewFlow(), NewFlow());
        var earlyCode = (await store.IssueAsync(early, channel, contact)).Code;
        var lateCode = (await store.IssueAsync(late, channel, contact)).Code;

        await ElapseAsync(lifetime - margin);
        var beforeExpiry = await store.CheckAsync(early, channel, contact, earlyCode);
        await ElapseAsync(margin + margin);
        var afterExpiry = await store.CheckAsync(late, channel, contact, lateCode);

        Assert.Multiple(() =>
        {
            Assert.That(beforeExpiry.Outcome, Is.EqualTo(CodeCheck.Verified), "just before the lifetime");
            Assert.That(afterExpiry.Outcome, Is.EqualTo(CodeCheck.Expired), "just after the lifetime");
        });
    }

    [Test]
    public async Task The_default_lifetimes_are_ten_minutes_by_sms_and_fifteen_by_email()
    {
        var store = Store();
        var sms = await store.IssueAsync(NewFlow(), ContactChannel.Sms, Phone);
        var email = await store.IssueAsync(NewFlow(), ContactChannel.Email, Email);

        Assert.That(sms.ExpiresAt - Clock.GetUtcNow(), Is.EqualTo(TimeSpan.FromMinutes(10)));
        Assert.That(email.ExpiresAt - Clock.GetUtcNow(), Is.EqualTo(TimeSpan.FromMinutes(15)));
    }

    [Test]
    public async Task A_code_is_used_once()
    {
        var store = Store();
        var flow = NewFlow();
        var issue = await store.IssueAsync(flow, ContactChannel.Sms, Phone);

        var first = await store.CheckAsync(flow, ContactChannel.Sms, Phone, issue.Code);
        var second = await store.CheckAsync(flow, ContactChannel.Sms, Phone, issue.Code);

        Assert.Multiple(() =>
        {
            Assert.That(first.Outcome, Is.EqualTo(CodeCheck.Verified));
            Assert.That(second.Outcome, Is.EqualTo(CodeCheck.Expired));
        });
    }

    [Test]
    public async Task The_fifth_send_to_a_contact_in_a_flow_is_refused()
    {
        var store = Store();
        var flow = NewFlow();
        var issues = new List<CodeIssue>();
        for (var i = 0; i < 5; i++)
        {
            issues.Add(await store.IssueAsync(flow, ContactChannel.Sms, Phone));
            Clock.Advance(TimeSpan.FromSeconds(31));
        }
        var otherFlow = await store.IssueAsync(NewFlow(), ContactChannel.Sms, Phone);

        Assert.Multiple(() =>
        {
            Assert.That(issues.Take(4).Select(i => i.Issued), Is.All.True, "the first send and three resends");
            Assert.That(issues.Take(4).Select(i => i.SendsRemaining), Is.EqualTo(new[] { 3, 2, 1, 0 }));
            Assert.That(issues[4].Issued, Is.False);
            Assert.That(issues[4].Code, Is.Null);
            Assert.That(issues[4].Refusal, Is.EqualTo(CodeRefusal.TooManySends));
            Assert.That(issues[4].RetryAfter, Is.GreaterThan(TimeSpan.Zero));
            Assert.That(otherFlow.Issued, Is.True, "the limit is per flow");
        });
    }

    [Test]
    public async Task A_send_within_thirty_seconds_is_refused_with_the_time_to_wait()
    {
        var store = Store();
        var flow = NewFlow();
        var first = await store.IssueAsync(flow, ContactChannel.Email, Email);
        Clock.Advance(TimeSpan.FromSeconds(10));

        var tooSoon = await store.IssueAsync(flow, ContactChannel.Email, Email);
        var stillValid = await store.CheckAsync(flow, ContactChannel.Email, Email, first.Code);
        Clock.Advance(TimeSpan.FromSeconds(20));
        var later = await store.IssueAsync(flow, ContactChannel.Email, Email);

        Assert.Multiple(() =>
        {
            Assert.That(tooSoon.Refusal, Is.EqualTo(CodeRefusal.TooSoon));
            Assert.That(tooSoon.Code, Is.Null);
            Assert.That(tooSoon.RetryAfter, Is.EqualTo(TimeSpan.FromSeconds(20)).Within(TimeSpan.FromMilliseconds(5)));
            Assert.That(tooSoon.SendsRemaining, Is.EqualTo(3), "a refused send is not counted");
            Assert.That(stillValid.Outcome, Is.EqualTo(CodeCheck.Verified), "a refused send keeps the code");
            Assert.That(later.Issued, Is.True);
            Assert.That(later.SendsRemaining, Is.EqualTo(2));
        });
    }

    [Test]
    public async Task Sends_counted_per_flow_limit_the_interval_and_the_number_whatever_the_contact()
    {
        var store = Store();
        var flow = NewFlow();
        var sms = await store.IssueAsync(flow, ContactChannel.Sms, Phone, CodeSendScope.PerFlow);
        var emailTooSoon = await store.IssueAsync(flow, ContactChannel.Email, Email, CodeSendScope.PerFlow);
        var perContactMeanwhile = await store.IssueAsync(NewFlow(), ContactChannel.Email, Email);
        var issues = new List<CodeIssue> { sms };
        for (var i = 0; i < 4; i++)
        {
            Clock.Advance(TimeSpan.FromSeconds(31));
            issues.Add(await store.IssueAsync(flow, i % 2 == 0 ? ContactChannel.Email : ContactChannel.Sms, i % 2 == 0 ? Email : Phone, CodeSendScope.PerFlow));
        }

        Assert.Multiple(() =>
        {
            Assert.That(emailTooSoon.Refusal, Is.EqualTo(CodeRefusal.TooSoon), "another contact of the same flow waits the same interval");
            Assert.That(perContactMeanwhile.Issued, Is.True);
            Assert.That(issues.Take(4).Select(i => i.Issued), Is.All.True);
            Assert.That(issues.Take(4).Select(i => i.SendsRemaining), Is.EqualTo(new[] { 3, 2, 1, 0 }), "one count for the flow, not one per contact");
            Assert.That(issues[4].Refusal, Is.EqualTo(CodeRefusal.TooManySends));
        });
    }

    [Test]
    public async Task A_code_issued_with_sends_counted_per_flow_verifies_for_its_contact_only()
    {
        var store = Store();
        var flow = NewFlow();
        var issue = await store.IssueAsync(flow, ContactChannel.Email, Email, CodeSendScope.PerFlow);
        var otherContact = await store.CheckAsync(flow, ContactChannel.Sms, Phone, issue.Code);
        var right = await store.CheckAsync(flow, ContactChannel.Email, Email, issue.Code);
        Assert.Multiple(() =>
        {
            Assert.That(otherContact.Outcome, Is.EqualTo(CodeCheck.Expired));
            Assert.That(right.Outcome, Is.EqualTo(CodeCheck.Verified));
        });
    }

    [Test]
    public async Task A_new_code_replaces_the_previous_one()
    {
        var store = Store();
        var flow = NewFlow();
        var old = await store.IssueAsync(flow, ContactChannel.Sms, Phone);
        Clock.Advance(TimeSpan.FromSeconds(31));
        var fresh = await store.IssueAsync(flow, ContactChannel.Sms, Phone);
        Assume.That(fresh.Code, Is.Not.EqualTo(old.Code), "one chance in a million");

        var withOld = await store.CheckAsync(flow, ContactChannel.Sms, Phone, old.Code);
        var withFresh = await store.CheckAsync(flow, ContactChannel.Sms, Phone, fresh.Code);

        Assert.Multiple(() =>
        {
            Assert.That(withOld, Is.EqualTo(new CodeCheckResult(CodeCheck.Wrong, 4)));
            Assert.That(withFresh.Outcome, Is.EqualTo(CodeCheck.Verified));
        });
    }

    [Test]
    public async Task Codes_are_six_digits_and_vary()
    {
        var store = Store();
        var codes = new List<string>();
        for (var i = 0; i < 40; i++)
        {
            codes.Add((await store.IssueAsync(NewFlow(), ContactChannel.Sms, Phone)).Code!);
        }

        Assert.That(codes, Has.All.Match(new Regex("^[0-9]{6}$")));
        Assert.That(codes.Distinct().Count(), Is.GreaterThanOrEqualTo(38));
    }

    [Test]
    public async Task The_same_contact_written_differently_is_the_same_contact()
    {
        var store = Store();
        var (smsFlow, emailFlow) = (NewFlow(), NewFlow());
        var sms = await store.IssueAsync(smsFlow, ContactChannel.Sms, "06 12 34 56 78");
        var resend = await store.IssueAsync(smsFlow, ContactChannel.Sms, "+33 6 12 34 56 78");
        var smsCheck = await store.CheckAsync(smsFlow, ContactChannel.Sms, "06.12.34.56.78", sms.Code);
        var email = await store.IssueAsync(emailFlow, ContactChannel.Email, " Jean.Dupont@Exemple.fr");
        var emailCheck = await store.CheckAsync(emailFlow, ContactChannel.Email, "jean.dupont@exemple.fr", email.Code);

        Assert.Multiple(() =>
        {
            Assert.That(resend.Refusal, Is.EqualTo(CodeRefusal.TooSoon), "one send counter for both spellings");
            Assert.That(smsCheck.Outcome, Is.EqualTo(CodeCheck.Verified));
            Assert.That(emailCheck.Outcome, Is.EqualTo(CodeCheck.Verified));
        });
    }

    [Test]
    public async Task A_code_is_bound_to_its_flow_channel_and_contact()
    {
        var store = Store();
        var flow = NewFlow();
        var issue = await store.IssueAsync(flow, ContactChannel.Sms, Phone);

        var otherFlow = await store.CheckAsync(NewFlow(), ContactChannel.Sms, Phone, issue.Code);
        var otherContact = await store.CheckAsync(flow, ContactChannel.Sms, "06 98 76 54 32", issue.Code);
        var otherChannel = await store.CheckAsync(flow, ContactChannel.Email, Email, issue.Code);
        var own = await store.CheckAsync(flow, ContactChannel.Sms, Phone, issue.Code);

        Assert.Multiple(() =>
        {
            Assert.That(otherFlow.Outcome, Is.EqualTo(CodeCheck.Expired));
            Assert.That(otherContact.Outcome, Is.EqualTo(CodeCheck.Expired));
            Assert.That(otherChannel.Outcome, Is.EqualTo(CodeCheck.Expired));
            Assert.That(own.Outcome, Is.EqualTo(CodeCheck.Verified));
        });
    }

    [Test]
    public async Task Of_twenty_concurrent_submissions_of_the_right_code_exactly_one_verifies()
    {
        var store = Store();
        var flow = NewFlow();
        var issue = await store.IssueAsync(flow, ContactChannel.Sms, Phone);

        using var start = new ManualResetEventSlim();
        var submissions = Enumerable.Range(0, 20)
            .Select(_ => Task.Run(async () =>
            {
                start.Wait();
                return await store.CheckAsync(flow, ContactChannel.Sms, Phone, issue.Code);
            }))
            .ToList();
        start.Set();
        var results = await Task.WhenAll(submissions);

        Assert.Multiple(() =>
        {
            Assert.That(results.Count(r => r.Outcome == CodeCheck.Verified), Is.EqualTo(1));
            Assert.That(results.Where(r => r.Outcome != CodeCheck.Verified).Select(r => r.Outcome), Is.All.EqualTo(CodeCheck.Expired));
        });
    }

    [Test]
    public async Task An_empty_or_malformed_submission_is_a_wrong_entry()
    {
        var store = Store();
        var flow = NewFlow();
        var issue = await store.IssueAsync(flow, ContactChannel.Sms, Phone);

        var empty = await store.CheckAsync(flow, ContactChannel.Sms, Phone, null);
        var letters = await store.CheckAsync(flow, ContactChannel.Sms, Phone, "abcdef");
        var spaced = await store.CheckAsync(flow, ContactChannel.Sms, Phone, $" {issue.Code![..3]} {issue.Code[3..]} ");

        Assert.Multiple(() =>
        {
            Assert.That(empty, Is.EqualTo(new CodeCheckResult(CodeCheck.Wrong, 4)));
            Assert.That(letters, Is.EqualTo(new CodeCheckResult(CodeCheck.Wrong, 3)));
            Assert.That(spaced.Outcome, Is.EqualTo(CodeCheck.Verified), "spaces typed in the code are ignored");
        });
    }

    [Test]
    public async Task A_code_issued_before_a_mac_key_rotation_still_verifies_and_new_codes_use_the_new_key()
    {
        var store = Store();
        var (before, after) = (NewFlow(), NewFlow());
        var old = await store.IssueAsync(before, ContactChannel.Sms, Phone);

        MacKeys.Rotate();
        var fresh = await store.IssueAsync(after, ContactChannel.Sms, Phone);
        var oldCheck = await store.CheckAsync(before, ContactChannel.Sms, Phone, old.Code);
        MacKeys.DropRetired();
        var freshCheck = await store.CheckAsync(after, ContactChannel.Sms, Phone, fresh.Code);

        Assert.Multiple(() =>
        {
            Assert.That(oldCheck.Outcome, Is.EqualTo(CodeCheck.Verified), "issued under the retired key");
            Assert.That(freshCheck.Outcome, Is.EqualTo(CodeCheck.Verified), "issued under the new key");
        });
    }

    /// <summary>Another 6-digit code.</summary>
    protected static string Other(string code) => ((int.Parse(code) + 1) % 1_000_000).ToString("D6");
}

/// <summary>A key ring the tests rotate: the active key first, then retired ones.</summary>
public sealed class RotatableMacKeys : IMacKeyProvider
{
    private List<CafConnect.Infrastructure.Keys.MacKey> _keys = [New(active: true)];

    public void Rotate() => _keys = [New(active: true), .. _keys.Select(k => k with { IsActive = false })];

    public void DropRetired() => _keys = _keys.Where(k => k.IsActive).ToList();

    public ValueTask<IReadOnlyList<CafConnect.Infrastructure.Keys.MacKey>> GetKeysAsync(CancellationToken cancellationToken = default) =>
        ValueTask.FromResult<IReadOnlyList<CafConnect.Infrastructure.Keys.MacKey>>(_keys);

    private static CafConnect.Infrastructure.Keys.MacKey New(bool active) =>
        new(Guid.NewGuid().ToString("N"), System.Security.Cryptography.RandomNumberGenerator.GetBytes(32), active);
}
