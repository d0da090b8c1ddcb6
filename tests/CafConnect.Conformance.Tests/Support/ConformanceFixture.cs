using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using CafConnect.IdP.Demo;
using CafConnect.IdP.Protocol;
using CafConnect.IdP.Tests.Support;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace CafConnect.Conformance.Tests.Support;

/// <summary>
/// What the conformance suite does as a relying party, on the real host (<see cref="StoreFixture"/>: once on SQLite,
/// once on PostgreSQL + Redis): PKCE is added to every request, as the suite does for a provider that requires it.
/// </summary>
public abstract class ConformanceFixture(StoreKind kind) : StoreFixture(kind)
{
    protected const string Issuer = "http://localhost/";
    protected static readonly DemoPerson Jeanne = DemoData.JeanneDupont;
    protected static readonly DemoPerson Louise = DemoData.LouiseDubois;

    /// <summary>Signs in through the front channel and redeems the code: the ID token and tokens of a fresh login.</summary>
    protected static async Task<TokenSet> SignInAsync(OidcDriver driver, DemoPerson person, TestClient? client = null, string scope = "openid profile email phone caf offline_access") =>
        await driver.SignInAndRedeemAsync(client ?? TestClient.CafFr, person.Nir!, person.Password, scope);

    protected static Task<HttpResponseMessage> EndSessionAsync(OidcDriver driver, IDictionary<string, string?> parameters) =>
        driver.Browser.GetAsync(ProtocolEndpoints.EndSessionPath + OidcDriver.QueryString(parameters));

    /// <summary>Whether the browser still has a session: a new authorization request is answered without the login page.</summary>
    protected static async Task<bool> IsSignedInAsync(OidcDriver driver)
    {
        var parameters = OidcDriver.AuthorizationParameters(TestClient.CafFr, Pkce.Create());
        parameters["prompt"] = "none";
        var response = OidcDriver.ToAuthorizationResponse(await driver.AuthorizeAsync(parameters));
        return response["code"] is not null;
    }

    protected static async Task<JsonElement> DiscoveryAsync(OidcDriver driver) =>
        JsonDocument.Parse(await driver.Browser.GetStringAsync("/.well-known/openid-configuration")).RootElement;

    protected static IReadOnlyDictionary<string, string> QueryOf(Uri location) =>
        QueryHelpers.ParseQuery(location.Query).ToDictionary(p => p.Key, p => p.Value.ToString());

    /// <summary>The ID token with its header replaced by <c>{"alg":"none"}</c> and no signature (the suite's « bad » hint).</summary>
    protected static string WithAlgNone(string idToken)
    {
        var parts = idToken.Split('.');
        return Base64UrlEncoder.Encode("{\"alg\":\"none\",\"typ\":\"JWT\"}") + "." + parts[1] + ".";
    }

    /// <summary>The ID token's payload with one claim changed, the original signature kept (the suite's « modified » hint).</summary>
    protected static string WithModifiedPayload(string idToken, string claim, string value)
    {
        var parts = idToken.Split('.');
        var payload = JsonNode.Parse(Base64UrlEncoder.Decode(parts[1]))!.AsObject();
        payload[claim] = value;
        return parts[0] + "." + Base64UrlEncoder.Encode(payload.ToJsonString()) + "." + parts[2];
    }

    /// <summary>The ID token's claims, signed properly — but by a key that is not the provider's.</summary>
    protected static string SignedByAnotherKey(string idToken)
    {
        var original = new JsonWebToken(idToken);
        using var rsa = RSA.Create(2048);
        var key = new RsaSecurityKey(rsa.ExportParameters(includePrivateParameters: true)) { KeyId = original.Kid };
        var claims = JsonNode.Parse(Base64UrlEncoder.Decode(idToken.Split('.')[1]))!.AsObject();
        return new JsonWebTokenHandler().CreateToken(claims.ToJsonString(), new SigningCredentials(key, SecurityAlgorithms.RsaSha256));
    }

    protected static void AssertNotRedirectedTo(HttpResponseMessage response, string? uri)
    {
        var location = response.Headers.Location?.OriginalString ?? string.Empty;
        Assert.That(uri is not null && location.StartsWith(uri, StringComparison.Ordinal), Is.False, $"must not redirect to {uri}; got {location}");
    }
}
