using System.Text.Json;
using CafConnect.IdP.Tests.Support;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Microsoft.Playwright;

namespace CafConnect.Browser.Tests.Support;

/// <summary>
/// The relying party's callback, seen from the browser: the first request the page makes to the client's redirect URI
/// (with its code, state and iss), which the test then redeems over HTTP as the relying party's server would.
/// <para>
/// The URL is read from the page's <c>request</c> event, which Playwright raises for every request of a redirect chain
/// as it starts — the callback is always reached through the authorization endpoint's 302 — so nothing waits for the
/// callback's answer. <c>page.RouteAsync</c> alone is not enough: Playwright documents that a route is not guaranteed
/// to see requests that follow a redirect, and when it misses one the browser really goes to the redirect URI. A route
/// is still installed: when it does see the request it answers with a stand-in page, without any network traffic.
/// </para>
/// <para>
/// The journeys use <see cref="LiveHost.RelyingParty"/>, whose redirect URI is on the live host's own port, so the
/// browser never depends on port 5000. The seeded <c>caf-fr</c> client (http://127.0.0.1:5000/demo/callback, the
/// configuration newcomers use) is exercised by one test only, which submits without waiting for the navigation and
/// then leaves the page (<see cref="LeaveAsync"/>): whatever listens on port 5000 (nothing, a developer's <c>dotnet run</c>,
/// a server that never answers) at most receives a code it cannot redeem — the code belongs to the test's host.
/// </para>
/// </summary>
public sealed class RelyingPartyCallback
{
    private readonly TaskCompletionSource<Uri> _received = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private RelyingPartyCallback(string redirectUri) => RedirectUri = redirectUri;

    public string RedirectUri { get; }

    public static Task<RelyingPartyCallback> InstallAsync(IPage page, TestClient client) => InstallAsync(page, client.RedirectUri);

    public static async Task<RelyingPartyCallback> InstallAsync(IPage page, string redirectUri)
    {
        var callback = new RelyingPartyCallback(redirectUri);
        page.Request += (_, request) =>
        {
            if (callback.IsCallback(request.Url))
            {
                callback._received.TrySetResult(new Uri(request.Url));
            }
        };
        await page.RouteAsync(callback.IsCallback, async route =>
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

    /// <summary>
    /// Takes the page off a callback whose server may never answer (port 5000 held by something else), so that later
    /// steps and the failure screenshots do not wait for it.
    /// </summary>
    public async Task LeaveAsync(IPage page)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await page.GotoAsync("about:blank");
                return;
            }
            catch (PlaywrightException) when (attempt < 5)
            {
                // Nothing on the port: Chromium's own error page may commit first and interrupt this navigation.
                await Task.Delay(200);
            }
        }
    }

    private bool IsCallback(string url) => url == RedirectUri || url.StartsWith(RedirectUri + "?", StringComparison.Ordinal);

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
