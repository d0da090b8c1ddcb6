using System.Net;
using CafConnect.IdP.Demo;
using CafConnect.IdP.Tests.Support;

namespace CafConnect.IdP.Tests.Protocol;

/// <summary>prompt=login and max_age force a new password entry, with a later auth_time; other parameters are inert.</summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
public sealed class ReauthenticationTests(StoreKind kind) : StoreFixture(kind)
{
    private const string JeanneNir = "2850375112048";

    [Test]
    public async Task Prompt_login_asks_for_the_password_again_and_auth_time_moves_forward()
    {
        var driver = NewBrowser();
        var first = await driver.SignInAndRedeemAsync(TestClient.CafFr, JeanneNir, DemoData.JeanneDupont.Password);
        var firstAuthTime = (await driver.ValidateIdTokenAsync(first.IdToken, "caf-fr")).GetPayloadValue<long>("auth_time");
        await Task.Delay(TimeSpan.FromSeconds(1.1));

        var pkce = Pkce.Create();
        var parameters = OidcDriver.AuthorizationParameters(TestClient.CafFr, pkce);
        parameters["prompt"] = "login";
        var challenge = await driver.AuthorizeAsync(parameters);
        Assert.That(challenge.Headers.Location!.AbsolutePath, Is.EqualTo("/connexion"), "a live session does not satisfy prompt=login");

        var login = await driver.SubmitLoginAsync(challenge.Headers.Location!, JeanneNir, DemoData.JeanneDupont.Password);
        var back = OidcDriver.ToAuthorizationResponse(await driver.Browser.GetAsync(login.Headers.Location));
        Assert.That(back["code"], Is.Not.Null, "after the new login the request completes (no loop)");
        var second = await OidcDriver.ReadTokensAsync(await driver.RedeemCodeAsync(TestClient.CafFr, back["code"]!, pkce.Verifier));
        var secondAuthTime = (await driver.ValidateIdTokenAsync(second.IdToken, "caf-fr")).GetPayloadValue<long>("auth_time");

        Assert.That(secondAuthTime, Is.GreaterThan(firstAuthTime));
    }

    [Test]
    public async Task Max_age_shorter_than_the_session_asks_for_the_password_again()
    {
        var driver = NewBrowser();
        await driver.SignInAndRedeemAsync(TestClient.CafFr, JeanneNir, DemoData.JeanneDupont.Password);
        await Task.Delay(TimeSpan.FromSeconds(2.1));

        var pkce = Pkce.Create();
        var parameters = OidcDriver.AuthorizationParameters(TestClient.CafFr, pkce);
        parameters["max_age"] = "1";
        var challenge = await driver.AuthorizeAsync(parameters);
        Assert.That(challenge.Headers.Location!.AbsolutePath, Is.EqualTo("/connexion"), "the session is older than max_age");

        var login = await driver.SubmitLoginAsync(challenge.Headers.Location!, JeanneNir, DemoData.JeanneDupont.Password);
        var back = OidcDriver.ToAuthorizationResponse(await driver.Browser.GetAsync(login.Headers.Location));
        Assert.That(back["code"], Is.Not.Null, "a fresh login satisfies max_age without looping");
        var tokens = await OidcDriver.ReadTokensAsync(await driver.RedeemCodeAsync(TestClient.CafFr, back["code"]!, pkce.Verifier));
        var authTime = DateTimeOffset.FromUnixTimeSeconds((await driver.ValidateIdTokenAsync(tokens.IdToken, "caf-fr")).GetPayloadValue<long>("auth_time"));
        Assert.That(DateTimeOffset.UtcNow - authTime, Is.LessThan(TimeSpan.FromSeconds(30)));
    }

    [Test]
    public async Task Max_age_longer_than_the_session_needs_no_new_login()
    {
        var driver = NewBrowser();
        await driver.SignInAndRedeemAsync(TestClient.CafFr, JeanneNir, DemoData.JeanneDupont.Password);

        var parameters = OidcDriver.AuthorizationParameters(TestClient.CafFr, Pkce.Create());
        parameters["max_age"] = "3600";
        var response = OidcDriver.ToAuthorizationResponse(await driver.AuthorizeAsync(parameters));

        Assert.That(response["code"], Is.Not.Null);
    }

    [Test]
    public async Task A_forged_reauthentication_marker_does_not_bypass_prompt_login()
    {
        var driver = NewBrowser();
        await driver.SignInAndRedeemAsync(TestClient.CafFr, JeanneNir, DemoData.JeanneDupont.Password);

        var parameters = OidcDriver.AuthorizationParameters(TestClient.CafFr, Pkce.Create());
        parameters["max_age"] = "0";
        parameters["cafconnect_reauth"] = "pas-un-jeton-protege";
        var response = await driver.AuthorizeAsync(parameters);

        Assert.That(response.Headers.Location!.AbsolutePath, Is.EqualTo("/connexion"));
    }

    [Test]
    public async Task Unknown_authorization_parameters_are_ignored()
    {
        var driver = NewBrowser();
        var pkce = Pkce.Create();
        var parameters = OidcDriver.AuthorizationParameters(TestClient.CafFr, pkce);
        parameters["parametre_inconnu"] = "valeur";
        parameters["ui_locales"] = "fr";

        var response = await driver.SignInAsync(parameters, JeanneNir, DemoData.JeanneDupont.Password);

        Assert.That(response["code"], Is.Not.Null);
    }

    [Test]
    public async Task Client_secret_post_authenticates_a_confidential_client()
    {
        var driver = NewBrowser();
        var pkce = Pkce.Create();
        var authorization = await driver.SignInAsync(OidcDriver.AuthorizationParameters(TestClient.CafFr, pkce), JeanneNir, DemoData.JeanneDupont.Password);

        var response = await driver.Browser.PostAsync("/connect/token", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "authorization_code",
            ["code"] = authorization["code"]!,
            ["redirect_uri"] = TestClient.CafFr.RedirectUri,
            ["code_verifier"] = pkce.Verifier,
            ["client_id"] = TestClient.CafFr.ClientId,
            ["client_secret"] = TestClient.CafFr.Secret!,
        }));

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), await response.Content.ReadAsStringAsync());
    }
}
