using System.Net;
using System.Net.Http.Headers;
using CafConnect.IdP.Demo;
using CafConnect.IdP.Tests.Support;

namespace CafConnect.IdP.Tests.Security;

/// <summary>
/// Issue 7, "Session isolation": no session is reused after an authentication or a logout, the anti-forgery token is
/// bound to the session, and no response carrying personal data may be cached. (No session cookie before login and a
/// new session id at every authentication: Features/Login/SecurityHeadersAndCookiesTests.)
/// </summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
public sealed class SessionReuseAndCachingTests(StoreKind kind) : StoreFixture(kind)
{
    private const string LouiseNir = "2920769383017";

    private static Task<HttpResponseMessage> LoginAsync(OidcDriver driver, string nir, string password) =>
        driver.SubmitLoginAsync(new Uri("/connexion", UriKind.Relative), nir, password);

    /// <summary>The browser's cookies, copied: what a thief who took them would hold.</summary>
    private static CookieContainer Copy(CookieContainer cookies)
    {
        var copy = new CookieContainer();
        foreach (Cookie cookie in cookies.GetAllCookies())
        {
            copy.Add(new Cookie(cookie.Name, cookie.Value, cookie.Path, cookie.Domain));
        }
        return copy;
    }

    [Test]
    public async Task Session_cookie_from_before_a_new_authentication_is_refused_after_it()
    {
        var cookies = new CookieContainer();
        var driver = new OidcDriver(Host.CreateBrowser(cookies));
        Assert.That((await LoginAsync(driver, LouiseNir, DemoData.LouiseDubois.Password)).StatusCode, Is.EqualTo(HttpStatusCode.Redirect));
        var before = Copy(cookies);

        Assert.That((await LoginAsync(driver, LouiseNir, DemoData.LouiseDubois.Password)).StatusCode, Is.EqualTo(HttpStatusCode.Redirect));

        var old = await Host.CreateBrowser(before).GetAsync("/mon-compte");
        var current = await driver.Browser.GetAsync("/mon-compte");
        Assert.That(old.StatusCode, Is.EqualTo(HttpStatusCode.Redirect), "the replaced session is over on the server");
        Assert.That(old.Headers.Location!.AbsolutePath, Is.EqualTo("/connexion"));
        Assert.That(current.StatusCode, Is.EqualTo(HttpStatusCode.OK), "the new session works");
    }

    [Test]
    public async Task Session_cookie_copied_before_logout_is_refused_after_it()
    {
        var cookies = new CookieContainer();
        var driver = new OidcDriver(Host.CreateBrowser(cookies));
        Assert.That((await LoginAsync(driver, LouiseNir, DemoData.LouiseDubois.Password)).StatusCode, Is.EqualTo(HttpStatusCode.Redirect));
        var copied = Copy(cookies);
        Assert.That((await Host.CreateBrowser(Copy(cookies)).GetAsync("/mon-compte")).StatusCode, Is.EqualTo(HttpStatusCode.OK), "the copy works before logout");

        var (action, token) = OidcDriver.LoginForm(await (await driver.Browser.GetAsync("/deconnexion")).Content.ReadAsStringAsync());
        var logout = await driver.Browser.PostAsync(action, new FormUrlEncodedContent(new Dictionary<string, string> { ["__RequestVerificationToken"] = token }));
        Assert.That(logout.StatusCode, Is.EqualTo(HttpStatusCode.Redirect));

        var replay = await Host.CreateBrowser(copied).GetAsync("/mon-compte");
        Assert.That(replay.StatusCode, Is.EqualTo(HttpStatusCode.Redirect), "logout ends the session on the server, not only in the browser");
        Assert.That(replay.Headers.Location!.AbsolutePath, Is.EqualTo("/connexion"));
    }

    [Test]
    public async Task Anti_forgery_token_from_one_session_is_refused_in_another_session_of_the_same_person_and_browser()
    {
        var driver = NewBrowser();
        Assert.That((await LoginAsync(driver, LouiseNir, DemoData.LouiseDubois.Password)).StatusCode, Is.EqualTo(HttpStatusCode.Redirect));
        var (action, firstSessionToken) = OidcDriver.LoginForm(await (await driver.Browser.GetAsync("/deconnexion")).Content.ReadAsStringAsync());

        // A new authentication on the same browser: same person, same anti-forgery cookie, another session.
        Assert.That((await LoginAsync(driver, LouiseNir, DemoData.LouiseDubois.Password)).StatusCode, Is.EqualTo(HttpStatusCode.Redirect));
        var stale = await driver.Browser.PostAsync(action, new FormUrlEncodedContent(new Dictionary<string, string> { ["__RequestVerificationToken"] = firstSessionToken }));
        var (_, currentToken) = OidcDriver.LoginForm(await (await driver.Browser.GetAsync("/deconnexion")).Content.ReadAsStringAsync());
        var fresh = await driver.Browser.PostAsync(action, new FormUrlEncodedContent(new Dictionary<string, string> { ["__RequestVerificationToken"] = currentToken }));

        Assert.That(stale.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), "the first session's token");
        Assert.That(fresh.StatusCode, Is.EqualTo(HttpStatusCode.Redirect), "the current session's token");
    }

    [Test]
    public async Task Anti_forgery_token_of_another_persons_session_is_refused()
    {
        var louise = NewBrowser();
        Assert.That((await LoginAsync(louise, LouiseNir, DemoData.LouiseDubois.Password)).StatusCode, Is.EqualTo(HttpStatusCode.Redirect));
        var (action, louiseToken) = OidcDriver.LoginForm(await (await louise.Browser.GetAsync("/deconnexion")).Content.ReadAsStringAsync());
        // Louise's anti-forgery cookie too: only the session differs.
        var cookies = new CookieContainer();
        var victim = new OidcDriver(Host.CreateBrowser(cookies));
        await victim.Browser.GetAsync("/connexion");
        Assert.That((await LoginAsync(victim, DemoData.JeanneDupont.Nir!, DemoData.JeanneDupont.Password)).StatusCode, Is.EqualTo(HttpStatusCode.Redirect));

        var forged = await victim.Browser.PostAsync(action, new FormUrlEncodedContent(new Dictionary<string, string> { ["__RequestVerificationToken"] = louiseToken }));

        Assert.That(forged.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That((await victim.Browser.GetAsync("/mon-compte")).StatusCode, Is.EqualTo(HttpStatusCode.OK), "Jeanne is still signed in");
    }

    [TestCase("/mon-compte", TestName = "Mon compte is not cacheable")]
    [TestCase("/mon-compte/autorisations", TestName = "Mes autorisations is not cacheable")]
    [TestCase("/connexion", TestName = "The login page is not cacheable")]
    [TestCase("/mot-de-passe-oublie", TestName = "The recovery journey is not cacheable")]
    [TestCase("/deconnexion", TestName = "The logout page is not cacheable")]
    public async Task Pages_with_personal_data_are_not_cacheable(string path)
    {
        var driver = NewBrowser();
        Assert.That((await LoginAsync(driver, DemoData.JeanneDupont.Nir!, DemoData.JeanneDupont.Password)).StatusCode, Is.EqualTo(HttpStatusCode.Redirect));

        var response = await driver.Browser.GetAsync(path);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(response.Headers.CacheControl?.NoStore, Is.True, path);
    }

    [Test]
    public async Task A_first_login_journey_page_is_not_cacheable()
    {
        var driver = NewBrowser();
        var login = await LoginAsync(driver, DemoData.PaulMartin.Nir!, "58231947");
        Assert.That(login.StatusCode, Is.EqualTo(HttpStatusCode.Redirect));

        var page = await driver.Browser.GetAsync(login.Headers.Location);

        Assert.That(page.StatusCode, Is.EqualTo(HttpStatusCode.OK), login.Headers.Location!.ToString());
        Assert.That(page.Headers.CacheControl?.NoStore, Is.True);
    }

    [Test]
    public async Task Token_and_userinfo_responses_are_not_cacheable()
    {
        var driver = NewBrowser();
        var pkce = Pkce.Create();
        var code = (await driver.SignInAsync(OidcDriver.AuthorizationParameters(TestClient.CafFr, pkce), DemoData.JeanneDupont.Nir!, DemoData.JeanneDupont.Password))["code"]!;

        var token = await driver.RedeemCodeAsync(TestClient.CafFr, code, pkce.Verifier);
        var tokens = await OidcDriver.ReadTokensAsync(token);
        var userinfo = await driver.UserInfoAsync(tokens.AccessToken);
        var refreshed = await driver.RefreshAsync(TestClient.CafFr, tokens.RefreshToken!);

        Assert.Multiple(() =>
        {
            foreach (var (name, response) in new[] { ("token", token), ("userinfo", userinfo), ("refresh", refreshed) })
            {
                Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), name);
                Assert.That(response.Headers.CacheControl?.NoStore, Is.True, name);
            }
        });
    }
}
