using System.Net;
using System.Text.RegularExpressions;
using CafConnect.IdP.Demo;
using CafConnect.IdP.Tests.Features.AccountCreation;
using CafConnect.IdP.Tests.Features.FirstLogin;
using CafConnect.IdP.Tests.Features.Recovery;
using CafConnect.IdP.Tests.Support;
using CafConnect.Infrastructure.Audit;
using CafConnect.Infrastructure.Notifications;
using CafConnect.Infrastructure.Persistence;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace CafConnect.IdP.Tests.Features.Identity;

/// <summary>
/// Who may prove an identity (docs/decisions.md #16) and what setting a password does (#17), over HTTP, as the review of
/// issue 12 attacked them: a contact typed in a form never receives a code for someone the records know, the legacy
/// code's first login proves the records' contact, a letter tells a person with none, a personal contact is not a
/// relative's, and a first-login password revokes what the old secret obtained.
/// </summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
public sealed partial class IdentityProofTests(StoreKind kind)
{
    private const string AttackerMobile = "+33699999999";

    private static async Task SetAsync(JourneyHost host, string nir, Action<Domain.Accounts.PersonAccount> change)
    {
        using var scope = host.Host.Services.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<CafConnectDbContext>();
        change(await db.Persons.SingleAsync(p => p.Nir == nir));
        await db.SaveChangesAsync();
    }

    [Test]
    public async Task With_a_NIR_and_no_contact_on_record_the_typed_contact_gets_nothing_and_an_activation_code_goes_by_letter()
    {
        await using var host = HostStore.Start(kind);
        // Léa as every person added by `person_added` or imported without mobile/e-mail: the records hold no contact.
        await FirstLoginDriver.ForgetRecordsContactsAsync(host, DemoData.LeaDubois.Nir!);
        var attacker = new AccountCreationDriver(host);

        // The attacker knows Léa's NIR, names and birth date (none of them secret) and types a mobile of their own.
        // The form has no contact field any more; one posted anyway is not read.
        var typed = AccountCreationDriver.Lea();
        typed["Contact"] = "06 99 99 99 99";
        var response = await attacker.SubmitWithNirAsync(typed);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Redirect), await OidcDriver.ErrorsOf(response));
        Assert.That(FirstLoginDriver.Next(response).AbsolutePathOrOriginal(), Is.EqualTo("/creer-mon-compte/courrier"));
        var (page, html) = await attacker.Pages.GetAsync(FirstLoginDriver.Next(response));
        Assert.That(page.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(WebUtility.HtmlDecode(html), Does.Contain("Un code d'activation vous est envoyé par courrier").And.Not.Contain("06 99"));
        Assert.That(host.Sms.CountTo(AttackerMobile), Is.Zero, "the typed contact never receives a code");
        var lea = await host.QueryAsync(db => db.Persons.AsNoTracking().SingleAsync(p => p.Nir == DemoData.LeaDubois.Nir));
        Assert.That(lea.PasswordHash, Is.Null, "nothing is activated");
        Assert.That(await host.QueryAsync(db => db.Flows.CountAsync(f => f.PersonId == lea.Id)), Is.Zero, "no code step exists to finish");
        var letter = (await host.OutboxOfAsync(lea.Id)).Single();
        Assert.That((letter.Kind, letter.Channel), Is.EqualTo((NotificationKind.ProvisionalPassword, NotificationChannel.Letter)));
        var text = await host.WaitForFileTextAsync(letter.Id);
        Assert.That(text, Does.Contain("Votre code d'activation").And.Contain("valable jusqu'au"));

        // A second request the same day sends no second letter and answers the same.
        var again = await new AccountCreationDriver(host).SubmitWithNirAsync(typed);
        Assert.That(FirstLoginDriver.Next(again).AbsolutePathOrOriginal(), Is.EqualTo("/creer-mon-compte/courrier"));
        Assert.That((await host.OutboxOfAsync(lea.Id)).Count, Is.EqualTo(1));

        // Léa, holding the letter, signs in with her NIR and the code: the first-login steps follow.
        var code = ActivationCode().Match(text).Groups[1].Value;
        var login = await new OidcDriver(host.Host.CreateBrowser()).SubmitLoginAsync(new Uri("/connexion", UriKind.Relative), DemoData.LeaDubois.Nir!, code);
        Assert.That(login.StatusCode, Is.EqualTo(HttpStatusCode.Redirect), await OidcDriver.ErrorsOf(login));
        Assert.That(login.Headers.Location!.AbsolutePathOrOriginal(), Does.StartWith("/premiere-connexion"));
        Assert.That(await host.QueryAsync(db => db.AuditEvents.CountAsync(e => e.Type == AuditEventTypes.AccountActivationLetter)), Is.EqualTo(2));
    }

    [Test]
    public async Task Legacy_code_first_login_sends_the_code_to_the_records_contact_not_to_the_one_typed_and_cannot_skip_it()
    {
        await using var host = JourneyHost.Start(kind);
        // Sophie knows the file's code and Paul's NIR; Paul's mobile is on record.
        var partner = new FirstLoginDriver(host.Host.CreateBrowser());
        var contact = await partner.AcceptTermsAndChoosePasswordAsync(await partner.LoginWithLegacyCodeAsync());

        var skipped = await partner.PostAsync(contact, new Dictionary<string, string>(), handler: "Skip");
        Assert.That(skipped.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(await OidcDriver.ErrorsOf(skipped), Does.Contain("ne peut pas être passée"));

        var verify = FirstLoginDriver.Next(await partner.PostAsync(contact, new Dictionary<string, string> { ["Channel"] = "Sms", ["Mobile"] = "06 99 99 99 99" }));
        var (_, verifyHtml) = await partner.GetAsync(verify);
        Assert.That(WebUtility.HtmlDecode(verifyHtml), Does.Contain("06******04").And.Not.Contain("06 15 00 00 04"), "the code goes to the records' mobile, shown masked");
        await host.Sms.WaitForAsync(FirstLoginDriver.PaulMobile);
        Assert.That(host.Sms.CountTo(AttackerMobile), Is.Zero);

        // Giving up here opens nothing and changes nothing (adversarial review): the password the partner chose is not
        // the account's until the records' contact is proven, so the holder's own first login with the file's code
        // still works and the partner's password does not.
        Assert.That((await partner.Browser.GetAsync("/mon-compte")).StatusCode, Is.EqualTo(HttpStatusCode.Redirect), "no session");
        var paul = await host.QueryAsync(db => db.Persons.AsNoTracking().SingleAsync(p => p.Nir == FirstLoginDriver.PaulNir));
        Assert.That(paul.PasswordHash, Is.Null, "the password chosen before the proof is not set");
        var withChosen = await new OidcDriver(host.Host.CreateBrowser()).SubmitLoginAsync(new Uri("/connexion", UriKind.Relative), FirstLoginDriver.PaulNir, FirstLoginDriver.NewPassword);
        Assert.That(withChosen.StatusCode, Is.Not.EqualTo(HttpStatusCode.Redirect), "the partner's password opens nothing");
        var holder = new FirstLoginDriver(host.Host.CreateBrowser());
        var holderStart = await holder.LoginWithLegacyCodeAsync();
        Assert.That(holderStart.AbsolutePathOrOriginal(), Does.StartWith("/premiere-connexion"), "the file's code still starts the holder's first login");
    }

    [Test]
    public async Task Legacy_code_first_login_proves_the_records_contact_then_adds_another_and_tells_the_records_contact()
    {
        await using var host = JourneyHost.Start(kind);
        var paul = new FirstLoginDriver(host.Host.CreateBrowser());
        var contact = await paul.AcceptTermsAndChoosePasswordAsync(await paul.LoginWithLegacyCodeAsync());

        var verify = FirstLoginDriver.Next(await paul.PostAsync(contact, new Dictionary<string, string> { ["Channel"] = "Sms", ["Mobile"] = "06 11 22 33 44" }));
        var first = await host.Sms.WaitForAsync(FirstLoginDriver.PaulMobile);
        var second = FirstLoginDriver.Next(await paul.PostAsync(verify, new Dictionary<string, string> { ["Code"] = SmsGatewaySink.CodeIn(first.Text) }));
        Assert.That(second.AbsolutePathOrOriginal(), Is.EqualTo("/premiere-connexion/verification"), "now the new mobile");
        var newCode = await host.Sms.WaitForAsync("+33611223344");
        var delegation = FirstLoginDriver.Next(await paul.PostAsync(second, new Dictionary<string, string> { ["Code"] = SmsGatewaySink.CodeIn(newCode.Text) }));
        await paul.AnswerDelegationAsync(delegation, "false");

        var told = await host.Sms.WaitForAsync(FirstLoginDriver.PaulMobile, alreadySeen: 1);
        Assert.That(told.Text, Does.Contain("De nouvelles coordonnées").And.Contain("Si ce n'est pas vous"));
        var person = await host.QueryAsync(db => db.Persons.AsNoTracking().SingleAsync(p => p.Nir == FirstLoginDriver.PaulNir));
        Assert.That((person.MobilePhone, person.MobilePhoneVerified), Is.EqualTo(("+33611223344", true)));
    }

    /// <summary>
    /// Adversarial review of 6 December 2026 (eighth session): a login with the personal password may prove a contact of
    /// its own at the contact step, without the records' one. Whoever stole the password put their mobile on the account
    /// unseen, and then received the owner's « mot de passe modifié » notice and the recovery codes. The person's own
    /// contact is now told, as after a first login with the file's code.
    /// </summary>
    [Test]
    public async Task A_contact_proven_after_a_password_login_is_told_to_the_persons_own_contact_it_replaces()
    {
        await using var host = JourneyHost.Start(kind);
        var thief = new FirstLoginDriver(host.Host.CreateBrowser());
        var contactStep = (await thief.Oidc.SubmitLoginAsync(new Uri("/connexion", UriKind.Relative), DemoData.KarimBenali.Nir!, DemoData.KarimBenali.Password)).Headers.Location!;
        Assert.That(contactStep.AbsolutePathOrOriginal(), Is.EqualTo("/premiere-connexion/coordonnees"), "no verified contact: the contact step is asked");

        var verify = FirstLoginDriver.Next(await thief.PostAsync(contactStep, new Dictionary<string, string> { ["Channel"] = "Sms", ["Mobile"] = "06 99 99 99 99" }));
        var code = await host.Sms.WaitForAsync(AttackerMobile);
        var next = FirstLoginDriver.Next(await thief.PostAsync(verify, new Dictionary<string, string> { ["Code"] = SmsGatewaySink.CodeIn(code.Text) }));
        Assert.That(next.AbsolutePathOrOriginal(), Is.Not.EqualTo(verify.AbsolutePathOrOriginal()), "the typed mobile is proven");

        var told = await host.Sms.WaitForAsync(DemoData.KarimBenali.Mobile!);
        Assert.That(told.Text, Does.Contain("De nouvelles coordonnées").And.Contain("Si ce n'est pas vous"));
        Assert.That(told.Text, Does.Not.Contain("0699999999").And.Not.Contain("06 99 99 99 99").And.Not.Contain("+33699999999"), "the new mobile masked");
        var audit = await host.QueryAsync(db => db.AuditEvents.AsNoTracking().Where(e => e.Type == AuditEventTypes.ContactAdded).CountAsync());
        Assert.That(audit, Is.EqualTo(1), "contact.added audited");
    }

    [Test]
    public async Task Legacy_code_first_login_without_a_contact_on_record_ends_with_a_letter_to_the_person()
    {
        await using var host = JourneyHost.Start(kind);
        await FirstLoginDriver.ForgetRecordsContactsAsync(host, FirstLoginDriver.PaulNir);
        var paul = new FirstLoginDriver(host.Host.CreateBrowser());
        var contact = await paul.AcceptTermsAndChoosePasswordAsync(await paul.LoginWithLegacyCodeAsync());
        await paul.AnswerDelegationAsync(FirstLoginDriver.Next(await paul.PostAsync(contact, new Dictionary<string, string>(), handler: "Skip")), "false");

        var person = await host.QueryAsync(db => db.Persons.AsNoTracking().SingleAsync(p => p.Nir == FirstLoginDriver.PaulNir));
        var letter = (await host.OutboxOfAsync(person.Id)).Single(m => m.Channel == NotificationChannel.Letter);
        Assert.That(letter.Kind, Is.EqualTo(NotificationKind.AccountCreated));
        Assert.That(await host.WaitForFileTextAsync(letter.Id), Does.Contain("vient d'être activé").And.Contain("Si ce n'est pas vous"));
    }

    [Test]
    public async Task A_mobile_verified_by_another_household_member_is_refused_with_the_seed_message()
    {
        await using var host = JourneyHost.Start(kind);
        await FirstLoginDriver.ForgetRecordsContactsAsync(host, FirstLoginDriver.PaulNir);
        await SetAsync(host, "2800913055456", sophie => sophie.MobilePhoneVerified = true);
        var paul = new FirstLoginDriver(host.Host.CreateBrowser());
        var contact = await paul.AcceptTermsAndChoosePasswordAsync(await paul.LoginWithLegacyCodeAsync());

        var refused = await paul.PostAsync(contact, new Dictionary<string, string> { ["Channel"] = "Sms", ["Mobile"] = "06 15 00 00 05" });

        Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(await OidcDriver.ErrorsOf(refused), Does.Contain("adresse mail et un numéro de téléphone personnels, différents de ceux de votre conjoint ou de vos parents"));
        Assert.That(host.Sms.CountTo("+33615000005"), Is.Zero);
    }

    [Test]
    public async Task A_password_set_at_a_first_login_step_revokes_the_grants_of_the_old_one_like_a_reset()
    {
        await using var host = JourneyHost.Start(kind);
        var jeanne = new OidcDriver(host.Host.CreateBrowser());
        var tokens = await jeanne.SignInAndRedeemAsync(TestClient.CafFr, DemoData.JeanneDupont.Nir!, DemoData.JeanneDupont.Password);
        Assert.That(tokens.RefreshToken, Is.Not.Null);
        // Her password is past its two years: the next login asks for a new one (a required action, as after an agent's reset).
        await SetAsync(host, DemoData.JeanneDupont.Nir!, p => p.PasswordSetAt = DateTimeOffset.UtcNow.AddYears(-3));

        var again = new FirstLoginDriver(host.Host.CreateBrowser());
        var step = await again.Oidc.SubmitLoginAsync(new Uri("/connexion", UriKind.Relative), DemoData.JeanneDupont.Nir!, DemoData.JeanneDupont.Password);
        var password = FirstLoginDriver.Next(step);
        Assert.That(password.AbsolutePathOrOriginal(), Is.EqualTo("/premiere-connexion/mot-de-passe"));
        FirstLoginDriver.Next(await again.PostAsync(password, new Dictionary<string, string> { ["Password"] = "Automne3Rennes", ["Confirmation"] = "Automne3Rennes" }));

        var refresh = await jeanne.RefreshAsync(TestClient.CafFr, tokens.RefreshToken!);
        Assert.That(refresh.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), "the refresh token obtained with the old password is revoked");
        Assert.That(await host.QueryAsync(db => db.AuditEvents.CountAsync(e => e.Type == AuditEventTypes.GrantsRevoked && e.Outcome == "password_replaced")), Is.EqualTo(1));
    }

    [Test]
    public async Task A_provisional_password_past_its_two_months_is_refused_with_its_own_message_and_the_old_one_still_works()
    {
        await using var host = HostStore.Start(kind);
        await FirstLoginDriver.ForgetRecordsContactsAsync(host, DemoData.KarimBenali.Nir!);
        await new RecoveryDriver(host.Host.CreateBrowser()).RequestCodePageAsync(DemoData.KarimBenali.Nir!);
        var karim = await host.QueryAsync(db => db.Persons.AsNoTracking().SingleAsync(p => p.Nir == DemoData.KarimBenali.Nir));
        var text = await host.WaitForFileTextAsync((await host.OutboxOfAsync(karim.Id)).Single(m => m.Channel == NotificationChannel.Letter).Id);
        Assert.That(text, Does.Contain("valable jusqu'au"));
        var provisional = ProvisionalPassword().Match(text).Groups[1].Value;
        // Seed 000: valid two months. This one was sent 92 days ago.
        await SetAsync(host, DemoData.KarimBenali.Nir!, p => p.PendingProvisionalPasswordIssuedAt = DateTimeOffset.UtcNow.AddDays(-92));

        var refused = await new OidcDriver(host.Host.CreateBrowser()).SubmitLoginAsync(new Uri("/connexion", UriKind.Relative), DemoData.KarimBenali.Nir!, provisional);

        Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.OK), "the login page answers like a wrong password, with its own words");
        Assert.That(await OidcDriver.ErrorsOf(refused), Does.Contain("Votre mot de passe provisoire n'est plus valable depuis le").And.Contain("Mot de passe oublié ?"));
        Assert.That(await host.QueryAsync(db => db.AuditEvents.CountAsync(e => e.Type == AuditEventTypes.LoginFailed && e.Outcome == "provisional_expired")), Is.EqualTo(1));
        var old = await new OidcDriver(host.Host.CreateBrowser()).SubmitLoginAsync(new Uri("/connexion", UriKind.Relative), DemoData.KarimBenali.Nir!, DemoData.KarimBenali.Password);
        Assert.That(old.Headers.Location?.OriginalString, Does.Not.StartWith("/connexion"), "the expired provisional password changed nothing");
    }

    [GeneratedRegex(@"mot de passe provisoire : (\d{8})")]
    private static partial Regex ProvisionalPassword();

    [GeneratedRegex(@"code d'activation : (\d{8})")]
    private static partial Regex ActivationCode();
}
