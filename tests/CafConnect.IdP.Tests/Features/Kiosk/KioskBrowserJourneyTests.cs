using System.Net;
using CafConnect.IdP.Tests.Support;

namespace CafConnect.IdP.Tests.Features.Kiosk;

/// <summary>
/// The browser journey a kiosk opens when its grant answers <c>first_login_required</c> (docs/claims.md, "Kiosks"): the
/// kiosk's browser serves one visitor after another, so the provider session a visitor leaves in it must never answer the
/// next visitor's authorization request (docs/decisions.md #53; sixth adversarial review, docs/security.md).
/// </summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
public sealed class KioskBrowserJourneyTests(StoreKind kind) : KioskGrantFixture(kind)
{
    private const string Password = "Kiosque2Visite";

    protected override IReadOnlyDictionary<string, string?> Settings { get; } = new Dictionary<string, string?>();

    [Test]
    public async Task The_session_a_visitor_left_in_the_kiosk_browser_never_gives_the_next_visitor_a_code()
    {
        var kiosk = await NewKioskClientAsync();
        var (first, firstNir) = await NewPersonAsync(Password);
        var (next, nextNir) = await NewPersonAsync(Password);
        var browser = DriverFrom(NewIp());

        // The first visitor's journey: the login page, then the kiosk's code (their session stays in the browser).
        var visit = await browser.SignInAsync(OidcDriver.AuthorizationParameters(kiosk, Pkce.Create(), scope: "openid caf"), firstNir, Password);
        Assert.That(visit["code"], Is.Not.Null, "the first visitor's own journey gives the kiosk a code");

        // The next visitor: the kiosk opens the same journey in the same browser. Before the fix: a code at once, of the first visitor.
        var pkce = Pkce.Create();
        var challenge = await browser.AuthorizeAsync(OidcDriver.AuthorizationParameters(kiosk, pkce, scope: "openid caf"));
        Assert.That(challenge.StatusCode, Is.EqualTo(HttpStatusCode.Redirect));
        Assert.That(challenge.Headers.Location!.AbsolutePath, Is.EqualTo("/connexion"), "the previous visitor's session answers nothing for a kiosk");

        // Silently, never the previous visitor either.
        var silentRequest = OidcDriver.AuthorizationParameters(kiosk, Pkce.Create(), scope: "openid caf");
        silentRequest["prompt"] = "none";
        var silent = await browser.AuthorizeAsync(silentRequest);
        Assert.That(OidcDriver.ToAuthorizationResponse(silent)["error"], Is.EqualTo("login_required"));

        // The next visitor's own login completes the request (no loop), with a token of theirs.
        var login = await browser.SubmitLoginAsync(challenge.Headers.Location!, nextNir, Password);
        Assert.That(login.StatusCode, Is.EqualTo(HttpStatusCode.Redirect), await OidcDriver.ErrorsOf(login));
        var back = OidcDriver.ToAuthorizationResponse(await browser.Browser.GetAsync(login.Headers.Location));
        var tokens = await OidcDriver.ReadTokensAsync(await browser.RedeemCodeAsync(kiosk, back["code"]!, pkce.Verifier));
        var idToken = await browser.ValidateIdTokenAsync(tokens.IdToken, kiosk.ClientId);
        Assert.That(idToken.Subject, Is.EqualTo(next.Subject).And.Not.EqualTo(first.Subject));
    }

    [Test]
    public async Task A_kiosk_login_page_neither_offers_nor_keeps_an_identifier_on_the_device()
    {
        var kiosk = await NewKioskClientAsync();
        var (_, earlierNir) = await NewPersonAsync(Password);
        var (_, visitorNir) = await NewPersonAsync(Password);
        var browser = DriverFrom(NewIp());

        // Someone ticked « Se souvenir de moi » in this browser at an ordinary login.
        var earlier = await browser.SubmitLoginAsync(new Uri("/connexion", UriKind.Relative), earlierNir, Password, rememberMe: true);
        Assert.That(earlier.StatusCode, Is.EqualTo(HttpStatusCode.Redirect), await OidcDriver.ErrorsOf(earlier));
        Assert.That(await browser.Browser.GetStringAsync("/connexion"), Does.Contain("Identifiant mémorisé"), "an ordinary login page shows it");

        // The kiosk's journey in that browser: nothing of theirs shown, nothing offered, and what was remembered is forgotten.
        var challenge = await browser.AuthorizeAsync(OidcDriver.AuthorizationParameters(kiosk, Pkce.Create(), scope: "openid caf"));
        Assert.That(challenge.Headers.Location!.AbsolutePath, Is.EqualTo("/connexion"));
        var page = await browser.Browser.GetAsync(challenge.Headers.Location);
        var html = await page.Content.ReadAsStringAsync();
        Assert.Multiple(() =>
        {
            Assert.That(html, Does.Not.Contain("Identifiant mémorisé").And.Not.Contain(earlierNir[^3..] + "</strong>"), "the previous person's identifier is not shown");
            Assert.That(html, Does.Not.Contain("Se souvenir de moi").And.Not.Contain("Input.RememberMe"), "« Se souvenir de moi » is not offered");
            Assert.That(page.Headers.TryGetValues("Set-Cookie", out var set) ? set : [], Has.Some.StartsWith("cafconnect.remember=;"), "the remembered identifier is deleted");
        });

        // A visitor posting the box anyway (it is not on the page) is not remembered either.
        var login = await browser.SubmitLoginAsync(challenge.Headers.Location!, visitorNir, Password, rememberMe: true);
        Assert.That(login.StatusCode, Is.EqualTo(HttpStatusCode.Redirect), await OidcDriver.ErrorsOf(login));
        Assert.That(login.Headers.TryGetValues("Set-Cookie", out var cookies) ? cookies : [], Has.None.Matches<string>(c => c.StartsWith("cafconnect.remember=") && !c.StartsWith("cafconnect.remember=;")));
        Assert.That(await browser.Browser.GetStringAsync("/connexion"), Does.Not.Contain("Identifiant mémorisé"), "the next ordinary login page remembers nobody");
    }

    [Test]
    public async Task Another_clients_request_still_uses_the_session_of_its_browser()
    {
        var (_, nir) = await NewPersonAsync(Password);
        var browser = DriverFrom(NewIp());
        await browser.SignInAsync(OidcDriver.AuthorizationParameters(TestClient.CafFr, Pkce.Create()), nir, Password);

        var again = OidcDriver.ToAuthorizationResponse(await browser.AuthorizeAsync(OidcDriver.AuthorizationParameters(TestClient.CafFr, Pkce.Create())));
        Assert.That(again["code"], Is.Not.Null, "single sign-on is unchanged for a person's own browser");
    }
}
