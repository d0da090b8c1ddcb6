using System.Net;
using CafConnect.IdP.Demo;
using CafConnect.IdP.Tests.Support;
using CafConnect.Infrastructure.Audit;
using CafConnect.Infrastructure.Persistence;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace CafConnect.IdP.Tests.Features.Login;

[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
public sealed class LoginPageTests(StoreKind kind) : StoreFixture(kind)
{
    private const string WrongCredentials = "Le numéro de Sécurité sociale ou le mot de passe est incorrect.";

    [Test]
    public async Task Login_page_shows_the_French_form_with_its_links_and_an_anti_forgery_token()
    {
        var response = await Host.CreateBrowser().GetAsync("/connexion");
        var html = System.Net.WebUtility.HtmlDecode(await response.Content.ReadAsStringAsync());

        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(html, Does.Contain("<html lang=\"fr\""));
            Assert.That(html, Does.Contain("Numéro de Sécurité sociale"));
            Assert.That(html, Does.Contain("Mot de passe"));
            Assert.That(html, Does.Contain("8 à 24 caractères"));
            Assert.That(html, Does.Contain("Se souvenir de moi"));
            Assert.That(html, Does.Contain("J'ai un identifiant provisoire"));
            Assert.That(html, Does.Contain("Mot de passe oublié ?"));
            Assert.That(html, Does.Contain("Créer Mon Compte"));
            // FranceConnect is off unless configured (FranceConnectTests cover the button when it is on).
            Assert.That(html, Does.Not.Contain("fr-connect"));
            Assert.That(html, Does.Contain("autocomplete=\"username\"").And.Contain("autocomplete=\"current-password\""));
            Assert.That(html, Does.Contain("__RequestVerificationToken"));
            Assert.That(response.Headers.CacheControl?.NoStore, Is.True);
            Assert.That(response.Headers.GetValues("Content-Security-Policy").Single(), Does.Contain("frame-ancestors 'none'").And.Not.Contain("unsafe-inline"));
        });
    }

    [Test]
    public async Task Login_without_a_pending_authorization_lands_on_Mon_compte()
    {
        var driver = NewBrowser();

        var login = await driver.SubmitLoginAsync(new Uri("/connexion", UriKind.Relative), "2 85 03 75 112 048", DemoData.JeanneDupont.Password);
        Assert.That(login.StatusCode, Is.EqualTo(HttpStatusCode.Redirect), await OidcDriver.ErrorsOf(login));
        Assert.That(login.Headers.Location!.OriginalString, Is.EqualTo("/mon-compte"));

        var account = await driver.Browser.GetAsync("/mon-compte");
        var html = System.Net.WebUtility.HtmlDecode(await account.Content.ReadAsStringAsync());
        Assert.That(html, Does.Contain("Bonjour Jeanne DUPONT").And.Contain("0260311"));
    }

    [Test]
    public async Task Mon_compte_without_a_session_sends_to_the_login_page()
    {
        var response = await Host.CreateBrowser().GetAsync("/mon-compte");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Redirect));
        Assert.That(response.Headers.Location!.AbsolutePath, Is.EqualTo("/connexion"));
    }

    [Test]
    public async Task Wrong_password_and_unknown_NIR_get_the_same_message_and_status()
    {
        var wrongPassword = await NewBrowser().SubmitLoginAsync(new Uri("/connexion", UriKind.Relative), "2850375112048", "PasLeBon123");
        var unknownNir = await NewBrowser().SubmitLoginAsync(new Uri("/connexion", UriKind.Relative), "1 70 01 75 101 001", "PasLeBon123");

        Assert.Multiple(async () =>
        {
            Assert.That(wrongPassword.StatusCode, Is.EqualTo(unknownNir.StatusCode));
            Assert.That(wrongPassword.StatusCode, Is.EqualTo(HttpStatusCode.OK), "the page is shown again");
            Assert.That(await OidcDriver.ErrorsOf(wrongPassword), Does.Contain(WrongCredentials));
            Assert.That(await OidcDriver.ErrorsOf(unknownNir), Is.EqualTo(await OidcDriver.ErrorsOf(wrongPassword)));
            Assert.That(wrongPassword.Headers.Location, Is.Null);
        });
    }

    [TestCase("12345", "13 caractères", TestName = "NIR too short gets the length message")]
    [TestCase("2850375112048999", "13 caractères", TestName = "NIR too long gets the length message")]
    [TestCase("28503751120AB", "chiffres", TestName = "NIR with letters gets the characters message")]
    [TestCase("2851375112048", "mois", TestName = "NIR with month 13 gets the month message")]
    [TestCase("", "Saisissez votre numéro de Sécurité sociale", TestName = "Empty NIR asks for it")]
    public async Task Malformed_NIR_gets_a_specific_field_error(string nir, string expectedFragment)
    {
        var response = await NewBrowser().SubmitLoginAsync(new Uri("/connexion", UriKind.Relative), nir, "Quelconque1");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        var errors = await OidcDriver.ErrorsOf(response);
        Assert.That(errors, Does.Contain(expectedFragment));
        Assert.That(errors, Does.Not.Contain(WrongCredentials));
    }

    [Test]
    public async Task Typed_identifier_is_kept_and_the_password_is_never_sent_back()
    {
        var response = await NewBrowser().SubmitLoginAsync(new Uri("/connexion", UriKind.Relative), "2850375112048", "MotDePasseFaux9");
        var html = await response.Content.ReadAsStringAsync();

        Assert.That(html, Does.Contain("value=\"2850375112048\""));
        Assert.That(html, Does.Not.Contain("MotDePasseFaux9"));
    }

    [Test]
    public async Task Provisional_identifier_signs_in_case_insensitively()
    {
        var driver = NewBrowser();

        var login = await driver.SubmitLoginAsync(new Uri("/connexion?mode=provisoire", UriKind.Relative), "p33392250", DemoData.AminaDiallo.Password);

        Assert.That(login.StatusCode, Is.EqualTo(HttpStatusCode.Redirect), await OidcDriver.ErrorsOf(login));
        Assert.That(login.Headers.Location!.OriginalString, Is.EqualTo("/mon-compte"));
    }

    [Test]
    public async Task Post_without_the_anti_forgery_token_is_refused()
    {
        var response = await Host.CreateBrowser().PostAsync("/connexion", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["Input.Identifier"] = "2850375112048",
            ["Input.Password"] = DemoData.JeanneDupont.Password,
        }));

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(response.Headers.Location, Is.Null);
    }

    [TestCase("https://evil.example/", TestName = "Absolute return URL is not followed")]
    [TestCase("//evil.example/", TestName = "Protocol-relative return URL is not followed")]
    [TestCase("/\\evil.example/", TestName = "Backslash return URL is not followed")]
    public async Task Return_url_outside_the_provider_is_ignored(string returnUrl)
    {
        var login = await NewBrowser().SubmitLoginAsync(new Uri("/connexion?returnUrl=" + Uri.EscapeDataString(returnUrl), UriKind.Relative), "2850375112048", DemoData.JeanneDupont.Password);

        Assert.That(login.StatusCode, Is.EqualTo(HttpStatusCode.Redirect));
        Assert.That(login.Headers.Location!.OriginalString, Is.EqualTo("/mon-compte"));
    }

    [Test]
    public async Task Each_login_issues_a_new_session_cookie()
    {
        var driver = NewBrowser();
        var first = await driver.SubmitLoginAsync(new Uri("/connexion", UriKind.Relative), "2850375112048", DemoData.JeanneDupont.Password);
        var second = await driver.SubmitLoginAsync(new Uri("/connexion", UriKind.Relative), "2850375112048", DemoData.JeanneDupont.Password);

        static string SessionCookie(HttpResponseMessage response) =>
            response.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith("cafconnect.session=", StringComparison.Ordinal) && !c.Contains("expires=Thu, 01 Jan 1970"));
        var firstCookie = SessionCookie(first);
        Assert.Multiple(() =>
        {
            Assert.That(SessionCookie(second), Is.Not.EqualTo(firstCookie));
            Assert.That(firstCookie, Does.Contain("httponly").IgnoreCase.And.Contain("samesite=lax").IgnoreCase);
        });
    }

    [Test]
    public async Task Login_outcomes_are_written_to_the_audit_trail_without_the_NIR()
    {
        await NewBrowser().SubmitLoginAsync(new Uri("/connexion", UriKind.Relative), "2920769383017", "MauvaisMotDePasse1");
        await NewBrowser().SubmitLoginAsync(new Uri("/connexion", UriKind.Relative), "2920769383017", DemoData.LouiseDubois.Password);

        using var scope = Host.Services.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<CafConnectDbContext>();
        var louise = await db.Persons.SingleAsync(p => p.Nir == "2920769383017");
        var events = await db.AuditEvents.Where(e => e.PersonId == louise.Id).ToListAsync();

        Assert.Multiple(() =>
        {
            Assert.That(events.Any(e => e.Type == AuditEventTypes.LoginFailed && e.Outcome == "wrong_password"), Is.True);
            Assert.That(events.Any(e => e.Type == AuditEventTypes.LoginSucceeded && e.SessionId is not null), Is.True);
            Assert.That(events.All(e => e.Details is null || !e.Details.Contains("2920769383017")), Is.True);
        });
    }
}
