using CafConnect.IdP.Tests.Features.Recovery;
using CafConnect.Infrastructure.Notifications;
using System.Net;
using CafConnect.IdP.Demo;
using CafConnect.IdP.Tests.Support;
using CafConnect.Infrastructure.Audit;
using CafConnect.Infrastructure.Persistence;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace CafConnect.IdP.Tests.Features.FirstLogin;

/// <summary>
/// "La bascule" over HTTP: a person of a household still on the legacy 8-digit code signs in with their NIR and that
/// code, accepts the terms, chooses a password, verifies their mobile with the code received by SMS, and lands signed in
/// on the relying party. Each test has a store of its own (the journey changes the account).
/// </summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
public sealed class FirstLoginJourneyTests(StoreKind kind)
{
    [Test]
    public async Task Legacy_code_login_goes_through_terms_password_and_SMS_code_then_signs_in_at_the_relying_party()
    {
        await using var host = JourneyHost.Start(kind);
        var person = new FirstLoginDriver(host.Host.CreateBrowser());
        var pkce = Pkce.Create();
        var challenge = await person.Oidc.AuthorizeAsync(OidcDriver.AuthorizationParameters(TestClient.CafFr, pkce));

        var intro = await person.LoginWithLegacyCodeAsync(challenge.Headers.Location!.PathAndQuery);
        Assert.That(intro.AbsolutePathOrOriginal(), Is.EqualTo("/premiere-connexion"));
        var (introPage, introHtml) = await person.GetAsync(intro);
        Assert.That(introPage.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(WebUtility.HtmlDecode(introHtml), Does.Contain("Votre connexion à « Mon Compte » change !").And.Contain("5 à 10 minutes"));
        Assert.That(await person.Browser.GetAsync("/mon-compte") is { StatusCode: HttpStatusCode.Redirect } r && r.Headers.Location!.AbsolutePath == "/connexion",
            Is.True, "no session before the steps are done");

        var terms = FirstLoginDriver.Next(await person.PostAsync(intro, new Dictionary<string, string>()));
        var refusedTerms = await person.PostAsync(terms, new Dictionary<string, string>());
        Assert.That(refusedTerms.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(await OidcDriver.ErrorsOf(refusedTerms), Does.Contain("accepter les conditions générales"));

        var password = FirstLoginDriver.Next(await person.PostAsync(terms, new Dictionary<string, string> { ["Accepted"] = "true" }));
        var weak = await person.PostAsync(password, new Dictionary<string, string> { ["Password"] = "motdepasse", ["Confirmation"] = "motdepasse" });
        Assert.That(weak.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(await OidcDriver.ErrorsOf(weak), Does.Contain("chiffre").And.Contain("majuscule"));
        var mismatch = await person.PostAsync(password, new Dictionary<string, string> { ["Password"] = FirstLoginDriver.NewPassword, ["Confirmation"] = "Autre1Chose" });
        Assert.That(await OidcDriver.ErrorsOf(mismatch), Does.Contain("ne sont pas identiques"));
        var birthDate = await person.PostAsync(password, new Dictionary<string, string> { ["Password"] = "Paul02041978", ["Confirmation"] = "Paul02041978" });
        Assert.That(await OidcDriver.ErrorsOf(birthDate), Does.Contain("date de naissance"));

        var contact = FirstLoginDriver.Next(await person.PostAsync(password, new Dictionary<string, string> { ["Password"] = FirstLoginDriver.NewPassword, ["Confirmation"] = FirstLoginDriver.NewPassword }));
        var (_, contactHtml) = await person.GetAsync(contact);
        Assert.That(WebUtility.HtmlDecode(contactHtml), Does.Contain("d'abord envoyé aux coordonnées connues de votre Caf").And.Contain("06******04"),
            "the records' contact is proven first, shown masked");
        Assert.That(contactHtml, Does.Not.Contain("value=\"06 15 00 00 04\""), "not pre-filled: whoever knows the file's code does not read it");

        var verify = FirstLoginDriver.Next(await person.PostAsync(contact, new Dictionary<string, string> { ["Channel"] = "Sms", ["Mobile"] = "06 15 00 00 04" }));
        var sms = await host.Sms.WaitForAsync(FirstLoginDriver.PaulMobile);
        Assert.That(sms.Authorization, Is.EqualTo("Bearer " + SmsGatewaySink.Token));
        var wrong = await person.PostAsync(verify, new Dictionary<string, string> { ["Code"] = WrongCode(SmsGatewaySink.CodeIn(sms.Text)) });
        Assert.That(await OidcDriver.ErrorsOf(wrong), Does.Contain("incorrect").And.Contain("4 essais"));

        // Paul holds the file with Sophie: « Mes autorisations » ends his first login.
        var delegation = FirstLoginDriver.Next(await person.PostAsync(verify, new Dictionary<string, string> { ["Code"] = SmsGatewaySink.CodeIn(sms.Text) }));
        var back = await person.AnswerDelegationAsync(delegation, "false");
        var authorization = OidcDriver.ToAuthorizationResponse(await person.Browser.GetAsync(back));
        var tokens = await OidcDriver.ReadTokensAsync(await person.Oidc.RedeemCodeAsync(TestClient.CafFr, authorization["code"]!, pkce.Verifier));
        var userInfo = System.Text.Json.JsonDocument.Parse(await (await person.Oidc.UserInfoAsync(tokens.AccessToken)).Content.ReadAsStringAsync()).RootElement;

        Assert.Multiple(async () =>
        {
            Assert.That(userInfo.GetProperty("given_name").GetString(), Is.EqualTo("Paul"));
            Assert.That(userInfo.GetProperty("phone_number").GetString(), Is.EqualTo(FirstLoginDriver.PaulMobile));
            Assert.That(userInfo.GetProperty("phone_number_verified").GetBoolean(), Is.True);
            var confirmation = await host.Sms.WaitForAsync(FirstLoginDriver.PaulMobile, alreadySeen: 1);
            Assert.That(confirmation.Text, Does.Contain("Vous venez de créer votre Espace Mon Compte"));
        });

        // The legacy code no longer opens Paul's account on the web; his new password does, with nothing left to do.
        var again = new OidcDriver(host.Host.CreateBrowser());
        var legacy = await again.SubmitLoginAsync(new Uri("/connexion", UriKind.Relative), FirstLoginDriver.PaulNir, DemoData.MartinLegacyCode);
        Assert.That(await OidcDriver.ErrorsOf(legacy), Does.Contain("incorrect"));
        var fresh = await again.SubmitLoginAsync(new Uri("/connexion", UriKind.Relative), FirstLoginDriver.PaulNir, FirstLoginDriver.NewPassword);
        Assert.That(fresh.Headers.Location!.OriginalString, Is.EqualTo("/mon-compte"));
    }

    [Test]
    public async Task The_partner_uses_the_same_legacy_code_once_for_their_own_first_login()
    {
        await using var host = JourneyHost.Start(kind);

        var paul = await new FirstLoginDriver(host.Host.CreateBrowser()).LoginWithLegacyCodeAsync();
        var sophie = await new FirstLoginDriver(host.Host.CreateBrowser()).LoginWithLegacyCodeAsync(nir: "2800913055456");

        Assert.That(paul.AbsolutePathOrOriginal(), Is.EqualTo("/premiere-connexion"));
        Assert.That(sophie.AbsolutePathOrOriginal(), Is.EqualTo("/premiere-connexion"));
        Assert.That(FirstLoginDriver.FlowIdOf(paul), Is.Not.EqualTo(FirstLoginDriver.FlowIdOf(sophie)));
    }

    [Test]
    public async Task Quitting_signs_nothing_in_and_keeps_the_legacy_code_usable()
    {
        await using var host = JourneyHost.Start(kind);
        var person = new FirstLoginDriver(host.Host.CreateBrowser());
        var intro = await person.LoginWithLegacyCodeAsync();

        var quit = await person.PostAsync(intro, new Dictionary<string, string>(), handler: "Quit");

        Assert.That(FirstLoginDriver.Next(quit).OriginalString, Does.StartWith("/connexion"));
        Assert.That((await person.Browser.GetAsync("/mon-compte")).StatusCode, Is.EqualTo(HttpStatusCode.Redirect), "no session");
        var (closed, _) = await person.GetAsync(intro);
        Assert.That(closed.StatusCode, Is.EqualTo(HttpStatusCode.Gone), "the quit flow is closed");
        Assert.That((await new FirstLoginDriver(host.Host.CreateBrowser()).LoginWithLegacyCodeAsync()).AbsolutePathOrOriginal(), Is.EqualTo("/premiere-connexion"));
    }

    [Test]
    public async Task A_flow_opens_only_in_the_browser_that_started_it()
    {
        await using var host = JourneyHost.Start(kind);
        var intro = await new FirstLoginDriver(host.Host.CreateBrowser()).LoginWithLegacyCodeAsync();

        var (stranger, html) = await new FirstLoginDriver(host.Host.CreateBrowser()).GetAsync(intro);

        Assert.That(stranger.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That(WebUtility.HtmlDecode(html), Does.Contain("Votre démarche n'est plus disponible"));
    }

    [Test]
    public async Task Steps_cannot_be_skipped_by_opening_a_later_page()
    {
        await using var host = JourneyHost.Start(kind);
        var person = new FirstLoginDriver(host.Host.CreateBrowser());
        var intro = await person.LoginWithLegacyCodeAsync();
        var flow = FirstLoginDriver.FlowIdOf(intro);

        var jump = await person.Browser.GetAsync($"/premiere-connexion/verification?flow={flow}");

        Assert.That(jump.StatusCode, Is.EqualTo(HttpStatusCode.Redirect));
        Assert.That(jump.Headers.Location!.OriginalString, Is.EqualTo($"/premiere-connexion?flow={flow}"));
    }

    [Test]
    public async Task A_first_login_left_after_the_password_step_and_finished_at_a_later_login_sends_Votre_compte_est_cree()
    {
        await using var host = JourneyHost.Start(kind);
        await FirstLoginDriver.ForgetRecordsContactsAsync(host, FirstLoginDriver.PaulNir);
        var paul = await host.QueryAsync(db => db.Persons.AsNoTracking().SingleAsync(p => p.Nir == FirstLoginDriver.PaulNir));

        // The file's code, the terms, his own password (the records hold no contact: it is his at once), then he leaves.
        var first = new FirstLoginDriver(host.Host.CreateBrowser());
        var contact = await first.AcceptTermsAndChoosePasswordAsync(await first.LoginWithLegacyCodeAsync());
        Assert.That(contact.AbsolutePathOrOriginal(), Is.EqualTo("/premiere-connexion/coordonnees"));
        var left = await host.OutboxOfAsync(paul.Id);
        Assert.That(left.Where(m => m.Kind == NotificationKind.AccountCreated && m.Channel != NotificationChannel.Letter), Is.Empty, "nothing announced before the journey ends");
        Assert.That(left.Count(m => m.Kind == NotificationKind.AccountCreated && m.Channel == NotificationChannel.Letter), Is.EqualTo(1),
            "the « si ce n'est pas vous » letter goes with the password, whether or not the journey ends");

        // Days later, with that password: the login is no longer a migration, but it finishes the first login.
        var later = new FirstLoginDriver(host.Host.CreateBrowser());
        var resumed = FirstLoginDriver.Next(await later.Oidc.SubmitLoginAsync(new Uri("/connexion", UriKind.Relative), FirstLoginDriver.PaulNir, FirstLoginDriver.NewPassword));
        Assert.That(resumed.AbsolutePathOrOriginal(), Is.EqualTo("/premiere-connexion/coordonnees"), "the contact step is still to do");
        var verify = FirstLoginDriver.Next(await later.PostAsync(resumed, new Dictionary<string, string> { ["Channel"] = "Sms", ["Mobile"] = "06 15 00 05 05" }));
        var code = await host.Sms.WaitForAsync("+33615000505");
        var delegation = FirstLoginDriver.Next(await later.PostAsync(verify, new Dictionary<string, string> { ["Code"] = SmsGatewaySink.CodeIn(code.Text) }));
        Assert.That((await later.AnswerDelegationAsync(delegation, "false")).OriginalString, Is.EqualTo("/mon-compte"));

        var created = await host.Sms.WaitForAsync("+33615000505", alreadySeen: 1);
        Assert.That(created.Text, Does.Contain("Vous venez de créer votre Espace Mon Compte"));
        var messages = await host.OutboxOfAsync(paul.Id);
        Assert.That(messages.Count(m => m.Kind == NotificationKind.AccountCreated && m.Channel == NotificationChannel.Sms), Is.EqualTo(1));
        Assert.That(messages.Count(m => m.Kind == NotificationKind.AccountCreated && m.Channel == NotificationChannel.Letter), Is.EqualTo(1), "the letter once");
        Assert.That((await host.QueryAsync(db => db.Persons.AsNoTracking().SingleAsync(p => p.Id == paul.Id))).AccountCreatedNoticeOwedSince, Is.Null, "owed no more");

        // A later journey of required steps (a new mobile to prove, say) is no account creation: nothing more.
        await host.QueryAsync(async db =>
        {
            var person = await db.Persons.SingleAsync(p => p.Id == paul.Id);
            person.MobilePhoneVerified = false;
            person.ContactStepSkippedAt = null;
            return await db.SaveChangesAsync();
        });
        var again = new FirstLoginDriver(host.Host.CreateBrowser());
        var contactAgain = FirstLoginDriver.Next(await again.Oidc.SubmitLoginAsync(new Uri("/connexion", UriKind.Relative), FirstLoginDriver.PaulNir, FirstLoginDriver.NewPassword));
        Assert.That(contactAgain.AbsolutePathOrOriginal(), Is.EqualTo("/premiere-connexion/coordonnees"));
        await again.PostAsync(contactAgain, new Dictionary<string, string>(), handler: "Skip");
        Assert.That((await host.OutboxOfAsync(paul.Id)).Count(m => m.Kind == NotificationKind.AccountCreated), Is.EqualTo(2), "no second announcement");
    }

    [Test]
    public async Task Skipping_the_contact_step_signs_in_and_the_step_is_not_asked_again_within_30_days()
    {
        await using var host = JourneyHost.Start(kind);
        await FirstLoginDriver.ForgetRecordsContactsAsync(host, FirstLoginDriver.PaulNir);
        var person = new FirstLoginDriver(host.Host.CreateBrowser());
        var contact = await person.AcceptTermsAndChoosePasswordAsync(await person.LoginWithLegacyCodeAsync());

        var skipped = await person.PostAsync(contact, new Dictionary<string, string>(), handler: "Skip");

        Assert.That((await person.AnswerDelegationAsync(FirstLoginDriver.Next(skipped), "false")).OriginalString, Is.EqualTo("/mon-compte"));
        var later = await new OidcDriver(host.Host.CreateBrowser()).SubmitLoginAsync(new Uri("/connexion", UriKind.Relative), FirstLoginDriver.PaulNir, FirstLoginDriver.NewPassword);
        Assert.That(later.Headers.Location!.OriginalString, Is.EqualTo("/mon-compte"), "not asked again so soon");
    }

    [Test]
    public async Task An_e_mail_verified_by_another_household_member_is_refused()
    {
        await using var host = JourneyHost.Start(kind);
        using (var scope = host.Host.Services.CreateScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<CafConnectDbContext>();
            var sophie = await db.Persons.SingleAsync(p => p.Nir == "2800913055456");
            sophie.Email = "famille.martin@example.fr";
            sophie.EmailVerified = true;
            await db.SaveChangesAsync();
        }
        var person = new FirstLoginDriver(host.Host.CreateBrowser());
        var contact = await person.AcceptTermsAndChoosePasswordAsync(await person.LoginWithLegacyCodeAsync());

        var refused = await person.PostAsync(contact, new Dictionary<string, string> { ["Channel"] = "Email", ["Email"] = "Famille.Martin@example.fr" });

        Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(await OidcDriver.ErrorsOf(refused), Does.Contain("différents de ceux de votre conjoint ou de vos parents"));
    }

    [TestCase("01 23 45 67 89", "06 ou 07", TestName = "A landline is refused as mobile")]
    [TestCase("06 12 34", "10 chiffres", TestName = "A short mobile number is refused")]
    [TestCase("06-AB-34-56-78", "chiffres", TestName = "A mobile with letters is refused")]
    public async Task Malformed_mobile_numbers_get_a_specific_message(string mobile, string expected)
    {
        await using var host = JourneyHost.Start(kind);
        var person = new FirstLoginDriver(host.Host.CreateBrowser());
        var contact = await person.AcceptTermsAndChoosePasswordAsync(await person.LoginWithLegacyCodeAsync());

        var refused = await person.PostAsync(contact, new Dictionary<string, string> { ["Channel"] = "Sms", ["Mobile"] = mobile });

        Assert.That(await OidcDriver.ErrorsOf(refused), Does.Contain(expected));
        Assert.That(host.Sms.CountTo(FirstLoginDriver.PaulMobile), Is.Zero);
    }

    [Test]
    public async Task The_fourth_resend_to_the_same_contact_is_refused()
    {
        await using var host = JourneyHost.Start(kind, new Dictionary<string, string?> { ["Verification:MinIntervalBetweenSends"] = "00:00:00" });
        var person = new FirstLoginDriver(host.Host.CreateBrowser());
        var contact = await person.AcceptTermsAndChoosePasswordAsync(await person.LoginWithLegacyCodeAsync());
        var verify = FirstLoginDriver.Next(await person.PostAsync(contact, new Dictionary<string, string> { ["Channel"] = "Sms", ["Mobile"] = "0615000004" }));

        for (var resend = 1; resend <= 3; resend++)
        {
            var accepted = await person.PostAsync(verify, new Dictionary<string, string>(), handler: "Resend");
            Assert.That(accepted.StatusCode, Is.EqualTo(HttpStatusCode.Redirect), $"resend {resend}: " + await OidcDriver.ErrorsOf(accepted));
        }
        var fourth = await person.PostAsync(verify, new Dictionary<string, string>(), handler: "Resend");

        Assert.That(fourth.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(await OidcDriver.ErrorsOf(fourth), Does.Contain("nombre maximum de codes"));
        await host.Sms.WaitForAsync(FirstLoginDriver.PaulMobile, alreadySeen: 3);
        await Task.Delay(500);
        Assert.That(host.Sms.CountTo(FirstLoginDriver.PaulMobile), Is.EqualTo(4), "the first send and three resends");
    }

    [Test]
    public async Task A_resend_within_30_seconds_is_refused_with_the_wait()
    {
        await using var host = JourneyHost.Start(kind);
        var person = new FirstLoginDriver(host.Host.CreateBrowser());
        var contact = await person.AcceptTermsAndChoosePasswordAsync(await person.LoginWithLegacyCodeAsync());
        var verify = FirstLoginDriver.Next(await person.PostAsync(contact, new Dictionary<string, string> { ["Channel"] = "Sms", ["Mobile"] = "0615000004" }));

        var tooSoon = await person.PostAsync(verify, new Dictionary<string, string>(), handler: "Resend");

        Assert.That(await OidcDriver.ErrorsOf(tooSoon), Does.Contain("Patientez").And.Contain("secondes"));
    }

    [Test]
    public async Task After_five_wrong_codes_the_code_is_void_and_the_sixth_entry_is_refused_even_if_right()
    {
        await using var host = JourneyHost.Start(kind);
        var person = new FirstLoginDriver(host.Host.CreateBrowser());
        var contact = await person.AcceptTermsAndChoosePasswordAsync(await person.LoginWithLegacyCodeAsync());
        var verify = FirstLoginDriver.Next(await person.PostAsync(contact, new Dictionary<string, string> { ["Channel"] = "Sms", ["Mobile"] = "0615000004" }));
        var code = SmsGatewaySink.CodeIn((await host.Sms.WaitForAsync(FirstLoginDriver.PaulMobile)).Text);

        for (var attempt = 1; attempt <= 5; attempt++)
        {
            await person.PostAsync(verify, new Dictionary<string, string> { ["Code"] = WrongCode(code) });
        }
        var sixth = await person.PostAsync(verify, new Dictionary<string, string> { ["Code"] = code });

        Assert.That(sixth.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(await OidcDriver.ErrorsOf(sixth), Does.Contain("n'est plus valable"));
    }

    [Test]
    public async Task An_expired_SMS_code_is_refused()
    {
        await using var host = JourneyHost.Start(kind, new Dictionary<string, string?> { ["Verification:SmsLifetime"] = "00:00:01" });
        var person = new FirstLoginDriver(host.Host.CreateBrowser());
        var contact = await person.AcceptTermsAndChoosePasswordAsync(await person.LoginWithLegacyCodeAsync());
        var verify = FirstLoginDriver.Next(await person.PostAsync(contact, new Dictionary<string, string> { ["Channel"] = "Sms", ["Mobile"] = "0615000004" }));
        var code = SmsGatewaySink.CodeIn((await host.Sms.WaitForAsync(FirstLoginDriver.PaulMobile)).Text);

        await Task.Delay(TimeSpan.FromSeconds(2.2));
        var late = await person.PostAsync(verify, new Dictionary<string, string> { ["Code"] = code });

        Assert.That(await OidcDriver.ErrorsOf(late), Does.Contain("n'est plus valable"));
    }

    [Test]
    public async Task The_flow_resumes_after_a_restart()
    {
        await using var host = JourneyHost.Start(kind);
        await FirstLoginDriver.ForgetRecordsContactsAsync(host, FirstLoginDriver.PaulNir);
        var cookies = new CookieContainer();
        var person = new FirstLoginDriver(host.Host.CreateBrowser(cookies));
        var contact = await person.AcceptTermsAndChoosePasswordAsync(await person.LoginWithLegacyCodeAsync());

        await host.RestartAsync();
        // The same browser (its cookies) on the new instance.
        var resumed = new FirstLoginDriver(host.Host.CreateBrowser(cookies));
        var (page, html) = await resumed.GetAsync(contact);

        Assert.That(page.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(WebUtility.HtmlDecode(html), Does.Contain("Coordonnées de contact"));
        var skipped = await resumed.PostAsync(contact, new Dictionary<string, string>(), handler: "Skip");
        Assert.That((await resumed.AnswerDelegationAsync(FirstLoginDriver.Next(skipped), "false")).OriginalString, Is.EqualTo("/mon-compte"));
        Assert.That((await resumed.Browser.GetAsync("/mon-compte")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    [Test]
    public async Task A_code_sent_by_one_instance_is_verified_by_another()
    {
        if (kind == StoreKind.Sqlite)
        {
            Assert.Ignore("Several instances share PostgreSQL and Redis; the embedded default (SQLite, codes in memory) is one instance.");
        }
        await using var host = JourneyHost.Start(kind);
        await using var second = host.SecondInstance();
        await FirstLoginDriver.ForgetRecordsContactsAsync(host, FirstLoginDriver.PaulNir);
        var cookies = new CookieContainer();
        var person = new FirstLoginDriver(host.Host.CreateBrowser(cookies));
        var contact = await person.AcceptTermsAndChoosePasswordAsync(await person.LoginWithLegacyCodeAsync());
        var verify = FirstLoginDriver.Next(await person.PostAsync(contact, new Dictionary<string, string> { ["Channel"] = "Sms", ["Mobile"] = "0615000004" }));
        var code = SmsGatewaySink.CodeIn((await host.Sms.WaitForAsync(FirstLoginDriver.PaulMobile)).Text);

        // The load balancer sends the next request to the other instance.
        var onSecond = new FirstLoginDriver(second.CreateBrowser(cookies));
        var done = await onSecond.PostAsync(verify, new Dictionary<string, string> { ["Code"] = code });

        Assert.That((await onSecond.AnswerDelegationAsync(FirstLoginDriver.Next(done), "false")).OriginalString, Is.EqualTo("/mon-compte"));
        Assert.That((await person.Browser.GetAsync("/mon-compte")).StatusCode, Is.EqualTo(HttpStatusCode.OK), "the session opened by one instance is valid on the other");
    }

    [Test]
    public async Task Every_step_is_in_the_audit_trail_and_no_code_is()
    {
        await using var host = JourneyHost.Start(kind);
        var person = new FirstLoginDriver(host.Host.CreateBrowser());
        var contact = await person.AcceptTermsAndChoosePasswordAsync(await person.LoginWithLegacyCodeAsync());
        var verify = FirstLoginDriver.Next(await person.PostAsync(contact, new Dictionary<string, string> { ["Channel"] = "Sms", ["Mobile"] = "0615000004" }));
        var code = SmsGatewaySink.CodeIn((await host.Sms.WaitForAsync(FirstLoginDriver.PaulMobile)).Text);
        await person.AnswerDelegationAsync(FirstLoginDriver.Next(await person.PostAsync(verify, new Dictionary<string, string> { ["Code"] = code })), "true");

        using var scope = host.Host.Services.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<CafConnectDbContext>();
        var paul = await db.Persons.SingleAsync(p => p.Nir == FirstLoginDriver.PaulNir);
        var events = await db.AuditEvents.Where(e => e.PersonId == paul.Id).OrderBy(e => e.Id).ToListAsync();

        Assert.That(events.Select(e => e.Type), Is.SupersetOf(new[]
        {
            AuditEventTypes.LoginRequiredActions, AuditEventTypes.TermsAccepted, AuditEventTypes.PasswordChanged,
            AuditEventTypes.ContactCodeSent, AuditEventTypes.ContactVerified, AuditEventTypes.DelegationGranted, AuditEventTypes.LoginSucceeded,
        }));
        Assert.That(events.All(e => (e.Details ?? "").Contains(code) == false && (e.Outcome ?? "").Contains(code) == false), Is.True);
        Assert.That(await db.TermsAcceptances.CountAsync(a => a.PersonId == paul.Id && a.Version == 1), Is.EqualTo(1));
    }

    /// <summary>A code that is surely wrong: the right one with its first digit changed.</summary>
    private static string WrongCode(string code) => ((code[0] - '0' + 1) % 10).ToString() + code[1..];
}
