using System.Net;
using CafConnect.IdP.Demo;
using CafConnect.IdP.Tests.Features.FirstLogin;
using CafConnect.IdP.Tests.Features.Recovery;
using CafConnect.IdP.Tests.Support;
using CafConnect.Infrastructure.Notifications;

namespace CafConnect.IdP.Tests.Security;

/// <summary>
/// A shared computer (a family's, a Caf office's): after « Se déconnecter », the next person in the same browser finds
/// nothing of the previous one's open — no session, and no journey left half-done (sixth adversarial review,
/// docs/security.md, "Sessions, CSRF, redirects").
/// </summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
public sealed class SharedDeviceTests(StoreKind kind)
{
    private const string JeanneNir = "2850375112048";
    private const string JeanneMobile = "+33615000001";
    private const string TakenOver = "Voisin7Curieux";

    [Test]
    public async Task A_recovery_left_at_its_new_password_step_is_closed_by_the_logout_of_that_browser()
    {
        await using var host = HostStore.Start(kind);
        var browser = new RecoveryDriver(host.Host.CreateBrowser());

        // Jeanne proves her mobile in « Mot de passe oublié ? », then remembers her password and signs in instead.
        var codePage = await browser.RequestCodePageAsync("2 85 03 75 112 048");
        var code = SmsGatewaySink.CodeIn((await host.Sms.WaitForAsync(JeanneMobile)).Text);
        var passwordPage = FirstLoginDriver.Next(await browser.Pages.PostAsync(codePage, new Dictionary<string, string> { ["Code"] = code }));
        Assert.That(passwordPage.AbsolutePathOrOriginal(), Is.EqualTo("/mot-de-passe-oublie/nouveau-mot-de-passe"));
        var driver = new OidcDriver(browser.Browser);
        var login = await driver.SubmitLoginAsync(new Uri("/connexion", UriKind.Relative), JeanneNir, DemoData.JeanneDupont.Password);
        Assert.That(login.Headers.Location!.OriginalString, Is.EqualTo("/mon-compte"));

        // « Se déconnecter ».
        var (action, token) = OidcDriver.LoginForm(await (await browser.Browser.GetAsync("/deconnexion")).Content.ReadAsStringAsync());
        var logout = await browser.Browser.PostAsync(action, new FormUrlEncodedContent(new Dictionary<string, string> { ["__RequestVerificationToken"] = token }));
        Assert.That(logout.StatusCode, Is.EqualTo(HttpStatusCode.Redirect));

        // The next person, same browser, the page from its history. Before the fix: the form, and Jeanne's password theirs to choose.
        var (reopened, _) = await browser.Pages.GetAsync(passwordPage);
        Assert.That(reopened.StatusCode, Is.EqualTo(HttpStatusCode.NotFound), "the logout closed the journeys of this browser");
        var post = await browser.Browser.PostAsync(passwordPage, new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["Password"] = TakenOver, ["Confirmation"] = TakenOver,
            ["__RequestVerificationToken"] = OidcDriver.LoginForm(await (await browser.Browser.GetAsync("/connexion")).Content.ReadAsStringAsync()).Token,
        }));
        Assert.That(post.StatusCode, Is.Not.EqualTo(HttpStatusCode.Redirect), "nothing was set");
        var taken = await new OidcDriver(host.Host.CreateBrowser()).SubmitLoginAsync(new Uri("/connexion", UriKind.Relative), JeanneNir, TakenOver);
        Assert.That(taken.StatusCode, Is.EqualTo(HttpStatusCode.OK), "the next person's password does not open Jeanne's account");
        var still = await new OidcDriver(host.Host.CreateBrowser()).SubmitLoginAsync(new Uri("/connexion", UriKind.Relative), JeanneNir, DemoData.JeanneDupont.Password);
        Assert.That(still.Headers.Location!.OriginalString, Is.EqualTo("/mon-compte"), "her own password is unchanged");
    }
}
