using CafConnect.Application.CodeStep;
using CafConnect.Application.RateLimiting;
using CafConnect.Application.Tests.CodeStep;
using CafConnect.Infrastructure.Audit;
using CafConnect.Infrastructure.Notifications;
using CafConnect.Infrastructure.Persistence;
using CafConnect.Infrastructure.Tests.Support;
using CafConnect.Infrastructure.Throttling;
using CafConnect.Infrastructure.Verification;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace CafConnect.Application.Tests.RateLimiting;

/// <summary>
/// The one ceiling per person and per contact on the messages others can make CafConnect send (docs/decisions.md #31),
/// through the code step every code journey calls, without HTTP, on SQLite with counters in memory and on PostgreSQL
/// with Redis. The ceiling is lowered (3 an hour, 5 a day) to keep the tests short.
/// </summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
public sealed class MessageCapTests(StoreKind kind)
{
    private const int PerHour = 3;
    private const int PerDay = 5;
    private const string Mobile = "+33615009901";

    private CodeStepHarness _harness = null!;

    [SetUp]
    public async Task Start() => _harness = await CodeStepHarness.StartAsync(kind, new Dictionary<string, string?>
    {
        ["Messages:Cap:PerHour"] = PerHour.ToString(),
        ["Messages:Cap:PerDay"] = PerDay.ToString(),
    });

    [TearDown]
    public async Task Stop()
    {
        if (_harness is not null)
        {
            await _harness.DisposeAsync();
        }
    }

    private static string NewFlow() => "flow-" + Guid.NewGuid().ToString("N");

    private async Task<T> InScopeAsync<T>(Func<IServiceProvider, CafConnectDbContext, Task<T>> action)
    {
        await using var scope = _harness.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<CafConnectDbContext>();
        var result = await action(scope.ServiceProvider, db);
        await db.SaveChangesAsync();
        return result;
    }

    /// <summary>One code in a new flow (so the code store's own per-flow limits never interfere).</summary>
    private Task<CodeSendAnswer> SendAsync(CodePurpose purpose, CodeDestination destination, Guid? personId, string? claimedIdentityKey = null) =>
        InScopeAsync((services, _) => services.GetRequiredService<VerificationCodeStep>().SendAsync(
            new SendCodeRequest(purpose, NewFlow(), destination, personId, "caf-fr", claimedIdentityKey), CancellationToken.None));

    private Task<List<OutboxMessage>> MessagesAsync() => InScopeAsync((_, db) => db.OutboxMessages.AsNoTracking().OrderBy(m => m.Id).ToListAsync());

    private Task<List<AuditEvent>> CappedAsync() =>
        InScopeAsync((_, db) => db.AuditEvents.AsNoTracking().Where(e => e.Type == AuditEventTypes.MessageCapped).OrderBy(e => e.Id).ToListAsync());

    [Test]
    public void Every_kind_of_message_is_classified()
    {
        // A new kind of message must say here whether strangers can trigger it (capped) or it must always go out.
        Assert.That(() => Enum.GetValues<NotificationKind>().Select(MessageCap.Classify).ToList(), Throws.Nothing);
        Assert.Multiple(() =>
        {
            Assert.That(MessageCap.Classify(NotificationKind.VerificationCode), Is.EqualTo(MessageClass.Capped));
            Assert.That(MessageCap.Classify(NotificationKind.PasswordChanged), Is.EqualTo(MessageClass.SecurityNotice));
            Assert.That(MessageCap.Classify(NotificationKind.ContactChanged), Is.EqualTo(MessageClass.SecurityNotice), "« si ce n'est pas vous »");
            Assert.That(MessageCap.Classify(NotificationKind.AccountLocked), Is.EqualTo(MessageClass.SecurityNotice));
        });
    }

    [Test]
    public async Task Codes_of_every_journey_share_one_ceiling_per_person_and_the_next_is_refused_with_the_journeys_message()
    {
        var person = await _harness.AddPersonAsync();
        var mobile = new CodeDestination(ContactChannel.Sms, Mobile);
        var email = new CodeDestination(ContactChannel.Email, "camille@example.fr");

        // Creation, first login and creation again, to two contacts of the same person: one budget.
        var allowed = new[]
        {
            await SendAsync(CodePurpose.AccountCreation, mobile, person.Id),
            await SendAsync(CodePurpose.ContactVerification, email, person.Id),
            await SendAsync(CodePurpose.AccountCreation, email, person.Id),
        };
        var creation = await SendAsync(CodePurpose.AccountCreation, mobile, person.Id);
        var firstLogin = await SendAsync(CodePurpose.ContactVerification, email, person.Id);
        var other = await _harness.AddPersonAsync("+33615009902");
        var otherPerson = await SendAsync(CodePurpose.ContactVerification, new CodeDestination(ContactChannel.Sms, "+33615009902"), other.Id);

        var messages = await MessagesAsync();
        var capped = await CappedAsync();
        Assert.Multiple(() =>
        {
            Assert.That(allowed.All(a => a.Sent), Is.True);
            Assert.That(creation.Refusal, Is.EqualTo(CodeStepMessages.TooManySends(CodePurpose.AccountCreation)));
            Assert.That(firstLogin.Refusal, Is.EqualTo(CodeStepMessages.TooManySends(CodePurpose.ContactVerification)));
            Assert.That(otherPerson.Sent, Is.True, "another person is not affected");
            Assert.That(messages.Count(m => m.PersonId == person.Id), Is.EqualTo(PerHour));
            Assert.That(messages.Count(m => m.PersonId == other.Id), Is.EqualTo(1));
            Assert.That(capped.Select(e => (e.Outcome, e.PersonId)), Is.EqualTo(new[] { ((string?)"refused", (Guid?)person.Id), ("refused", person.Id) }));
            Assert.That(capped[0].Details, Is.EqualTo("journey=account-creation; scope=person; channel=Sms"));
            Assert.That(capped[1].Details, Does.StartWith("journey=first-login; scope=person"));
        });
    }

    [Test]
    public async Task Without_a_person_flows_aimed_at_one_mobile_share_its_ceiling_however_it_is_written()
    {
        var spellings = new[] { "+33615009977", "06 15 00 99 77", "0033615009977", "06.15.00.99.77" };
        var answers = new List<CodeSendAnswer>();
        foreach (var spelling in spellings)
        {
            answers.Add(await SendAsync(CodePurpose.AccountCreation, new CodeDestination(ContactChannel.Sms, spelling), null));
        }
        var mail = await SendAsync(CodePurpose.AccountCreation, new CodeDestination(ContactChannel.Email, "Camille@Example.fr"), null);
        for (var i = 0; i < PerHour - 1; i++)
        {
            await SendAsync(CodePurpose.AccountCreation, new CodeDestination(ContactChannel.Email, "camille@example.fr"), null);
        }
        var mailAgain = await SendAsync(CodePurpose.AccountCreation, new CodeDestination(ContactChannel.Email, "CAMILLE@example.FR"), null);

        Assert.Multiple(() =>
        {
            Assert.That(answers.Select(a => a.Sent), Is.EqualTo(new[] { true, true, true, false }));
            Assert.That(mail.Sent, Is.True, "an address has its own budget");
            Assert.That(mailAgain.Sent, Is.False, "an address counts ignoring case");
        });
    }

    [Test]
    public async Task The_day_counts_only_what_the_hour_let_through_and_a_new_hour_allows_up_to_the_day()
    {
        var person = await _harness.AddPersonAsync();
        var mobile = new CodeDestination(ContactChannel.Sms, Mobile);
        async Task<bool[]> Burst(int count)
        {
            var sent = new bool[count];
            for (var i = 0; i < count; i++)
            {
                sent[i] = (await SendAsync(CodePurpose.ContactVerification, mobile, person.Id)).Sent;
            }
            return sent;
        }

        var firstHour = await Burst(10);
        _harness.Clock.Advance(TimeSpan.FromMinutes(61));
        var secondHour = await Burst(3);
        _harness.Clock.Advance(TimeSpan.FromMinutes(61));
        var thirdHour = await Burst(1);
        _harness.Clock.Advance(TimeSpan.FromDays(1));
        var nextDay = await Burst(1);

        Assert.Multiple(() =>
        {
            Assert.That(firstHour.Count(s => s), Is.EqualTo(PerHour), "10 tries in one hour spend one hour's worth of the day, not 10");
            Assert.That(secondHour, Is.EqualTo(new[] { true, true, false }), "the day's ceiling (5) after 3 + 2");
            Assert.That(thirdHour, Is.EqualTo(new[] { false }));
            Assert.That(nextDay, Is.EqualTo(new[] { true }));
        });
    }

    [Test]
    public async Task Recovery_answers_alike_for_a_known_and_an_unknown_identifier_and_withholds_when_the_persons_budget_is_spent()
    {
        var person = await _harness.AddPersonAsync();
        var mobile = new CodeDestination(ContactChannel.Sms, Mobile);
        var known = ThrottleKeys.ForClaimedIdentity("nir:285037511204800");
        var unknown = ThrottleKeys.ForClaimedIdentity("nir:185037511204899");
        var decoy = new CodeDestination(ContactChannel.Sms, "0600000000", Deliver: false);

        // Someone spends the person's budget through another journey.
        for (var i = 0; i < PerHour; i++)
        {
            await SendAsync(CodePurpose.AccountCreation, mobile, person.Id);
        }
        // Recovery for that person and for an unknown identifier, until the identifier's own count is spent.
        var knownAnswers = new List<string?>();
        var unknownAnswers = new List<string?>();
        for (var i = 0; i <= PerHour; i++)
        {
            knownAnswers.Add((await SendAsync(CodePurpose.PasswordRecovery, mobile, person.Id, known)).Refusal);
            unknownAnswers.Add((await SendAsync(CodePurpose.PasswordRecovery, decoy, null, unknown)).Refusal);
        }

        var messages = await MessagesAsync();
        var capped = await CappedAsync();
        Assert.Multiple(() =>
        {
            Assert.That(knownAnswers, Is.EqualTo(unknownAnswers), "the answer never tells whether the identifier names someone");
            Assert.That(knownAnswers, Is.EqualTo(new[] { null, null, null, CodeStepMessages.TooManySends(CodePurpose.PasswordRecovery) }));
            Assert.That(messages, Has.Count.EqualTo(PerHour), "no recovery code reached the person once their budget was spent");
            Assert.That(capped.Count(e => e.Outcome == "withheld" && e.PersonId == person.Id), Is.EqualTo(PerHour));
            Assert.That(capped.Count(e => e.Outcome == "refused"), Is.EqualTo(2), "the identifier's count, alike for both");
        });
    }
}
