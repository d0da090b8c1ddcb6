using System.Net;
using CafConnect.IdP.Demo;
using CafConnect.IdP.Tests.Features.FirstLogin;
using CafConnect.IdP.Tests.Features.Recovery;
using CafConnect.IdP.Tests.Support;
using CafConnect.Infrastructure.Audit;
using Microsoft.EntityFrameworkCore;

namespace CafConnect.IdP.Tests.Features.Account;

/// <summary>
/// « Changer mon mot de passe » from « Mon compte » (issue 16 item 1): the current password first, the personal-password
/// rules, then every other session and grant ends (docs/decisions.md #17) while this browser stays signed in.
/// </summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
public sealed class ChangePasswordTests(StoreKind kind)
{
    private const string NewPassword = "Lavande6Arles";

    [Test]
    public async Task Changing_the_password_keeps_this_browser_ends_the_others_and_revokes_their_grants()
    {
        await using var host = HostStore.Start(kind);
        var phone = new OidcDriver(host.Host.CreateBrowser());
        var tokens = await phone.SignInAndRedeemAsync(TestClient.CafFr, DemoData.LouiseDubois.Nir!, DemoData.LouiseDubois.Password);
        var here = new FirstLoginDriver(host.Host.CreateBrowser());
        var login = await here.Oidc.SubmitLoginAsync(new Uri("/connexion", UriKind.Relative), DemoData.LouiseDubois.Nir!, DemoData.LouiseDubois.Password);
        Assert.That(login.Headers.Location?.OriginalString, Is.EqualTo("/mon-compte"));
        var (account, accountHtml) = await here.GetAsync(new Uri("/mon-compte", UriKind.Relative));
        Assert.That(WebUtility.HtmlDecode(accountHtml), Does.Contain("Changer mon mot de passe"));

        var page = new Uri("/mon-compte/mot-de-passe", UriKind.Relative);
        var (form, formHtml) = await here.GetAsync(page);
        Assert.That(form.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(WebUtility.HtmlDecode(formHtml), Does.Contain("Vous en serez informé par SMS au 06******03"));

        var wrong = await here.PostAsync(page, new Dictionary<string, string> { ["Current"] = "Mauvais1Passe", ["Password"] = NewPassword, ["Confirmation"] = NewPassword });
        Assert.That(wrong.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(await OidcDriver.ErrorsOf(wrong), Does.Contain("Le mot de passe actuel est incorrect."));
        var weak = await here.PostAsync(page, new Dictionary<string, string> { ["Current"] = DemoData.LouiseDubois.Password, ["Password"] = "motdepasse", ["Confirmation"] = "motdepasse" });
        Assert.That(await OidcDriver.ErrorsOf(weak), Does.Contain("chiffre"));

        var done = await here.PostAsync(page, new Dictionary<string, string> { ["Current"] = DemoData.LouiseDubois.Password, ["Password"] = NewPassword, ["Confirmation"] = NewPassword });

        Assert.That(FirstLoginDriver.Next(done).OriginalString, Is.EqualTo("/mon-compte/mot-de-passe?modifie=true"));
        Assert.That((await here.Browser.GetAsync("/mon-compte")).StatusCode, Is.EqualTo(HttpStatusCode.OK), "this browser stays signed in");
        Assert.That((await phone.Browser.GetAsync("/mon-compte")).StatusCode, Is.EqualTo(HttpStatusCode.Redirect), "the other session ended");
        Assert.That((await phone.RefreshAsync(TestClient.CafFr, tokens.RefreshToken!)).StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), "its grants are revoked");
        var told = await host.Sms.WaitForAsync(DemoData.LouiseDubois.Mobile!);
        Assert.That(told.Text, Does.Contain("vient d'être modifié"));
        Assert.That(await host.QueryAsync(db => db.AuditEvents.CountAsync(e => e.Type == AuditEventTypes.PasswordChanged && e.Outcome == "Change")), Is.EqualTo(1));
        var fresh = await new OidcDriver(host.Host.CreateBrowser()).SubmitLoginAsync(new Uri("/connexion", UriKind.Relative), DemoData.LouiseDubois.Nir!, NewPassword);
        Assert.That(fresh.Headers.Location?.OriginalString, Is.EqualTo("/mon-compte"));
    }

    /// <summary>
    /// Adversarial review, 6 December 2026 (eighth session): a login with the old password that stopped at a step
    /// (Karim's contact step) left a flow that, finished after the password change, opened a fresh session — after the
    /// change, so the session check found nothing stale.
    /// </summary>
    [Test]
    public async Task A_step_left_pending_by_a_login_with_the_old_password_opens_no_session_after_the_change()
    {
        await using var host = HostStore.Start(kind);
        var contactStep = new Uri("/premiere-connexion/coordonnees", UriKind.Relative);
        var thief = new FirstLoginDriver(host.Host.CreateBrowser());
        var pending = (await thief.Oidc.SubmitLoginAsync(new Uri("/connexion", UriKind.Relative), DemoData.KarimBenali.Nir!, DemoData.KarimBenali.Password)).Headers.Location!;
        Assert.That(pending.AbsolutePathOrOriginal(), Is.EqualTo(contactStep.OriginalString), "no verified contact: the contact step is asked");
        // The thief's page, loaded before the change: its form is what they submit after it.
        var (_, pendingHtml) = await thief.GetAsync(pending);
        var (_, thiefToken) = OidcDriver.LoginForm(pendingHtml);

        var owner = new FirstLoginDriver(host.Host.CreateBrowser());
        var ownStep = (await owner.Oidc.SubmitLoginAsync(new Uri("/connexion", UriKind.Relative), DemoData.KarimBenali.Nir!, DemoData.KarimBenali.Password)).Headers.Location!;
        Assert.That(FirstLoginDriver.Next(await owner.PostAsync(ownStep, new Dictionary<string, string>(), "Skip")).OriginalString, Is.EqualTo("/mon-compte"));
        var changed = await owner.PostAsync(new Uri("/mon-compte/mot-de-passe", UriKind.Relative),
            new Dictionary<string, string> { ["Current"] = DemoData.KarimBenali.Password, ["Password"] = NewPassword, ["Confirmation"] = NewPassword });
        Assert.That(FirstLoginDriver.Next(changed).OriginalString, Is.EqualTo("/mon-compte/mot-de-passe?modifie=true"));

        var skipped = await thief.Browser.PostAsync($"{contactStep.OriginalString}?handler=Skip&flow={FirstLoginDriver.FlowIdOf(pending)}",
            new FormUrlEncodedContent(new Dictionary<string, string> { ["__RequestVerificationToken"] = thiefToken }));
        Assert.That(skipped.Headers.Location?.OriginalString, Is.Not.EqualTo("/mon-compte"), "the old password's step signs nobody in");
        Assert.That((await thief.Browser.GetAsync("/mon-compte")).StatusCode, Is.EqualTo(HttpStatusCode.Redirect), "no session in the other browser");
        Assert.That((await owner.Browser.GetAsync("/mon-compte")).StatusCode, Is.EqualTo(HttpStatusCode.OK), "the owner's browser stays signed in");
    }

    /// <summary>
    /// Adversarial review, 6 December 2026 (eighth session): « Mon compte » has no form of its own, and a POST to it (its
    /// logout form's anti-forgery token is on the page) rendered it without its person: a 500.
    /// </summary>
    [Test]
    public async Task A_post_to_mon_compte_shows_it_again_never_a_500()
    {
        await using var host = HostStore.Start(kind);
        var here = new FirstLoginDriver(host.Host.CreateBrowser());
        await here.Oidc.SubmitLoginAsync(new Uri("/connexion", UriKind.Relative), DemoData.LouiseDubois.Nir!, DemoData.LouiseDubois.Password);
        var (_, html) = await here.GetAsync(new Uri("/mon-compte", UriKind.Relative));
        var (_, token) = OidcDriver.LoginForm(html);
        foreach (var target in new[] { "/mon-compte", "/mon-compte?handler=Inconnu" })
        {
            var posted = await here.Browser.PostAsync(target, new FormUrlEncodedContent(new Dictionary<string, string> { ["__RequestVerificationToken"] = token }));
            Assert.That(posted.StatusCode, Is.EqualTo(HttpStatusCode.Redirect), target);
            Assert.That(posted.Headers.Location?.OriginalString, Is.EqualTo("/mon-compte"), target);
        }
    }

    [Test]
    public async Task The_page_needs_a_session()
    {
        await using var host = HostStore.Start(kind);
        var response = await host.Host.CreateBrowser().GetAsync("/mon-compte/mot-de-passe");
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Redirect));
        Assert.That(response.Headers.Location!.AbsolutePath, Is.EqualTo("/connexion"));
    }
}
