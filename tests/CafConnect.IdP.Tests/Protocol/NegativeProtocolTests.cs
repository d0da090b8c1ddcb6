using System.Net;
using System.Text.Json;
using CafConnect.IdP.Demo;
using CafConnect.IdP.Tests.Support;

namespace CafConnect.IdP.Tests.Protocol;

/// <summary>What the provider refuses, and how: errors it cannot send back to a client are shown, never redirected.</summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
public sealed class NegativeProtocolTests(StoreKind kind) : StoreFixture(kind)
{
    private const string JeanneNir = "2850375112048";
    private static string JeannePassword => DemoData.JeanneDupont.Password;

    [Test]
    public async Task Unknown_client_gets_an_error_page_and_no_redirect()
    {
        var parameters = OidcDriver.AuthorizationParameters(TestClient.CafFr, Pkce.Create());
        parameters["client_id"] = "client-inconnu";

        var response = await NewBrowser().AuthorizeAsync(parameters);

        Assert.Multiple(async () =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
            Assert.That(response.Headers.Location, Is.Null);
            var html = await response.Content.ReadAsStringAsync();
            Assert.That(html, Does.Contain("n'est pas reconnu").Or.Contain("n&#x27;est pas reconnu"));
            Assert.That(html, Does.Not.Contain("   at "), "no stack trace");
        });
    }

    [TestCase("http://127.0.0.1:5000/demo/callback/extra", TestName = "Redirect URI with an extra path is refused")]
    [TestCase("http://127.0.0.1:5000/demo/callback?x=1", TestName = "Redirect URI with an extra query is refused")]
    [TestCase("http://127.0.0.1:5000/DEMO/callback", TestName = "Redirect URI with a different case is refused")]
    [TestCase("http://127.0.0.1:5001/demo/callback", TestName = "Redirect URI with a different port is refused")]
    [TestCase("https://evil.example/demo/callback", TestName = "Redirect URI of another site is refused")]
    public async Task Redirect_uri_not_registered_exactly_gets_an_error_page_and_no_redirect(string redirectUri)
    {
        var parameters = OidcDriver.AuthorizationParameters(TestClient.CafFr, Pkce.Create());
        parameters["redirect_uri"] = redirectUri;

        var response = await NewBrowser().AuthorizeAsync(parameters);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(response.Headers.Location, Is.Null);
    }

    [Test]
    public async Task Missing_PKCE_is_refused()
    {
        var response = await NewBrowser().AuthorizeAsync(OidcDriver.AuthorizationParameters(TestClient.CafFr, pkce: null));

        await AssertAuthorizationRefusedAsync(response, "invalid_request");
    }

    [Test]
    public async Task Plain_PKCE_is_refused()
    {
        var parameters = OidcDriver.AuthorizationParameters(TestClient.CafMobile, Pkce.Create());
        parameters["code_challenge_method"] = "plain";
        parameters["code_challenge"] = "un-verificateur-en-clair-de-plus-de-quarante-trois-caracteres-0123";

        var response = await NewBrowser().AuthorizeAsync(parameters);

        await AssertAuthorizationRefusedAsync(response, "invalid_request");
    }

    [Test]
    public async Task Wrong_PKCE_verifier_is_refused_at_the_token_endpoint()
    {
        var driver = NewBrowser();
        var pkce = Pkce.Create();
        var authorization = await driver.SignInAsync(OidcDriver.AuthorizationParameters(TestClient.CafFr, pkce), JeanneNir, JeannePassword);

        var response = await driver.RedeemCodeAsync(TestClient.CafFr, authorization["code"]!, Pkce.Create().Verifier);

        await AssertTokenErrorAsync(response, "invalid_grant");
    }

    [Test]
    public async Task Missing_PKCE_verifier_is_refused_at_the_token_endpoint()
    {
        var driver = NewBrowser();
        var authorization = await driver.SignInAsync(OidcDriver.AuthorizationParameters(TestClient.CafFr, Pkce.Create()), JeanneNir, JeannePassword);

        var response = await driver.RedeemCodeAsync(TestClient.CafFr, authorization["code"]!, verifier: null);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString();
        Assert.That(error, Is.AnyOf("invalid_request", "invalid_grant"));
    }

    [Test]
    public async Task Code_used_twice_fails_the_second_time_and_revokes_the_tokens_of_the_first_use()
    {
        var driver = NewBrowser();
        var pkce = Pkce.Create();
        var authorization = await driver.SignInAsync(OidcDriver.AuthorizationParameters(TestClient.CafFr, pkce), JeanneNir, JeannePassword);
        var first = await OidcDriver.ReadTokensAsync(await driver.RedeemCodeAsync(TestClient.CafFr, authorization["code"]!, pkce.Verifier));

        var second = await driver.RedeemCodeAsync(TestClient.CafFr, authorization["code"]!, pkce.Verifier);

        await AssertTokenErrorAsync(second, "invalid_grant");
        Assert.That((await driver.UserInfoAsync(first.AccessToken)).StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized), "access token of the first use revoked");
        await AssertTokenErrorAsync(await driver.RefreshAsync(TestClient.CafFr, first.RefreshToken!), "invalid_grant");
    }

    [Test]
    public async Task Refresh_token_used_twice_revokes_the_whole_authorization()
    {
        var driver = NewBrowser();
        var first = await driver.SignInAndRedeemAsync(TestClient.CafFr, JeanneNir, JeannePassword);
        var rotated = await OidcDriver.ReadTokensAsync(await driver.RefreshAsync(TestClient.CafFr, first.RefreshToken!));

        var replay = await driver.RefreshAsync(TestClient.CafFr, first.RefreshToken!);

        await AssertTokenErrorAsync(replay, "invalid_grant");
        await AssertTokenErrorAsync(await driver.RefreshAsync(TestClient.CafFr, rotated.RefreshToken!), "invalid_grant");
        Assert.That((await driver.UserInfoAsync(rotated.AccessToken)).StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
    }

    [Test]
    public async Task Code_redeemed_by_another_client_is_refused()
    {
        var driver = NewBrowser();
        var pkce = Pkce.Create();
        var authorization = await driver.SignInAsync(OidcDriver.AuthorizationParameters(TestClient.CafFr, pkce), JeanneNir, JeannePassword);

        var response = await driver.TokenRequestAsync(TestClient.Aripa, new Dictionary<string, string>
        {
            ["grant_type"] = "authorization_code",
            ["code"] = authorization["code"]!,
            ["redirect_uri"] = TestClient.CafFr.RedirectUri,
            ["code_verifier"] = pkce.Verifier,
        });

        await AssertTokenErrorAsync(response, "invalid_grant");
    }

    [Test]
    public async Task Confidential_client_with_a_wrong_secret_is_refused()
    {
        var response = await NewBrowser().TokenRequestAsync(TestClient.CafFr with { Secret = "pas-le-bon-secret-pas-le-bon-secret" },
            new Dictionary<string, string> { ["grant_type"] = "refresh_token", ["refresh_token"] = "x" });

        await AssertTokenErrorAsync(response, "invalid_client", HttpStatusCode.Unauthorized);
    }

    [Test]
    public async Task Prompt_none_without_a_session_returns_login_required()
    {
        var parameters = OidcDriver.AuthorizationParameters(TestClient.CafFr, Pkce.Create());
        parameters["prompt"] = "none";

        var response = OidcDriver.ToAuthorizationResponse(await NewBrowser().AuthorizeAsync(parameters));

        Assert.That(response["error"], Is.EqualTo("login_required"));
        Assert.That(response["state"], Is.EqualTo("etat-123"));
    }

    [TestCase("id_token", TestName = "Implicit flow (id_token) is refused")]
    [TestCase("code id_token", TestName = "Hybrid flow (code id_token) is refused")]
    [TestCase("token", TestName = "Implicit flow (token) is refused")]
    public async Task Flows_other_than_code_are_refused(string responseType)
    {
        var parameters = OidcDriver.AuthorizationParameters(TestClient.CafFr, Pkce.Create());
        parameters["response_type"] = responseType;

        var response = await NewBrowser().AuthorizeAsync(parameters);

        var location = response.Headers.Location?.ToString() ?? string.Empty;
        Assert.That(location, Does.Not.Contain("code=").And.Not.Contain("id_token=").And.Not.Contain("access_token="));
        Assert.That(response.StatusCode == HttpStatusCode.BadRequest || location.Contains("error=unsupported_response_type"), Is.True, location);
    }

    [Test]
    public async Task Password_grant_is_refused()
    {
        var response = await NewBrowser().TokenRequestAsync(TestClient.CafFr, new Dictionary<string, string>
        {
            ["grant_type"] = "password",
            ["username"] = JeanneNir,
            ["password"] = JeannePassword,
        });

        await AssertTokenErrorAsync(response, "unsupported_grant_type");
    }

    [Test]
    public async Task Userinfo_without_a_token_is_refused()
    {
        var response = await Host.CreateBrowser().GetAsync("/connect/userinfo");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest).Or.EqualTo(HttpStatusCode.Unauthorized));
    }

    [Test]
    public async Task Nir_scope_is_refused_to_a_client_not_registered_for_it()
    {
        var parameters = OidcDriver.AuthorizationParameters(TestClient.CafFr, Pkce.Create(), scope: "openid nir");

        var response = await NewBrowser().AuthorizeAsync(parameters);

        // OpenIddict reports a scope the client holds no permission for as invalid_request.
        await AssertAuthorizationRefusedAsync(response, "invalid_request");
    }

    /// <summary>
    /// OpenIddict shows early validation errors on its own page instead of redirecting; both are refusals.
    /// What must never happen is a code, or a redirect anywhere but to the registered URI with the error.
    /// </summary>
    private static async Task AssertAuthorizationRefusedAsync(HttpResponseMessage response, string expectedError)
    {
        if (response.StatusCode == HttpStatusCode.Redirect)
        {
            var refused = OidcDriver.ToAuthorizationResponse(response);
            Assert.That(refused.Location.GetLeftPart(UriPartial.Path), Is.EqualTo(TestClient.CafFr.RedirectUri).Or.EqualTo(TestClient.CafMobile.RedirectUri));
            Assert.That(refused["error"], Is.EqualTo(expectedError));
            Assert.That(refused["code"], Is.Null);
            return;
        }
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(await response.Content.ReadAsStringAsync(), Does.Contain($"<code>{expectedError}</code>"));
    }

    private static async Task AssertTokenErrorAsync(HttpResponseMessage response, string expectedError, HttpStatusCode status = HttpStatusCode.BadRequest)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(status), body);
        Assert.That(JsonDocument.Parse(body).RootElement.GetProperty("error").GetString(), Is.EqualTo(expectedError), body);
    }
}
