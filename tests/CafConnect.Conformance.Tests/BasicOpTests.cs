using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using CafConnect.Conformance.Tests.Support;
using CafConnect.IdP.Tests.Support;
using Microsoft.IdentityModel.Tokens;

namespace CafConnect.Conformance.Tests;

/// <summary>
/// The OpenID Foundation's « Basic OP » plan (code flow), with PKCE on every request as the suite adds for a provider
/// that requires it. Modules that do not apply are listed, with why, in docs/conformance.md.
/// </summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
public sealed class BasicOp(StoreKind kind) : ConformanceFixture(kind)
{
    [TestCase(TestName = "oidcc-server")]
    public async Task Server()
    {
        var driver = NewBrowser();
        var pkce = Pkce.Create();
        var authorization = await driver.SignInAsync(OidcDriver.AuthorizationParameters(TestClient.CafFr, pkce), Jeanne.Nir!, Jeanne.Password);
        Assert.That(authorization["state"], Is.EqualTo("etat-123"));
        Assert.That(authorization["iss"], Is.EqualTo(Issuer), "RFC 9207 iss in the authorization response");
        var tokens = await OidcDriver.ReadTokensAsync(await driver.RedeemCodeAsync(TestClient.CafFr, authorization["code"]!, pkce.Verifier));
        var idToken = await driver.ValidateIdTokenAsync(tokens.IdToken, TestClient.CafFr.ClientId);

        var expectedAtHash = Base64UrlEncoder.Encode(SHA256.HashData(Encoding.ASCII.GetBytes(tokens.AccessToken))[..16]);
        var userinfo = JsonDocument.Parse(await (await driver.UserInfoAsync(tokens.AccessToken)).Content.ReadAsStringAsync()).RootElement;
        Assert.Multiple(() =>
        {
            Assert.That(idToken.GetClaim("nonce").Value, Is.EqualTo("nonce-456"));
            Assert.That(idToken.GetClaim("at_hash").Value, Is.EqualTo(expectedAtHash));
            Assert.That(idToken.TryGetClaim("auth_time", out _), Is.True);
            Assert.That(userinfo.GetProperty("sub").GetString(), Is.EqualTo(idToken.Subject), "userinfo sub = ID token sub");
            Assert.That(tokens.Raw.GetProperty("token_type").GetString(), Is.EqualTo("Bearer"));
        });
    }

    [TestCase(TestName = "oidcc-response-type-missing")]
    public async Task Response_type_missing()
    {
        var parameters = OidcDriver.AuthorizationParameters(TestClient.CafFr, Pkce.Create());
        parameters.Remove("response_type");

        var response = OidcDriver.ToAuthorizationResponse(await NewBrowser().AuthorizeAsync(parameters));

        Assert.That(response.Location.GetLeftPart(UriPartial.Path), Is.EqualTo(TestClient.CafFr.RedirectUri));
        Assert.That(response["error"], Is.AnyOf("invalid_request", "unsupported_response_type"));
        Assert.That(response["state"], Is.EqualTo("etat-123"));
        Assert.That(response["code"], Is.Null);
    }

    [TestCase(TestName = "oidcc-userinfo-get")]
    public async Task Userinfo_get()
    {
        var tokens = await SignInAsync(NewBrowser(), Jeanne);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/connect/userinfo");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", tokens.AccessToken);

        await AssertUserInfoAsync(await Host.CreateClient().SendAsync(request));
    }

    /// <summary>A POST with the token in the header and no body (no Content-Type either): Core §5.3.1, RFC 6750 §2.1.</summary>
    [TestCase(TestName = "oidcc-userinfo-post-header")]
    public async Task Userinfo_post_header()
    {
        var tokens = await SignInAsync(NewBrowser(), Jeanne);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/connect/userinfo");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", tokens.AccessToken);
        Assert.That(request.Content, Is.Null, "no body, no Content-Type");

        await AssertUserInfoAsync(await Host.CreateClient().SendAsync(request));
    }

    /// <summary>
    /// The token in a form body (RFC 6750 §2.2, optional to servers) is not read: userinfo takes the Authorization header
    /// only (docs/decisions.md #56). The module accepts a refusal with a warning ("… or warns that it does not support it").
    /// </summary>
    [TestCase(TestName = "oidcc-userinfo-post-body (refused: header only, the suite warns)")]
    public async Task Userinfo_post_body()
    {
        var tokens = await SignInAsync(NewBrowser(), Jeanne);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/connect/userinfo")
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["access_token"] = tokens.AccessToken }),
        };

        var response = await Host.CreateClient().SendAsync(request);

        var body = await response.Content.ReadAsStringAsync();
        Assert.That((int)response.StatusCode, Is.InRange(400, 401), body);
        Assert.That(body, Does.Not.Contain("\"sub\""), "no claims without the header");
    }

    [TestCase(TestName = "oidcc-ensure-request-without-nonce-succeeds-for-code-flow")]
    public async Task Request_without_nonce_succeeds()
    {
        var driver = NewBrowser();
        var pkce = Pkce.Create();
        var parameters = OidcDriver.AuthorizationParameters(TestClient.CafFr, pkce);
        parameters.Remove("nonce");

        var authorization = await driver.SignInAsync(parameters, Jeanne.Nir!, Jeanne.Password);
        var tokens = await OidcDriver.ReadTokensAsync(await driver.RedeemCodeAsync(TestClient.CafFr, authorization["code"]!, pkce.Verifier));

        Assert.That((await driver.ValidateIdTokenAsync(tokens.IdToken, TestClient.CafFr.ClientId)).TryGetClaim("nonce", out _), Is.False);
    }

    [TestCase("openid profile", "family_name", TestName = "oidcc-scope-profile")]
    [TestCase("openid email", "email", TestName = "oidcc-scope-email")]
    [TestCase("openid phone", "phone_number", TestName = "oidcc-scope-phone")]
    [TestCase("openid profile email phone", "phone_number", TestName = "oidcc-scope-all")]
    [TestCase("email openid", "email", TestName = "oidcc-ensure-other-scope-order-succeeds")]
    public async Task Scope_releases_its_claims(string scope, string claim)
    {
        var tokens = await SignInAsync(NewBrowser(), Jeanne, scope: scope);

        var userinfo = JsonDocument.Parse(await (await NewBrowser().UserInfoAsync(tokens.AccessToken)).Content.ReadAsStringAsync()).RootElement;

        Assert.That(userinfo.TryGetProperty(claim, out _), Is.True, $"{claim} released for {scope}: {userinfo}");
    }

    [TestCase("display", "page", TestName = "oidcc-display-page")]
    [TestCase("display", "popup", TestName = "oidcc-display-popup")]
    [TestCase("login_hint", "2850375112048", TestName = "oidcc-login-hint")]
    [TestCase("ui_locales", "fr-FR en", TestName = "oidcc-ui-locales")]
    [TestCase("claims_locales", "fr-FR en", TestName = "oidcc-claims-locales")]
    [TestCase("acr_values", "1 2", TestName = "oidcc-ensure-request-with-acr-values-succeeds")]
    [TestCase("extra", "foobar", TestName = "oidcc-ensure-request-with-unknown-parameter-succeeds")]
    [TestCase("claims", "{\"id_token\":{\"email\":{\"essential\":true}}}", TestName = "oidcc-claims-essential")]
    public async Task Optional_parameter_does_not_prevent_the_login(string parameter, string value)
    {
        var parameters = OidcDriver.AuthorizationParameters(TestClient.CafFr, Pkce.Create());
        parameters[parameter] = value;

        var authorization = await NewBrowser().SignInAsync(parameters, Jeanne.Nir!, Jeanne.Password);

        Assert.That(authorization["code"], Is.Not.Null);
    }

    [TestCase(TestName = "oidcc-ensure-post-request-succeeds")]
    public async Task Authorization_request_by_post_succeeds()
    {
        var driver = NewBrowser();
        var pkce = Pkce.Create();
        var form = OidcDriver.AuthorizationParameters(TestClient.CafFr, pkce).Where(p => p.Value is not null).ToDictionary(p => p.Key, p => p.Value!);

        var challenge = await driver.Browser.PostAsync("/connect/authorize", new FormUrlEncodedContent(form));
        Assert.That(challenge.Headers.Location!.AbsolutePath, Is.EqualTo("/connexion"));
        var login = await driver.SubmitLoginAsync(challenge.Headers.Location!, Jeanne.Nir!, Jeanne.Password);
        var authorization = OidcDriver.ToAuthorizationResponse(await driver.Browser.GetAsync(login.Headers.Location));

        Assert.That(authorization["code"], Is.Not.Null);
        Assert.That((await driver.RedeemCodeAsync(TestClient.CafFr, authorization["code"]!, pkce.Verifier)).StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    [TestCase(TestName = "oidcc-prompt-login")]
    public async Task Prompt_login()
    {
        var driver = NewBrowser();
        var first = await driver.ValidateIdTokenAsync((await SignInAsync(driver, Jeanne)).IdToken, TestClient.CafFr.ClientId);
        await Task.Delay(TimeSpan.FromSeconds(1.1));

        var pkce = Pkce.Create();
        var parameters = OidcDriver.AuthorizationParameters(TestClient.CafFr, pkce);
        parameters["prompt"] = "login";
        var challenge = await driver.AuthorizeAsync(parameters);
        Assert.That(challenge.Headers.Location!.AbsolutePath, Is.EqualTo("/connexion"), "a live session does not satisfy prompt=login");
        var login = await driver.SubmitLoginAsync(challenge.Headers.Location!, Jeanne.Nir!, Jeanne.Password);
        var authorization = OidcDriver.ToAuthorizationResponse(await driver.Browser.GetAsync(login.Headers.Location));
        var second = await driver.ValidateIdTokenAsync((await OidcDriver.ReadTokensAsync(await driver.RedeemCodeAsync(TestClient.CafFr, authorization["code"]!, pkce.Verifier))).IdToken, TestClient.CafFr.ClientId);

        Assert.That(second.GetPayloadValue<long>("auth_time"), Is.GreaterThan(first.GetPayloadValue<long>("auth_time")));
    }

    [TestCase(TestName = "oidcc-prompt-none-not-logged-in")]
    public async Task Prompt_none_not_logged_in()
    {
        var parameters = OidcDriver.AuthorizationParameters(TestClient.CafFr, Pkce.Create());
        parameters["prompt"] = "none";

        var response = OidcDriver.ToAuthorizationResponse(await NewBrowser().AuthorizeAsync(parameters));

        Assert.That(response["error"], Is.EqualTo("login_required"));
        Assert.That(response["state"], Is.EqualTo("etat-123"));
        Assert.That(response["iss"], Is.EqualTo(Issuer));
    }

    [TestCase(TestName = "oidcc-prompt-none-logged-in")]
    public async Task Prompt_none_logged_in()
    {
        var driver = NewBrowser();
        var first = await driver.ValidateIdTokenAsync((await SignInAsync(driver, Jeanne)).IdToken, TestClient.CafFr.ClientId);
        var pkce = Pkce.Create();
        var parameters = OidcDriver.AuthorizationParameters(TestClient.CafFr, pkce);
        parameters["prompt"] = "none";

        var response = OidcDriver.ToAuthorizationResponse(await driver.AuthorizeAsync(parameters));
        var second = await driver.ValidateIdTokenAsync((await OidcDriver.ReadTokensAsync(await driver.RedeemCodeAsync(TestClient.CafFr, response["code"]!, pkce.Verifier))).IdToken, TestClient.CafFr.ClientId);

        Assert.That(second.Subject, Is.EqualTo(first.Subject));
    }

    [TestCase(TestName = "oidcc-max-age-1")]
    public async Task Max_age_1()
    {
        var driver = NewBrowser();
        await SignInAsync(driver, Jeanne);
        await Task.Delay(TimeSpan.FromSeconds(2.1));

        var pkce = Pkce.Create();
        var parameters = OidcDriver.AuthorizationParameters(TestClient.CafFr, pkce);
        parameters["max_age"] = "1";
        var challenge = await driver.AuthorizeAsync(parameters);
        Assert.That(challenge.Headers.Location!.AbsolutePath, Is.EqualTo("/connexion"), "the session is older than max_age");
        var login = await driver.SubmitLoginAsync(challenge.Headers.Location!, Jeanne.Nir!, Jeanne.Password);
        var authorization = OidcDriver.ToAuthorizationResponse(await driver.Browser.GetAsync(login.Headers.Location));
        var idToken = await driver.ValidateIdTokenAsync((await OidcDriver.ReadTokensAsync(await driver.RedeemCodeAsync(TestClient.CafFr, authorization["code"]!, pkce.Verifier))).IdToken, TestClient.CafFr.ClientId);

        Assert.That(DateTimeOffset.UtcNow - DateTimeOffset.FromUnixTimeSeconds(idToken.GetPayloadValue<long>("auth_time")), Is.LessThan(TimeSpan.FromSeconds(30)));
    }

    [TestCase(TestName = "oidcc-max-age-10000")]
    public async Task Max_age_10000()
    {
        var driver = NewBrowser();
        await SignInAsync(driver, Jeanne);
        var parameters = OidcDriver.AuthorizationParameters(TestClient.CafFr, Pkce.Create());
        parameters["max_age"] = "10000";

        Assert.That(OidcDriver.ToAuthorizationResponse(await driver.AuthorizeAsync(parameters))["code"], Is.Not.Null);
    }

    [TestCase(TestName = "oidcc-id-token-hint")]
    public async Task Id_token_hint()
    {
        var driver = NewBrowser();
        var tokens = await SignInAsync(driver, Jeanne);
        var first = await driver.ValidateIdTokenAsync(tokens.IdToken, TestClient.CafFr.ClientId);
        var pkce = Pkce.Create();
        var parameters = OidcDriver.AuthorizationParameters(TestClient.CafFr, pkce);
        parameters["prompt"] = "none";
        parameters["id_token_hint"] = tokens.IdToken;

        var response = OidcDriver.ToAuthorizationResponse(await driver.AuthorizeAsync(parameters));
        Assert.That(response["code"], Is.Not.Null, "the hint names the person signed in: " + response.Location);
        var second = await driver.ValidateIdTokenAsync((await OidcDriver.ReadTokensAsync(await driver.RedeemCodeAsync(TestClient.CafFr, response["code"]!, pkce.Verifier))).IdToken, TestClient.CafFr.ClientId);

        Assert.That(second.Subject, Is.EqualTo(first.Subject));
    }

    [TestCase(TestName = "oidcc-codereuse")]
    public async Task Code_reuse()
    {
        var driver = NewBrowser();
        var pkce = Pkce.Create();
        var authorization = await driver.SignInAsync(OidcDriver.AuthorizationParameters(TestClient.CafFr, pkce), Jeanne.Nir!, Jeanne.Password);
        var first = await OidcDriver.ReadTokensAsync(await driver.RedeemCodeAsync(TestClient.CafFr, authorization["code"]!, pkce.Verifier));

        var second = await driver.RedeemCodeAsync(TestClient.CafFr, authorization["code"]!, pkce.Verifier);

        await AssertTokenErrorAsync(second, "invalid_grant");
        Assert.That((await driver.UserInfoAsync(first.AccessToken)).StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized), "the first use's access token is revoked");
    }

    [TestCase(TestName = "oidcc-codereuse-30seconds")]
    public async Task Code_reuse_after_30_seconds()
    {
        var driver = NewBrowser();
        var pkce = Pkce.Create();
        var authorization = await driver.SignInAsync(OidcDriver.AuthorizationParameters(TestClient.CafFr, pkce), Jeanne.Nir!, Jeanne.Password);
        var first = await OidcDriver.ReadTokensAsync(await driver.RedeemCodeAsync(TestClient.CafFr, authorization["code"]!, pkce.Verifier));
        await Task.Delay(TimeSpan.FromSeconds(30));

        var second = await driver.RedeemCodeAsync(TestClient.CafFr, authorization["code"]!, pkce.Verifier);

        await AssertTokenErrorAsync(second, "invalid_grant");
        Assert.That((await driver.UserInfoAsync(first.AccessToken)).StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized), "the first use's access token is revoked");
        await AssertTokenErrorAsync(await driver.RefreshAsync(TestClient.CafFr, first.RefreshToken!), "invalid_grant");
    }

    [TestCase(TestName = "oidcc-ensure-registered-redirect-uri")]
    public async Task Unregistered_redirect_uri_gets_the_error_page()
    {
        var parameters = OidcDriver.AuthorizationParameters(TestClient.CafFr, Pkce.Create());
        parameters["redirect_uri"] = TestClient.CafFr.RedirectUri + "/pas-enregistre";

        var response = await NewBrowser().AuthorizeAsync(parameters);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(response.Headers.Location, Is.Null, "never a redirect to an unregistered URI");
    }

    [TestCase(TestName = "oidcc-server-client-secret-post")]
    public async Task Client_secret_post()
    {
        var driver = NewBrowser();
        var pkce = Pkce.Create();
        var authorization = await driver.SignInAsync(OidcDriver.AuthorizationParameters(TestClient.CafFr, pkce), Jeanne.Nir!, Jeanne.Password);

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

    [TestCase(TestName = "oidcc-refresh-token")]
    public async Task Refresh_token()
    {
        var driver = NewBrowser();
        var tokens = await SignInAsync(driver, Jeanne);
        var refreshed = await OidcDriver.ReadTokensAsync(await driver.RefreshAsync(TestClient.CafFr, tokens.RefreshToken!));

        var before = await driver.ValidateIdTokenAsync(tokens.IdToken, TestClient.CafFr.ClientId);
        var after = await driver.ValidateIdTokenAsync(refreshed.IdToken, TestClient.CafFr.ClientId);
        Assert.Multiple(async () =>
        {
            Assert.That(after.Subject, Is.EqualTo(before.Subject), "Core §12.2: same sub");
            Assert.That(after.GetPayloadValue<long>("auth_time"), Is.EqualTo(before.GetPayloadValue<long>("auth_time")), "Core §12.2: same auth_time");
            await AssertTokenErrorAsync(await driver.RefreshAsync(TestClient.CafFr, tokens.RefreshToken!), "invalid_grant");
        });
    }

    [TestCase(TestName = "oidcc-ensure-request-with-valid-pkce-succeeds")]
    public async Task Valid_pkce_succeeds()
    {
        var tokens = await SignInAsync(NewBrowser(), Jeanne, TestClient.CafMobile);

        Assert.That(tokens.AccessToken, Is.Not.Empty);
    }

    [TestCase(TestName = "rfc7636-code-verifier-required")]
    public async Task Code_verifier_required()
    {
        var driver = NewBrowser();
        var authorization = await driver.SignInAsync(OidcDriver.AuthorizationParameters(TestClient.CafMobile, Pkce.Create()), Jeanne.Nir!, Jeanne.Password);

        var response = await driver.RedeemCodeAsync(TestClient.CafMobile, authorization["code"]!, verifier: null);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString(), Is.AnyOf("invalid_request", "invalid_grant"));
    }

    /// <summary>RFC 7636 §4.4.1: a public client without a challenge, or with "plain", is refused — at the client's redirect URI.</summary>
    [TestCase(null, TestName = "rfc7636-code-challenge-missing")]
    [TestCase("plain", TestName = "rfc7636-code-challenge-method-plain")]
    public async Task Public_client_without_s256_challenge_gets_invalid_request_at_its_redirect_uri(string? method)
    {
        var parameters = OidcDriver.AuthorizationParameters(TestClient.CafMobile, method is null ? null : Pkce.Create());
        if (method is not null)
        {
            parameters["code_challenge_method"] = method;
            parameters["code_challenge"] = "un-verificateur-en-clair-de-plus-de-quarante-trois-caracteres-0123";
        }

        await AssertErrorAtRedirectUriAsync(await NewBrowser().AuthorizeAsync(parameters), TestClient.CafMobile, "invalid_request");
    }

    /// <summary>Core §6.1: a provider that does not support request objects answers request_not_supported, at the redirect URI.</summary>
    [TestCase(TestName = "oidcc-unsigned-request-object-supported-correctly-or-rejected-as-unsupported")]
    public async Task Unsigned_request_object_rejected_as_unsupported()
    {
        var parameters = OidcDriver.AuthorizationParameters(TestClient.CafFr, Pkce.Create());
        parameters["request"] = Base64UrlEncoder.Encode("{\"alg\":\"none\"}") + "." + Base64UrlEncoder.Encode("{\"client_id\":\"caf-fr\",\"response_type\":\"code\"}") + ".";

        await AssertErrorAtRedirectUriAsync(await NewBrowser().AuthorizeAsync(parameters), TestClient.CafFr, "request_not_supported");
    }

    [TestCase(TestName = "oidcc-ensure-request-object-with-redirect-uri")]
    public async Task Request_object_with_redirect_uri_rejected_as_unsupported()
    {
        var parameters = OidcDriver.AuthorizationParameters(TestClient.CafFr, Pkce.Create());
        parameters["request"] = Base64UrlEncoder.Encode("{\"alg\":\"none\"}") + "." + Base64UrlEncoder.Encode("{\"redirect_uri\":\"https://evil.example/cb\"}") + ".";

        await AssertErrorAtRedirectUriAsync(await NewBrowser().AuthorizeAsync(parameters), TestClient.CafFr, "request_not_supported");
    }

    /// <summary>Core §6.2: request_uri is not supported either.</summary>
    [TestCase(TestName = "oidcc-request-uri-unsigned")]
    public async Task Request_uri_rejected_as_unsupported()
    {
        var parameters = OidcDriver.AuthorizationParameters(TestClient.CafFr, Pkce.Create());
        parameters["request_uri"] = "https://rp.example/requests/1";

        await AssertErrorAtRedirectUriAsync(await NewBrowser().AuthorizeAsync(parameters), TestClient.CafFr, "request_uri_not_supported");
    }

    [TestCase(TestName = "oidcc-unsupported-scope")]
    public async Task Unsupported_scope()
    {
        var parameters = OidcDriver.AuthorizationParameters(TestClient.CafFr, Pkce.Create(), scope: "openid portefeuille");

        await AssertErrorAtRedirectUriAsync(await NewBrowser().AuthorizeAsync(parameters), TestClient.CafFr, "invalid_scope");
    }

    private static async Task AssertUserInfoAsync(HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), body);
        Assert.That(JsonDocument.Parse(body).RootElement.GetProperty("sub").GetString(), Is.Not.Empty);
    }

    private static async Task AssertErrorAtRedirectUriAsync(HttpResponseMessage response, TestClient client, string error)
    {
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Redirect), "the error goes back to the client: " + await response.Content.ReadAsStringAsync());
        var answer = OidcDriver.ToAuthorizationResponse(response);
        Assert.Multiple(() =>
        {
            Assert.That(answer.Location.GetLeftPart(UriPartial.Path), Is.EqualTo(client.RedirectUri).Or.EqualTo(client.RedirectUri.Split('?')[0]));
            Assert.That(answer["error"], Is.EqualTo(error));
            Assert.That(answer["state"], Is.EqualTo("etat-123"));
            Assert.That(answer["iss"], Is.EqualTo(Issuer));
            Assert.That(answer["code"], Is.Null);
        });
    }

    private static async Task AssertTokenErrorAsync(HttpResponseMessage response, string error)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), body);
        Assert.That(JsonDocument.Parse(body).RootElement.GetProperty("error").GetString(), Is.EqualTo(error), body);
    }
}
