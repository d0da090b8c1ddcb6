using System.Diagnostics.Metrics;
using System.Net;
using CafConnect.IdP.Demo;
using CafConnect.IdP.Tests.Features.AccountCreation;
using CafConnect.IdP.Tests.Features.FirstLogin;
using CafConnect.IdP.Tests.Features.Recovery;
using CafConnect.IdP.Tests.Support;
using CafConnect.Infrastructure.Audit;
using CafConnect.Infrastructure.Notifications;
using CafConnect.Infrastructure.Observability;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;

namespace CafConnect.IdP.Tests.Security;

/// <summary>
/// One ceiling per person on the messages a stranger can make CafConnect send to their contacts, across journeys
/// (docs/decisions.md #31; the adversarial review of 5 December 2026: « Créer Mon Compte » and « Mot de passe oublié ? »
/// each allowed 5 flows an hour × 4 sends, added together). Over HTTP on the real host, both stores, with the ceiling
/// lowered to 4 an hour (6 a day) so that the journeys' own limits (5 flows an hour per identifier) are not what stops.
/// Before the ceiling existed, the fifth send was delivered: these tests failed.
/// </summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
public sealed class MessageCeilingTests(StoreKind kind)
{
    private const int PerHour = 4;
    private const string UnknownNir = "1850575112099";

    private JourneyHost StartHost() => HostStore.Start(kind, new Dictionary<string, string?>
    {
        ["Messages:Cap:PerHour"] = PerHour.ToString(),
        ["Messages:Cap:PerDay"] = "6",
    });

    private static Task<int> CodesToAsync(JourneyHost host, string recipient) =>
        host.QueryAsync(db => db.OutboxMessages.AsNoTracking().CountAsync(m => m.Recipient == recipient && m.Kind == NotificationKind.VerificationCode));

    [Test]
    public async Task Creation_and_recovery_for_one_person_share_one_ceiling_then_each_sends_nothing_more_notices_still_go_out_and_others_are_unaffected()
    {
        await using var host = StartHost();
        var meters = host.Host.Services.GetRequiredService<IMeterFactory>();
        using var capped = new MetricCollector<long>(meters, CafConnectMetrics.MeterName, "cafconnect.messages.capped");

        // Someone who knows Léa's NIR and civil status: « Créer Mon Compte » twice, « Mot de passe oublié ? » twice.
        var first = new AccountCreationDriver(host);
        var firstVerify = await first.SubmitWithNirAndChooseAsync(AccountCreationDriver.Lea());
        var firstCode = await first.CodeSentToAsync(AccountCreationDriver.LeaMobile);
        await new AccountCreationDriver(host).SubmitWithNirAndChooseAsync(AccountCreationDriver.Lea());
        await new RecoveryDriver(host.Host.CreateBrowser()).RequestCodePageAsync(AccountCreationDriver.LeaNir);
        await new RecoveryDriver(host.Host.CreateBrowser()).RequestCodePageAsync(AccountCreationDriver.LeaNir);
        Assert.That(await CodesToAsync(host, AccountCreationDriver.LeaMobile), Is.EqualTo(PerHour), "every journey's code went out up to the ceiling");

        // Creation: the next send is refused with the journey's own "too many codes" answer.
        var creation = new AccountCreationDriver(host);
        var choice = FirstLoginDriver.Next(await creation.SubmitWithNirAsync(AccountCreationDriver.Lea()));
        var refused = await creation.Pages.PostAsync(choice, new Dictionary<string, string> { ["Choice"] = "sms" });
        Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(WebUtility.HtmlDecode(await refused.Content.ReadAsStringAsync()),
            Does.Contain("Vous avez demandé le nombre maximum de codes pour ces coordonnées. Recommencez plus tard."));

        // Recovery: the same whole answer as for an unknown NIR (it must not tell that Léa exists), and nothing sent.
        var lea = new RecoveryDriver(host.Host.CreateBrowser());
        var nobody = new RecoveryDriver(host.Host.CreateBrowser());
        var leaRequest = await lea.RequestAsync(AccountCreationDriver.LeaNir);
        var nobodyRequest = await nobody.RequestAsync(UnknownNir);
        ResponseSnapshot.AssertAllEqual("POST identifier, ceiling spent",
            [("Léa", await ResponseSnapshot.OfAsync(leaRequest)), ("NIR inconnu", await ResponseSnapshot.OfAsync(nobodyRequest))]);
        ResponseSnapshot.AssertAllEqual("GET code page, ceiling spent",
            [("Léa", await ResponseSnapshot.OfAsync(await lea.Browser.GetAsync(leaRequest.Headers.Location))),
             ("NIR inconnu", await ResponseSnapshot.OfAsync(await nobody.Browser.GetAsync(nobodyRequest.Headers.Location)))]);
        Assert.That(await CodesToAsync(host, AccountCreationDriver.LeaMobile), Is.EqualTo(PerHour), "no code beyond the ceiling, in any journey");

        // Security notices are never capped: Léa finishes her first creation with the code she received.
        var terms = FirstLoginDriver.Next(await first.Pages.PostAsync(firstVerify, new Dictionary<string, string> { ["Code"] = firstCode }));
        Assert.That(terms.AbsolutePathOrOriginal(), Is.EqualTo("/premiere-connexion/conditions"));
        var notices = await host.QueryAsync(db => db.OutboxMessages.AsNoTracking()
            .Where(m => m.Recipient == AccountCreationDriver.LeaMobile && m.Kind == NotificationKind.AccountCreated).CountAsync());
        Assert.That(notices, Is.EqualTo(1), "« Vous venez de créer votre Espace Mon Compte » still goes out");

        // Another person is not affected: Paul's first login sends its code.
        var paul = new FirstLoginDriver(host.Host.CreateBrowser());
        var contact = await paul.AcceptTermsAndChoosePasswordAsync(await paul.LoginWithLegacyCodeAsync());
        var paulVerify = await paul.PostAsync(contact, new Dictionary<string, string> { ["Channel"] = "Sms" });
        Assert.That(paulVerify.StatusCode, Is.EqualTo(HttpStatusCode.Redirect), await OidcDriver.ErrorsOf(paulVerify));
        Assert.That(await CodesToAsync(host, FirstLoginDriver.PaulMobile), Is.EqualTo(1));

        var audit = await host.QueryAsync(db => db.AuditEvents.AsNoTracking().Where(e => e.Type == AuditEventTypes.MessageCapped).OrderBy(e => e.Id).ToListAsync());
        var leaId = (await host.QueryAsync(db => db.Persons.AsNoTracking().SingleAsync(p => p.Nir == DemoData.LeaDubois.Nir))).Id;
        Assert.Multiple(() =>
        {
            Assert.That(audit.Select(e => (e.Outcome, e.PersonId, e.Details?.Split(';')[0])), Is.EqualTo(new[]
            {
                ("refused", (Guid?)leaId, (string?)"journey=account-creation"),
                ("withheld", leaId, "journey=recovery"),
            }));
            Assert.That(capped.GetMeasurementSnapshot().Select(m => ((string?)m.Tags["journey"], (string?)m.Tags["outcome"])),
                Is.EqualTo(new[] { ("account-creation", "refused"), ("recovery", "withheld") }));
        });
    }

    [Test]
    public async Task The_first_login_and_recovery_share_the_ceiling_of_one_person_and_the_first_login_then_says_so()
    {
        var clock = new ManualClock();
        await using var host = JourneyHost.Start(kind, new Dictionary<string, string?>
        {
            ["Notifications:FileSink:Directory"] = HostStore.NewSinkDirectory(),
            ["Recovery:RateLimit:KeyPrefix"] = $"test-{Guid.NewGuid():N}:",
            ["Messages:Cap:PerHour"] = PerHour.ToString(),
            ["Messages:Cap:PerDay"] = "6",
        }, services => services.AddSingleton<TimeProvider>(clock));

        // Sophie knows the file's code and Paul's NIR: his first login (a code, then « Renvoyer le code »), then recovery twice.
        var someone = new FirstLoginDriver(host.Host.CreateBrowser());
        var contact = await someone.AcceptTermsAndChoosePasswordAsync(await someone.LoginWithLegacyCodeAsync());
        var verify = FirstLoginDriver.Next(await someone.PostAsync(contact, new Dictionary<string, string> { ["Channel"] = "Sms" }));
        clock.Advance(TimeSpan.FromSeconds(31));
        Assert.That((await someone.PostAsync(verify, new Dictionary<string, string>(), "Resend")).StatusCode, Is.EqualTo(HttpStatusCode.Redirect));
        for (var i = 0; i < 2; i++)
        {
            await new RecoveryDriver(host.Host.CreateBrowser()).RequestCodePageAsync(FirstLoginDriver.PaulNir);
        }
        Assert.That(await CodesToAsync(host, FirstLoginDriver.PaulMobile), Is.EqualTo(PerHour));

        // The first login's next code is refused with its own "too many codes" answer; nothing is sent.
        clock.Advance(TimeSpan.FromSeconds(31));
        var refused = await someone.PostAsync(verify, new Dictionary<string, string>(), "Resend");
        Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(await OidcDriver.ErrorsOf(refused), Does.Contain("Vous avez demandé le nombre maximum de codes pour ces coordonnées."));
        Assert.That(await CodesToAsync(host, FirstLoginDriver.PaulMobile), Is.EqualTo(PerHour));

        // Another person's recovery still sends.
        await new RecoveryDriver(host.Host.CreateBrowser()).RequestCodePageAsync(DemoData.KarimBenali.Nir!);
        Assert.That(await CodesToAsync(host, DemoData.KarimBenali.Mobile!), Is.EqualTo(1));
    }

    [Test]
    public async Task Once_the_ceiling_is_spent_the_forgotten_file_code_and_the_provisional_id_reminder_answer_as_before_and_send_nothing()
    {
        await using var host = StartHost();
        // Recovery for Paul (holder of 0412345) and for Amina (provisional id) until each ceiling is spent.
        foreach (var identifier in new[] { FirstLoginDriver.PaulNir, DemoData.AminaDiallo.ProvisionalId! })
        {
            for (var i = 0; i < PerHour; i++)
            {
                await new RecoveryDriver(host.Host.CreateBrowser()).RequestCodePageAsync(identifier);
            }
        }

        // « Code confidentiel oublié » on the voice server for Paul's file: the same 202, no SMS, the old code kept.
        var phone = await Features.PhoneChannel.ForgottenFileCodeTests.AskAsync(host, "0412345");
        Assert.That(phone.StatusCode, Is.EqualTo(HttpStatusCode.Accepted));

        // « Identifiant provisoire oublié ? » for Amina with her verified e-mail: the same page, nothing sent.
        var reminder = await new FirstLoginDriver(host.Host.CreateBrowser()).PostAsync(new Uri("/identifiant-provisoire-oublie", UriKind.Relative), new Dictionary<string, string>
        {
            ["BirthName"] = "Diallo", ["GivenNames"] = "amina", ["BirthDate"] = "09/05/1990", ["Contact"] = "amina.diallo@example.fr",
        });
        Assert.That(reminder.StatusCode, Is.EqualTo(HttpStatusCode.Redirect));
        Assert.That(reminder.Headers.Location!.AbsolutePathOrOriginal(), Is.EqualTo("/identifiant-provisoire-oublie/envoye"));

        var sent = await host.QueryAsync(db => db.OutboxMessages.AsNoTracking()
            .Where(m => m.Kind == NotificationKind.FileCodeIssued || m.Kind == NotificationKind.ProvisionalIdReminder).CountAsync());
        var outcomes = await host.QueryAsync(db => db.AuditEvents.AsNoTracking()
            .Where(e => e.Type == AuditEventTypes.LegacyCodeRequested || e.Type == AuditEventTypes.ProvisionalIdReminderRequested)
            .OrderBy(e => e.Id).Select(e => e.Outcome).ToListAsync());
        Assert.Multiple(() =>
        {
            Assert.That(sent, Is.Zero, "neither the file code nor the reminder went out");
            Assert.That(outcomes, Is.EqualTo(new[] { "capped", "capped" }));
        });
    }
}
