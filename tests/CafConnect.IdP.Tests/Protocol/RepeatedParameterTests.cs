using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using CafConnect.IdP.Demo;
using CafConnect.IdP.Tests.Support;

namespace CafConnect.IdP.Tests.Protocol;

/// <summary>
/// RFC 6749 §3.1: "Request and response parameters MUST NOT be included more than once." OpenIddict reads a repeated
/// parameter as absent: a repeated <c>scope</c> gave a code with no scope, a repeated <c>state</c> a code without
/// <c>state</c>, a repeated <c>max_age</c> or <c>prompt</c> a code from the session, a repeated <c>scope</c> at the token
/// endpoint a refresh that ignored it (adversarial review, 6 December 2026, seventh session). Each is now
/// <c>invalid_request</c> (<c>ProtocolHandlers.SingleValuedParameters</c>).
/// </summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
public sealed class RepeatedParameterTests(StoreKind kind) : StoreFixture(kind)
{
    private const string LouiseNir = "2920769383017";

    [TestCase("scope")]
    [TestCase("state")]
    [TestCase("nonce")]
    [TestCase("response_type")]
    [TestCase("code_challenge")]
    [TestCase("code_challenge_method")]
    [TestCase("prompt")]
    [TestCase("max_age")]
    [TestCase("login_hint")]
    [TestCase("acr_values")]
    [TestCase("response_mode")]
    public async Task A_parameter_repeated_at_the_authorization_endpoint_is_an_invalid_request_sent_to_the_client(string name)
    {
        var driver = NewBrowser();
        // Louise is signed in: before the change most of these requests got a code at once.
        await driver.SignInAndRedeemAsync(TestClient.CafFr, LouiseNir, DemoData.LouiseDubois.Password, "openid caf");
        var parameters = OidcDriver.AuthorizationParameters(TestClient.CafFr, Pkce.Create(), scope: "openid caf");
        parameters["prompt"] = "consent";
        parameters["max_age"] = "3600";
        parameters["login_hint"] = "louise";
        parameters["acr_values"] = "eidas1";
        parameters["response_mode"] = "query";

        var response = await driver.Browser.GetAsync("/connect/authorize" + OidcDriver.QueryString(parameters) + $"&{name}={Uri.EscapeDataString(parameters[name]!)}");

        var body = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Redirect), body);
        var answer = OidcDriver.ToAuthorizationResponse(response);
        Assert.Multiple(() =>
        {
            Assert.That(answer.Location.GetLeftPart(UriPartial.Path), Is.EqualTo(TestClient.CafFr.RedirectUri));
            Assert.That(answer["code"], Is.Null, "no code");
            Assert.That(answer["error"], Is.EqualTo("invalid_request"));
            Assert.That(answer["error_description"], Does.Contain(name));
            // A repeated state is not one value to send back.
            Assert.That(answer["state"], name == "state" ? Is.Null : Is.EqualTo("etat-123"));
        });
    }

    [TestCase("client_id")]
    [TestCase("redirect_uri")]
    public async Task A_repeated_client_id_or_redirect_uri_is_an_invalid_request_on_our_page_never_a_redirect(string name)
    {
        var parameters = OidcDriver.AuthorizationParameters(TestClient.CafFr, Pkce.Create(), scope: "openid caf");

        var response = await NewBrowser().Browser.GetAsync("/connect/authorize" + OidcDriver.QueryString(parameters) + $"&{name}={Uri.EscapeDataString(parameters[name]!)}");

        var html = await response.Content.ReadAsStringAsync();
        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), html);
            Assert.That(response.Headers.Location, Is.Null, "an unverified redirect URI is never followed");
            Assert.That(html, Does.Contain("<code>invalid_request</code>"));
            Assert.That(html, Does.Not.Contain("   at "), "no stack trace");
        });
    }

    [Test]
    public async Task A_parameter_repeated_at_the_token_endpoint_is_an_invalid_request_and_leaves_the_code_to_its_client()
    {
        var driver = NewBrowser();
        var pkce = Pkce.Create();
        var authorization = await driver.SignInAsync(OidcDriver.AuthorizationParameters(TestClient.CafFr, pkce, scope: "openid caf"), LouiseNir, DemoData.LouiseDubois.Password);
        var code = authorization["code"]!;
        KeyValuePair<string, string>[] redemption =
        [
            new("grant_type", "authorization_code"), new("code", code), new("redirect_uri", TestClient.CafFr.RedirectUri),
            new("code_verifier", pkce.Verifier),
        ];

        // scope last: before the change a repeated scope was ignored and the code redeemed (a single one is refused, ID2074).
        foreach (var name in new[] { "grant_type", "code", "redirect_uri", "code_verifier", "client_id", "client_secret", "scope" })
        {
            var repeated = name switch
            {
                "client_id" => [.. redemption, new("client_id", TestClient.CafFr.ClientId), new("client_id", TestClient.CafFr.ClientId)],
                "client_secret" => [.. redemption, new("client_secret", TestClient.CafFr.Secret!), new("client_secret", TestClient.CafFr.Secret!)],
                "scope" => [.. redemption, new("scope", "openid"), new("scope", "openid")],
                _ => redemption.Append(redemption.Single(p => p.Key == name)).ToArray(),
            };
            var response = await PostTokenAsync(driver, name is "client_id" or "client_secret" ? null : TestClient.CafFr, repeated);
            await AssertInvalidRequestAsync(response, name);
        }

        // None of them touched the code: its client still redeems it.
        await OidcDriver.ReadTokensAsync(await PostTokenAsync(driver, TestClient.CafFr, redemption));
    }

    [Test]
    public async Task A_scope_repeated_in_a_refresh_is_an_invalid_request()
    {
        var driver = NewBrowser();
        var tokens = await driver.SignInAndRedeemAsync(TestClient.CafFr, LouiseNir, DemoData.LouiseDubois.Password, "openid caf offline_access");
        KeyValuePair<string, string>[] refresh = [new("grant_type", "refresh_token"), new("refresh_token", tokens.RefreshToken!)];

        await AssertInvalidRequestAsync(await PostTokenAsync(driver, TestClient.CafFr, [.. refresh, new("scope", "openid"), new("scope", "openid")]), "scope");
        await AssertInvalidRequestAsync(await PostTokenAsync(driver, TestClient.CafFr, [.. refresh, refresh[1]]), "refresh_token");

        // The refresh token was not spent by the refused requests.
        await OidcDriver.ReadTokensAsync(await PostTokenAsync(driver, TestClient.CafFr, refresh));
    }

    /// <summary>A token request with the client's Basic authentication (none when <paramref name="client"/> is null).</summary>
    private static async Task<HttpResponseMessage> PostTokenAsync(OidcDriver driver, TestClient? client, IEnumerable<KeyValuePair<string, string>> form)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/connect/token") { Content = new FormUrlEncodedContent(form) };
        if (client is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Basic",
                Convert.ToBase64String(Encoding.UTF8.GetBytes($"{Uri.EscapeDataString(client.ClientId)}:{Uri.EscapeDataString(client.Secret!)}")));
        }
        return await driver.Browser.SendAsync(request);
    }

    private static async Task AssertInvalidRequestAsync(HttpResponseMessage response, string name)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), name + ": " + body);
        var json = JsonDocument.Parse(body).RootElement;
        Assert.That(json.GetProperty("error").GetString(), Is.EqualTo("invalid_request"), name + ": " + body);
        Assert.That(json.GetProperty("error_description").GetString(), Does.Contain(name), body);
    }
}
