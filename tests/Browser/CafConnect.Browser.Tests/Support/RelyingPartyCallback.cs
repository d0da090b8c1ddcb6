using System.Text.Json;
using CafConnect.IdP.Tests.Support;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Microsoft.Playwright;

namespace CafConnect.Browser.Tests.Support;

/// <summary>
/// Stands in for the relying party's callback inside the browser.
/// Why intercept rather than register a client on our port: the journeys use the seeded <c>caf-fr</c> client exactly as
/// Development configures it (redirect URI http://127.0.0.1:5000/demo/callback), so the browser tests also cover the
/// configuration newcomers use. The host listens on a random port, and nothing is (or must be) on port 5000: the route
/// answers the browser's request to the callback without any network traffic, and keeps its query (code, state, iss)
/// for the test, which then redeems the code over HTTP as the relying party's server would.
/// </summary>
public sealed class RelyingPartyCallback
{
    private readonly TaskCompletionSource<Uri> _received = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private RelyingPartyCallback(string redirectUri) => RedirectUri = redirectUri;

    public string RedirectUri { get; }

    public static async Task<RelyingPartyCallback> InstallAsync(IPage page, string redirectUri)
    {
        var callback = new RelyingPartyCallback(redirectUri);
        await page.RouteAsync(url => url.StartsWith(redirectUri + "?", StringComparison.Ordinal) || url == redirectUri, async route =>
        {
            callback._received.TrySetResult(new Uri(route.Request.Url));
            await route.FulfillAsync(new()
            {
                Status = 200,
                ContentType = "text/html; charset=utf-8",
                Body = "<!DOCTYPE html><html lang=\"fr\"><head><title>Service en ligne</title></head><body><main><h1>Retour au service en ligne</h1></main></body></html>",
            });
        });
        return callback;
    }

    /// <summary>The callback's query parameters, once the browser has been sent there.</summary>
    public async Task<IReadOnlyDictionary<string, string>> ParametersAsync(TimeSpan? timeout = null)
    {
        var uri = await _received.Task.WaitAsync(timeout ?? TimeSpan.FromSeconds(20));
        return QueryHelpers.ParseQuery(uri.Query).ToDictionary(p => p.Key, p => p.Value.ToString());
    }

    /// <summary>The relying party's server side: redeems the code with its secret and PKCE verifier, checks the ID token, calls userinfo.</summary>
    public static async Task<JsonElement> RedeemAndReadUserInfoAsync(LiveHost host, TestClient client, string code, Pkce pkce, string nonce)
    {
        using var http = host.CreateHttpClient();
        var driver = new OidcDriver(http);
        var tokens = await OidcDriver.ReadTokensAsync(await driver.RedeemCodeAsync(client, code, pkce.Verifier));

        var jwks = new JsonWebKeySet(await http.GetStringAsync(".well-known/jwks"));
        var validation = await new JsonWebTokenHandler().ValidateTokenAsync(tokens.IdToken, new TokenValidationParameters
        {
            ValidIssuer = host.BaseAddress.ToString(),
            ValidAudience = client.ClientId,
            IssuerSigningKeys = jwks.GetSigningKeys(),
            ValidateLifetime = true,
        });
        Assert.That(validation.IsValid, Is.True, "ID token validates: " + validation.Exception?.Message);
        var idToken = (JsonWebToken)validation.SecurityToken;
        Assert.That(idToken.GetPayloadValue<string>("nonce"), Is.EqualTo(nonce), "nonce");

        var userInfo = await driver.UserInfoAsync(tokens.AccessToken);
        var body = await userInfo.Content.ReadAsStringAsync();
        Assert.That(userInfo.IsSuccessStatusCode, Is.True, body);
        var json = JsonDocument.Parse(body).RootElement.Clone();
        Assert.That(json.GetProperty("sub").GetString(), Is.EqualTo(idToken.Subject), "userinfo and ID token name the same person");
        return json;
    }
}
