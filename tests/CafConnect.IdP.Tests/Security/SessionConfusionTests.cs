using System.Net;
using CafConnect.IdP.Demo;
using CafConnect.IdP.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace CafConnect.IdP.Tests.Security;

/// <summary>
/// The 2021 failure mode: a relying party asking for one person and getting another (security issue, items 5 and 7).
/// A hint naming someone else never yields a code for the person signed in; the proof that a login was asked for by an
/// authorization request works only in the browser, for the request, and once.
/// </summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
public sealed class SessionConfusionTests(StoreKind kind) : StoreFixture(kind)
{
    private static readonly DemoPerson Jeanne = DemoData.JeanneDupont;
    private static readonly DemoPerson Louise = DemoData.LouiseDubois;

    [Test]
    public async Task Prompt_none_with_another_persons_id_token_hint_returns_login_required_and_no_code()
    {
        var louise = await NewBrowser().SignInAndRedeemAsync(TestClient.CafFr, Louise.Nir!, Louise.Password);
        var jeannesBrowser = NewBrowser();
        await jeannesBrowser.SignInAndRedeemAsync(TestClient.CafFr, Jeanne.Nir!, Jeanne.Password);

        var parameters = OidcDriver.AuthorizationParameters(TestClient.CafFr, Pkce.Create());
        parameters["prompt"] = "none";
        parameters["id_token_hint"] = louise.IdToken;
        var response = OidcDriver.ToAuthorizationResponse(await jeannesBrowser.AuthorizeAsync(parameters));

        Assert.Multiple(() =>
        {
            Assert.That(response.Location.GetLeftPart(UriPartial.Path), Is.EqualTo(TestClient.CafFr.RedirectUri));
            Assert.That(response["error"], Is.EqualTo("login_required"));
            Assert.That(response["code"], Is.Null, "never a code for Jeanne when Louise is asked for");
            Assert.That(response["state"], Is.EqualTo("etat-123"));
        });
    }

    [Test]
    public async Task Another_persons_hint_asks_for_a_login_and_gives_a_code_only_for_the_person_named()
    {
        var louise = await NewBrowser().SignInAndRedeemAsync(TestClient.CafFr, Louise.Nir!, Louise.Password);
        var louiseSubject = (await NewBrowser().ValidateIdTokenAsync(louise.IdToken, TestClient.CafFr.ClientId)).Subject;
        var browser = NewBrowser();
        await browser.SignInAndRedeemAsync(TestClient.CafFr, Jeanne.Nir!, Jeanne.Password);

        var pkce = Pkce.Create();
        var parameters = OidcDriver.AuthorizationParameters(TestClient.CafFr, pkce);
        parameters["id_token_hint"] = louise.IdToken;
        var challenge = await browser.AuthorizeAsync(parameters);
        Assert.That(challenge.Headers.Location!.AbsolutePath, Is.EqualTo("/connexion"), "interactive sign-in, not Jeanne's session");

        var login = await browser.SubmitLoginAsync(challenge.Headers.Location!, Louise.Nir!, Louise.Password);
        var authorization = OidcDriver.ToAuthorizationResponse(await browser.Browser.GetAsync(login.Headers.Location));
        var tokens = await OidcDriver.ReadTokensAsync(await browser.RedeemCodeAsync(TestClient.CafFr, authorization["code"]!, pkce.Verifier));

        Assert.That((await browser.ValidateIdTokenAsync(tokens.IdToken, TestClient.CafFr.ClientId)).Subject, Is.EqualTo(louiseSubject));
    }

    [Test]
    public async Task Another_persons_hint_still_unmatched_after_the_login_it_asked_for_returns_login_required()
    {
        var louise = await NewBrowser().SignInAndRedeemAsync(TestClient.CafFr, Louise.Nir!, Louise.Password);
        var browser = NewBrowser();
        await browser.SignInAndRedeemAsync(TestClient.CafFr, Jeanne.Nir!, Jeanne.Password);

        var parameters = OidcDriver.AuthorizationParameters(TestClient.CafFr, Pkce.Create());
        parameters["id_token_hint"] = louise.IdToken;
        var challenge = await browser.AuthorizeAsync(parameters);
        var login = await browser.SubmitLoginAsync(challenge.Headers.Location!, Jeanne.Nir!, Jeanne.Password);
        var response = OidcDriver.ToAuthorizationResponse(await browser.Browser.GetAsync(login.Headers.Location));

        Assert.That(response["error"], Is.EqualTo("login_required"), "Core §3.1.2.1: an error, never Jeanne's code, and no loop");
        Assert.That(response["code"], Is.Null);
    }

    [Test]
    public async Task A_reauthentication_marker_minted_in_one_browser_is_refused_in_another()
    {
        // The attacker's browser asks for prompt=login and keeps the URL the login page would return to.
        var attacker = NewBrowser();
        var parameters = OidcDriver.AuthorizationParameters(TestClient.CafFr, Pkce.Create());
        parameters["prompt"] = "login";
        var challenge = await attacker.AuthorizeAsync(parameters);
        var returnUrl = Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(challenge.Headers.Location!.Query)["returnUrl"].ToString();
        Assert.That(returnUrl, Does.Contain("cafconnect_reauth="));

        // The victim signs in afterwards (a fresh session), then is sent to that URL.
        var victim = NewBrowser();
        await victim.SignInAndRedeemAsync(TestClient.CafFr, Jeanne.Nir!, Jeanne.Password);
        var response = await victim.Browser.GetAsync(returnUrl);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Redirect));
        Assert.That(response.Headers.Location!.AbsolutePath, Is.EqualTo("/connexion"), "the marker means nothing in another browser: prompt=login holds");
    }

    [Test]
    public async Task A_reauthentication_marker_is_used_once()
    {
        var browser = NewBrowser();
        await browser.SignInAndRedeemAsync(TestClient.CafFr, Jeanne.Nir!, Jeanne.Password);
        var parameters = OidcDriver.AuthorizationParameters(TestClient.CafFr, Pkce.Create());
        parameters["prompt"] = "login";
        var challenge = await browser.AuthorizeAsync(parameters);
        var login = await browser.SubmitLoginAsync(challenge.Headers.Location!, Jeanne.Nir!, Jeanne.Password);
        var first = OidcDriver.ToAuthorizationResponse(await browser.Browser.GetAsync(login.Headers.Location));
        Assert.That(first["code"], Is.Not.Null);

        var replay = await browser.Browser.GetAsync(login.Headers.Location);

        Assert.That(replay.Headers.Location!.AbsolutePath, Is.EqualTo("/connexion"), "replayed, the marker no longer stands for a fresh login");
    }

    [Test]
    public async Task A_reauthentication_marker_is_bound_to_the_request_it_was_minted_for()
    {
        var browser = NewBrowser();
        await browser.SignInAndRedeemAsync(TestClient.CafFr, Jeanne.Nir!, Jeanne.Password);
        var parameters = OidcDriver.AuthorizationParameters(TestClient.CafFr, Pkce.Create());
        parameters["prompt"] = "login";
        var challenge = await browser.AuthorizeAsync(parameters);
        var login = await browser.SubmitLoginAsync(challenge.Headers.Location!, Jeanne.Nir!, Jeanne.Password);

        // Same marker, another client's request (its own redirect URI and a PKCE challenge of the attacker's choosing).
        var swapped = login.Headers.Location!.OriginalString
            .Replace("client_id=caf-fr", "client_id=caf-mobile", StringComparison.Ordinal)
            .Replace(Uri.EscapeDataString(TestClient.CafFr.RedirectUri), Uri.EscapeDataString(TestClient.CafMobile.RedirectUri), StringComparison.Ordinal);
        var response = await browser.Browser.GetAsync(swapped);

        Assert.That(response.Headers.Location!.AbsolutePath, Is.EqualTo("/connexion"));
    }
}

/// <summary>
/// An ID token lives 5 minutes; a relying party renewing silently later still sends it as the hint. An expired hint
/// issued by us still names its person (only who it names matters, not whether it could still be used).
/// </summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
public sealed class ExpiredIdTokenHintTests(StoreKind kind)
{
    private readonly ManualClock _clock = new();
    private TestStore _store = null!;
    private CafConnectFactory _host = null!;

    [OneTimeSetUp]
    public void Start()
    {
        _store = TestStore.Create(kind);
        _host = new CafConnectFactory(_store, configureServices: services => services.AddSingleton<TimeProvider>(_clock));
    }

    [OneTimeTearDown]
    public async Task Stop()
    {
        await _host.DisposeAsync();
        await _store.DisposeAsync();
    }

    [Test]
    public async Task Prompt_none_with_the_persons_own_expired_id_token_hint_still_returns_a_code()
    {
        var driver = new OidcDriver(_host.CreateBrowser());
        var tokens = await driver.SignInAndRedeemAsync(TestClient.CafFr, DemoData.JeanneDupont.Nir!, DemoData.JeanneDupont.Password);
        _clock.Advance(TimeSpan.FromMinutes(10));

        var parameters = OidcDriver.AuthorizationParameters(TestClient.CafFr, Pkce.Create());
        parameters["prompt"] = "none";
        parameters["id_token_hint"] = tokens.IdToken;
        var response = OidcDriver.ToAuthorizationResponse(await driver.AuthorizeAsync(parameters));

        Assert.That(response["code"], Is.Not.Null, response.Location.ToString());
    }
}
