using System.Net;
using CafConnect.IdP.Demo;
using CafConnect.IdP.Tests.Support;
using CafConnect.Infrastructure.Audit;
using CafConnect.Infrastructure.Persistence;
using Microsoft.AspNetCore.Mvc.Testing.Handlers;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace CafConnect.IdP.Tests.Features.Login;

/// <summary>
/// Issue 7, headers and cookies: what every response carries, and the cookies of a host configured as in production
/// (<c>Oidc:RequireHttps=true</c>, served on https://localhost): Secure, HttpOnly, SameSite, the <c>__Host-</c> prefix,
/// no session before login, a new session at every authentication, "Se souvenir de moi" keeping only the identifier.
/// </summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
public sealed class SecurityHeadersAndCookiesTests(StoreKind kind) : StoreFixture(kind)
{
    private const string JeanneNir = "2850375112048";
    private CafConnectFactory _https = null!;

    [OneTimeSetUp]
    public void StartHttpsInstance()
    {
        // A second instance on the same store, configured as production is.
        _https = new CafConnectFactory(Store, new Dictionary<string, string?> { ["Oidc:RequireHttps"] = "true" });
        _ = _https.Server;
    }

    [OneTimeTearDown]
    public async Task StopHttpsInstance()
    {
        if (_https is not null)
        {
            await _https.DisposeAsync();
        }
    }

    private (HttpClient Browser, CookieContainer Cookies) HttpsBrowser()
    {
        var cookies = new CookieContainer();
        return (_https.CreateDefaultClient(new Uri("https://localhost"), new CookieContainerHandler(cookies)), cookies);
    }

    private static List<string> SetCookies(HttpResponseMessage response) =>
        response.Headers.TryGetValues("Set-Cookie", out var values) ? values.ToList() : [];

    private static string CookieNamed(HttpResponseMessage response, string name) =>
        SetCookies(response).Single(c => c.StartsWith(name + "=", StringComparison.Ordinal) && !c.Contains("expires=Thu, 01 Jan 1970", StringComparison.OrdinalIgnoreCase));

    [TestCase("/connexion")]
    [TestCase("/erreur/404")]
    [TestCase("/.well-known/openid-configuration")]
    public async Task Every_response_forbids_framing_sniffing_referrers_and_inline_scripts(string path)
    {
        var response = await Host.CreateBrowser().GetAsync(path);
        var csp = response.Headers.GetValues("Content-Security-Policy").Single();
        var directives = csp.Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).ToDictionary(d => d.Split(' ')[0], d => d);

        Assert.Multiple(() =>
        {
            Assert.That(directives["script-src"], Is.EqualTo("script-src 'self'"), "scripts from this origin only: no unsafe-inline, no unsafe-eval");
            Assert.That(directives["style-src"], Does.Not.Contain("unsafe-inline"));
            Assert.That(directives["default-src"], Is.EqualTo("default-src 'self'"));
            Assert.That(directives["object-src"], Is.EqualTo("object-src 'none'"));
            Assert.That(directives["base-uri"], Is.EqualTo("base-uri 'none'"));
            Assert.That(directives["frame-ancestors"], Is.EqualTo("frame-ancestors 'none'"));
            Assert.That(response.Headers.GetValues("X-Frame-Options").Single(), Is.EqualTo("DENY"));
            Assert.That(response.Headers.GetValues("X-Content-Type-Options").Single(), Is.EqualTo("nosniff"));
            Assert.That(response.Headers.GetValues("Referrer-Policy").Single(), Is.EqualTo("no-referrer"));
            Assert.That(response.Headers.Contains("Strict-Transport-Security"), Is.False, "no HSTS over plain http (it would be ignored)");
        });
    }

    [Test]
    public async Task Over_https_responses_carry_HSTS()
    {
        var (browser, _) = HttpsBrowser();
        var response = await browser.GetAsync("/connexion");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(response.Headers.GetValues("Strict-Transport-Security").Single(), Is.EqualTo("max-age=31536000; includeSubDomains"));
    }

    [Test]
    public async Task With_RequireHttps_every_cookie_is_Secure_HttpOnly_SameSite_and_Host_prefixed()
    {
        var (browser, _) = HttpsBrowser();
        var driver = new OidcDriver(browser);
        var page = await browser.GetAsync("/connexion");
        var antiforgery = CookieNamed(page, "__Host-cafconnect.af");

        var login = await driver.SubmitLoginAsync(new Uri("/connexion", UriKind.Relative), JeanneNir, DemoData.JeanneDupont.Password, rememberMe: true);
        Assert.That(login.StatusCode, Is.EqualTo(HttpStatusCode.Redirect), await OidcDriver.ErrorsOf(login));
        var session = CookieNamed(login, "__Host-cafconnect.session");
        var remember = CookieNamed(login, "__Host-cafconnect.remember");

        Assert.Multiple(() =>
        {
            foreach (var cookie in new[] { antiforgery, session, remember })
            {
                var attributes = cookie.Split(';', StringSplitOptions.TrimEntries).Skip(1).Select(a => a.ToLowerInvariant()).ToList();
                Assert.That(attributes, Does.Contain("secure"), cookie);
                Assert.That(attributes, Does.Contain("httponly"), cookie);
                Assert.That(attributes, Does.Contain("path=/"), cookie);
                Assert.That(attributes.Where(a => a.StartsWith("domain=", StringComparison.Ordinal)), Is.Empty, "__Host- cookies have no Domain");
                Assert.That(attributes, Has.Some.EqualTo("samesite=lax").Or.Some.EqualTo("samesite=strict"), cookie);
            }
            Assert.That(antiforgery.ToLowerInvariant(), Does.Contain("samesite=strict"));
            Assert.That(session.ToLowerInvariant(), Does.Contain("samesite=lax"), "Lax: the session must follow the relying party's top-level redirect back");
            Assert.That(session.ToLowerInvariant(), Does.Not.Contain("expires="), "a browser-session cookie, not persisted");
        });
    }

    [Test]
    public async Task No_session_cookie_is_issued_before_a_successful_login()
    {
        var driver = NewBrowser();
        var page = await driver.Browser.GetAsync("/connexion");
        var failed = await driver.SubmitLoginAsync(new Uri("/connexion", UriKind.Relative), JeanneNir, "PasLeBon123");
        var authorize = await driver.AuthorizeAsync(OidcDriver.AuthorizationParameters(TestClient.CafFr, Pkce.Create()));

        Assert.Multiple(() =>
        {
            foreach (var response in new[] { page, failed, authorize })
            {
                Assert.That(SetCookies(response).Where(c => c.Contains("session", StringComparison.OrdinalIgnoreCase)), Is.Empty, response.RequestMessage!.RequestUri!.ToString());
            }
        });
    }

    [Test]
    public async Task Every_authentication_gets_a_new_session_id_replacing_the_one_the_browser_had()
    {
        var driver = NewBrowser();
        var first = await driver.SubmitLoginAsync(new Uri("/connexion", UriKind.Relative), "2920769383017", DemoData.LouiseDubois.Password);
        var second = await driver.SubmitLoginAsync(new Uri("/connexion", UriKind.Relative), "2920769383017", DemoData.LouiseDubois.Password);
        Assert.That(first.StatusCode, Is.EqualTo(HttpStatusCode.Redirect));
        Assert.That(second.StatusCode, Is.EqualTo(HttpStatusCode.Redirect));

        using var scope = Host.Services.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<CafConnectDbContext>();
        var louise = await db.Persons.SingleAsync(p => p.Nir == "2920769383017");
        var sessions = await db.AuditEvents.Where(e => e.PersonId == louise.Id && e.Type == AuditEventTypes.LoginSucceeded).Select(e => e.SessionId).ToListAsync();

        Assert.Multiple(() =>
        {
            Assert.That(sessions, Has.Count.GreaterThanOrEqualTo(2));
            Assert.That(sessions, Is.All.Not.Null);
            Assert.That(sessions, Is.Unique, "no session id is carried over from before the login");
            Assert.That(CookieNamed(second, "cafconnect.session"), Is.Not.EqualTo(CookieNamed(first, "cafconnect.session")));
        });
    }

    [Test]
    public async Task Se_souvenir_de_moi_keeps_only_the_identifier_encrypted_and_shows_it_masked()
    {
        var cookies = new CookieContainer();
        var driver = new OidcDriver(Host.CreateBrowser(cookies));
        var login = await driver.SubmitLoginAsync(new Uri("/connexion", UriKind.Relative), JeanneNir, DemoData.JeanneDupont.Password, rememberMe: true);
        var remember = CookieNamed(login, "cafconnect.remember");

        // A later visit on this device, without the session: only the remembered identifier is left.
        var later = new CookieContainer();
        foreach (Cookie cookie in cookies.GetAllCookies())
        {
            if (cookie.Name == "cafconnect.remember")
            {
                later.Add(cookie);
            }
        }
        var browser = Host.CreateBrowser(later);
        var account = await browser.GetAsync("/mon-compte");
        var page = WebUtility.HtmlDecode(await (await browser.GetAsync("/connexion")).Content.ReadAsStringAsync());

        Assert.Multiple(() =>
        {
            Assert.That(remember, Does.Not.Contain(JeanneNir).And.Not.Contain("048"), "the identifier is encrypted in the cookie");
            Assert.That(remember.ToLowerInvariant(), Does.Contain("max-age="), "it outlives the browser session, unlike the session cookie");
            Assert.That(account.StatusCode, Is.EqualTo(HttpStatusCode.Redirect), "remembering is not a session");
            Assert.That(account.Headers.Location!.AbsolutePath, Is.EqualTo("/connexion"));
            Assert.That(page, Does.Contain("Identifiant mémorisé : <strong>••••••••••048</strong>"));
            Assert.That(page, Does.Not.Contain(JeanneNir));
            Assert.That(page, Does.Contain("Utiliser un autre identifiant"));
        });
    }
}
