using System.Net;
using CafConnect.Application.CodeStep;
using CafConnect.Infrastructure.Audit;
using CafConnect.Infrastructure.Notifications;
using CafConnect.Infrastructure.Persistence;
using CafConnect.Infrastructure.Tests.Support;
using CafConnect.Infrastructure.Throttling;
using CafConnect.Infrastructure.Verification;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace CafConnect.Application.Tests.CodeStep;

/// <summary>
/// The code step without HTTP: sends (messages, audit, decoys, per-flow counting for recovery), checks (messages,
/// the guess budget of the login throttle per account or per claimed identity), on SQLite with codes and counters in
/// memory and on PostgreSQL with Redis.
/// </summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
public sealed class VerificationCodeStepTests(StoreKind kind)
{
    private static readonly IPAddress ClientIp = IPAddress.Parse("192.0.2.44");
    private const string Mobile = "+33615009901";

    private CodeStepHarness _harness = null!;

    [SetUp]
    public async Task Start() => _harness = await CodeStepHarness.StartAsync(kind, new Dictionary<string, string?>
    {
        // Lock at 5 here (default 10) to keep the tests short; the delays are those of production.
        ["Throttling:LockAfterFailures"] = "5",
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

    private async Task<T> InScopeAsync<T>(Func<VerificationCodeStep, CafConnectDbContext, Task<T>> action)
    {
        await using var scope = _harness.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<CafConnectDbContext>();
        var result = await action(scope.ServiceProvider.GetRequiredService<VerificationCodeStep>(), db);
        await db.SaveChangesAsync();
        return result;
    }

    private Task<CodeSendAnswer> SendAsync(CodePurpose purpose, string flow, CodeDestination destination, Guid? personId) =>
        InScopeAsync((step, _) => step.SendAsync(new SendCodeRequest(purpose, flow, destination, personId, "caf-fr"), CancellationToken.None));

    private Task<CodeCheckAnswer> CheckAsync(string flow, CodeDestination destination, string? typed, GuessBudget budget, Guid? personId = null, CodePurpose purpose = CodePurpose.ContactVerification) =>
        InScopeAsync((step, _) => step.CheckAsync(new CheckCodeRequest(purpose, flow, destination, typed, budget, ClientIp, personId, "caf-fr"), CancellationToken.None));

    private Task<List<AuditEvent>> AuditAsync() => InScopeAsync((_, db) => db.AuditEvents.AsNoTracking().OrderBy(e => e.Id).ToListAsync());

    [Test]
    public async Task A_send_queues_the_message_with_its_validity_and_audits_it_and_a_decoy_sends_nothing()
    {
        var person = await _harness.AddPersonAsync();
        var flow = NewFlow();
        var sent = await SendAsync(CodePurpose.ContactVerification, flow, new CodeDestination(ContactChannel.Sms, Mobile), person.Id);
        var decoy = await SendAsync(CodePurpose.PasswordRecovery, NewFlow(), new CodeDestination(ContactChannel.Sms, "0600000000", Deliver: false), null);

        var messages = await InScopeAsync((_, db) => db.OutboxMessages.AsNoTracking().ToListAsync());
        var audit = await AuditAsync();
        Assert.Multiple(() =>
        {
            Assert.That(sent.Sent && decoy.Sent, Is.True);
            Assert.That(messages.Select(m => (m.Kind, m.Channel, m.Recipient, m.PersonId)),
                Is.EqualTo(new[] { (NotificationKind.VerificationCode, NotificationChannel.Sms, Mobile, (Guid?)person.Id) }), "one message: the decoy's goes nowhere");
            Assert.That(messages.Single().IdempotencyKey, Does.StartWith($"code:{flow}:"));
            Assert.That(audit.Select(e => (e.Type, e.Outcome, e.PersonId, e.ClientId)),
                Is.EqualTo(new[] { (AuditEventTypes.ContactCodeSent, (string?)"Sms", (Guid?)person.Id, (string?)"caf-fr") }));
        });
    }

    [Test]
    public async Task Refusals_of_a_send_are_French_and_recovery_counts_sends_per_flow_whatever_the_contact()
    {
        var flow = NewFlow();
        await SendAsync(CodePurpose.PasswordRecovery, flow, new CodeDestination(ContactChannel.Sms, Mobile, Deliver: false), null);
        var otherContactAtOnce = await SendAsync(CodePurpose.PasswordRecovery, flow, new CodeDestination(ContactChannel.Email, "a@example.fr", Deliver: false), null);
        var firstLogin = NewFlow();
        await SendAsync(CodePurpose.ContactVerification, firstLogin, new CodeDestination(ContactChannel.Sms, Mobile, Deliver: false), null);
        var firstLoginOtherContact = await SendAsync(CodePurpose.ContactVerification, firstLogin, new CodeDestination(ContactChannel.Email, "a@example.fr", Deliver: false), null);
        var sameContactAtOnce = await SendAsync(CodePurpose.ContactVerification, firstLogin, new CodeDestination(ContactChannel.Email, "a@example.fr", Deliver: false), null);
        for (var i = 0; i < 3; i++)
        {
            _harness.Clock.Advance(TimeSpan.FromSeconds(31));
            await SendAsync(CodePurpose.PasswordRecovery, flow, new CodeDestination(i % 2 == 0 ? ContactChannel.Email : ContactChannel.Sms, i % 2 == 0 ? "a@example.fr" : Mobile, Deliver: false), null);
        }
        _harness.Clock.Advance(TimeSpan.FromSeconds(31));
        var fifth = await SendAsync(CodePurpose.PasswordRecovery, flow, new CodeDestination(ContactChannel.Email, "a@example.fr", Deliver: false), null);

        Assert.Multiple(() =>
        {
            Assert.That(otherContactAtOnce.Refusal, Does.StartWith("Un code vient de vous être envoyé. Patientez 30 secondes"), "recovery: the other contact waits too");
            Assert.That(firstLoginOtherContact.Sent, Is.True, "first login: another contact is another count");
            Assert.That(sameContactAtOnce.Refusal, Does.StartWith("Un code vient de vous être envoyé. Patientez"));
            Assert.That(fifth.Refusal, Is.EqualTo("Vous avez demandé le nombre maximum de codes. Recommencez la démarche plus tard."));
        });
    }

    [Test]
    public async Task The_right_code_verifies_once_and_wrong_or_malformed_codes_get_the_French_messages()
    {
        var person = await _harness.AddPersonAsync();
        var flow = NewFlow();
        var destination = new CodeDestination(ContactChannel.Sms, Mobile);
        await SendAsync(CodePurpose.ContactVerification, flow, destination, person.Id);
        var code = _harness.Codes.LastCodeOf(flow);
        var budget = GuessBudget.ForAccount(person);

        var malformed = await CheckAsync(flow, destination, "12 3a", budget, person.Id);
        var wrong = await CheckAsync(flow, destination, code == "000000" ? "111111" : "000000", budget, person.Id);
        var right = await CheckAsync(flow, destination, " " + code[..3] + " " + code[3..], budget, person.Id);
        var again = await CheckAsync(flow, destination, code, budget, person.Id);

        var audit = await AuditAsync();
        Assert.Multiple(() =>
        {
            Assert.That(malformed, Is.EqualTo(new CodeCheckAnswer(false, "Le code de vérification comporte 6 chiffres.")));
            Assert.That(wrong, Is.EqualTo(new CodeCheckAnswer(false, "Le code saisi est incorrect. Il vous reste 4 essais.")));
            Assert.That(right.Verified, Is.True, "spaces are ignored");
            Assert.That(again, Is.EqualTo(new CodeCheckAnswer(false, "Ce code n'est plus valable. Demandez l'envoi d'un nouveau code.")), "used once");
            Assert.That(audit.Where(e => e.Type == AuditEventTypes.ContactCodeRejected).Select(e => e.Outcome), Is.EqualTo(new[] { "Wrong", "Expired" }),
                "a malformed code is no guess: not audited as one");
            Assert.That(audit.Any(e => (e.Details ?? "").Contains(code) || (e.Outcome ?? "").Contains(code)), Is.False, "never a code in the audit trail");
        });
    }

    [Test]
    public async Task Checks_spend_the_account_budget_delayed_after_three_refused_like_a_wrong_code_and_locked_even_for_the_right_code()
    {
        var person = await _harness.AddPersonAsync();
        var budget = GuessBudget.ForAccount(person);
        var flow = NewFlow();
        var destination = new CodeDestination(ContactChannel.Sms, Mobile);
        await SendAsync(CodePurpose.ContactVerification, flow, destination, person.Id);
        var answers = new List<string?>();
        for (var i = 0; i < 3; i++)
        {
            answers.Add((await CheckAsync(flow, destination, "999999", budget, person.Id)).Error);
        }
        var code = _harness.Codes.LastCodeOf(flow);
        var rightDuringDelay = await CheckAsync(flow, destination, code, budget, person.Id);

        // The code is void after 5 entries: each further guess needs a new flow, which brings no new budget.
        for (var guess = 0; guess < 2; guess++)
        {
            _harness.Clock.Advance(TimeSpan.FromSeconds(65));
            var next = NewFlow();
            await SendAsync(CodePurpose.ContactVerification, next, destination, person.Id);
            await CheckAsync(next, destination, "999999", budget, person.Id);
        }
        _harness.Clock.Advance(TimeSpan.FromSeconds(65));
        var last = NewFlow();
        await SendAsync(CodePurpose.ContactVerification, last, destination, person.Id);
        var rightWhileLocked = await CheckAsync(last, destination, _harness.Codes.LastCodeOf(last), budget, person.Id);

        var audit = await AuditAsync();
        var state = await _harness.Services.GetRequiredService<IThrottleStore>().GetAsync(ThrottleKeys.ForPerson(person.Id));
        Assert.Multiple(() =>
        {
            Assert.That(answers, Is.EqualTo(new[]
            {
                "Le code saisi est incorrect. Il vous reste 4 essais.", "Le code saisi est incorrect. Il vous reste 3 essais.",
                "Le code saisi est incorrect. Il vous reste 2 essais.",
            }));
            Assert.That(rightDuringDelay, Is.EqualTo(new CodeCheckAnswer(false, "Le code saisi est incorrect. Il vous reste 1 essai.")),
                "refused by the delay: answered like a wrong code, and the code's entry is spent");
            Assert.That(rightWhileLocked, Is.EqualTo(new CodeCheckAnswer(false, "Le code saisi est incorrect. Il vous reste 4 essais.")), "locked: the right code is refused");
            Assert.That(state!.LockedUntil, Is.GreaterThan(_harness.Clock.GetUtcNow()), "five failures (the lowered threshold) lock the account");
            Assert.That(audit.Count(e => e.Type == AuditEventTypes.AccountLocked && e.PersonId == person.Id), Is.EqualTo(1));
            Assert.That(audit.Where(e => e.Type == AuditEventTypes.ContactCodeRejected).Select(e => e.Outcome),
                Is.EqualTo(new[] { "Wrong", "Wrong", "Wrong", "throttled", "Wrong", "Wrong", "locked" }));
        });
    }

    [Test]
    public async Task A_send_commits_nothing_the_callers_step_commits_the_message_and_its_audit_line()
    {
        var person = await _harness.AddPersonAsync();
        await using (var scope = _harness.Services.CreateAsyncScope())
        {
            // The caller's step fails after the send (its commit never happens): nothing of the send is stored.
            var sent = await scope.ServiceProvider.GetRequiredService<VerificationCodeStep>().SendAsync(
                new SendCodeRequest(CodePurpose.ContactVerification, NewFlow(), new CodeDestination(ContactChannel.Sms, Mobile), person.Id, "caf-fr"), CancellationToken.None);
            Assert.That(sent.Sent, Is.True);
        }
        var messages = await InScopeAsync((_, db) => db.OutboxMessages.AsNoTracking().CountAsync());
        Assert.That(messages, Is.Zero, "the message waits for the caller's one commit");
        Assert.That(await AuditAsync(), Is.Empty);
    }

    [Test]
    public async Task A_rejected_guess_counts_even_when_its_step_fails_to_commit()
    {
        var person = await _harness.AddPersonAsync();
        var budget = GuessBudget.ForAccount(person);
        var flow = NewFlow();
        var destination = new CodeDestination(ContactChannel.Sms, Mobile);
        await SendAsync(CodePurpose.ContactVerification, flow, destination, person.Id);
        var wrong = _harness.Codes.LastCodeOf(flow) == "000000" ? "111111" : "000000";

        await using (var scope = _harness.Services.CreateAsyncScope())
        {
            // The store refuses every commit of this request (an outage, a rollback): the check throws.
            var db = scope.ServiceProvider.GetRequiredService<CafConnectDbContext>();
            db.SavingChanges += (_, _) => throw new InvalidOperationException("store unavailable");
            Assert.ThrowsAsync<InvalidOperationException>(() => scope.ServiceProvider.GetRequiredService<VerificationCodeStep>().CheckAsync(
                new CheckCodeRequest(CodePurpose.ContactVerification, flow, destination, wrong, budget, ClientIp, person.Id, "caf-fr"), CancellationToken.None));
        }

        // The guess was counted before the code was compared, outside the store's transaction: in the throttle's store
        // (the account's budget) and in the code store (the code's entries).
        var state = await _harness.Services.GetRequiredService<IThrottleStore>().GetAsync(ThrottleKeys.ForPerson(person.Id));
        var next = await CheckAsync(flow, destination, wrong, budget, person.Id);
        Assert.Multiple(() =>
        {
            Assert.That(state?.ConsecutiveFailures, Is.EqualTo(1), "the account's budget is spent");
            Assert.That(next, Is.EqualTo(new CodeCheckAnswer(false, "Le code saisi est incorrect. Il vous reste 3 essais.")),
                "the failed request's entry is spent too: one more wrong entry leaves 3, not 4");
        });
    }

    [Test]
    public async Task A_right_code_forgets_the_failures_like_a_right_password()
    {
        var person = await _harness.AddPersonAsync();
        var budget = GuessBudget.ForAccount(person);
        var flow = NewFlow();
        var destination = new CodeDestination(ContactChannel.Sms, Mobile);
        await SendAsync(CodePurpose.ContactVerification, flow, destination, person.Id);
        await CheckAsync(flow, destination, "999999", budget, person.Id);
        await CheckAsync(flow, destination, "999998", budget, person.Id);
        Assert.That((await CheckAsync(flow, destination, _harness.Codes.LastCodeOf(flow), budget, person.Id)).Verified, Is.True);
        var state = await _harness.Services.GetRequiredService<IThrottleStore>().GetAsync(ThrottleKeys.ForPerson(person.Id));
        Assert.That(state?.ConsecutiveFailures ?? 0, Is.Zero);
    }

    [Test]
    public async Task Without_an_account_the_claimed_identity_is_the_budget_shared_by_every_flow_and_contact_claiming_it()
    {
        var claimed = GuessBudget.ForClaimedIdentity("civil:MORVAN|DANIEL|1962-09-09");
        var other = GuessBudget.ForClaimedIdentity("civil:MORVAN|DANIEL|1962-09-10");
        for (var i = 0; i < 5; i++)
        {
            _harness.Clock.Advance(TimeSpan.FromSeconds(65));
            var flow = NewFlow();
            var destination = new CodeDestination(ContactChannel.Email, $"tentative{i}@example.fr");
            await SendAsync(CodePurpose.AccountCreation, flow, destination, null);
            await CheckAsync(flow, destination, "999999", claimed, purpose: CodePurpose.AccountCreation);
        }
        var owner = NewFlow();
        var ownerDestination = new CodeDestination(ContactChannel.Email, "daniel@example.fr");
        await SendAsync(CodePurpose.AccountCreation, owner, ownerDestination, null);
        var locked = await CheckAsync(owner, ownerDestination, _harness.Codes.LastCodeOf(owner), claimed, purpose: CodePurpose.AccountCreation);
        var elsewhere = NewFlow();
        await SendAsync(CodePurpose.AccountCreation, elsewhere, ownerDestination, null);
        var otherIdentity = await CheckAsync(elsewhere, ownerDestination, _harness.Codes.LastCodeOf(elsewhere), other, purpose: CodePurpose.AccountCreation);

        Assert.Multiple(() =>
        {
            Assert.That(locked.Verified, Is.False, "five failures on five flows and contacts lock the claimed identity");
            Assert.That(otherIdentity.Verified, Is.True, "another identity has its own budget");
            Assert.That(claimed.Key, Does.StartWith("identity:").And.Not.Contain("MORVAN"), "the claim is hashed into the key");
        });
    }

    [Test]
    public void The_resent_marker_is_added_to_the_code_page_url()
    {
        Assert.Multiple(() =>
        {
            Assert.That(VerificationCodeStep.MarkResent("/mot-de-passe-oublie/code?flow=abc"), Is.EqualTo("/mot-de-passe-oublie/code?flow=abc&renvoye=1"));
            Assert.That(VerificationCodeStep.MarkResent("/page"), Is.EqualTo("/page?renvoye=1"));
        });
    }
}
