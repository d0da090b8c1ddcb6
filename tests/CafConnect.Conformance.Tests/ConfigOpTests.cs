using System.Text.Json;
using CafConnect.Conformance.Tests.Support;
using CafConnect.IdP.Tests.Support;
using Microsoft.IdentityModel.Tokens;

namespace CafConnect.Conformance.Tests;

/// <summary>The OpenID Foundation's « Config OP » plan: what discovery and the key set publish.</summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
public sealed class ConfigOp(StoreKind kind) : ConformanceFixture(kind)
{
    [TestCase(TestName = "oidcc-discovery-endpoint-verification")]
    public async Task Discovery_endpoint_verification()
    {
        var discovery = await DiscoveryAsync(NewBrowser());

        static string[] Strings(JsonElement element) => element.EnumerateArray().Select(e => e.GetString()!).ToArray();
        Assert.Multiple(() =>
        {
            Assert.That(discovery.GetProperty("issuer").GetString(), Is.EqualTo(Issuer), "issuer identical to the URL discovery was read from");
            foreach (var endpoint in new[] { "authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri", "end_session_endpoint" })
            {
                Assert.That(discovery.GetProperty(endpoint).GetString(), Does.StartWith(Issuer), endpoint);
            }
            Assert.That(Strings(discovery.GetProperty("response_types_supported")), Is.EqualTo(new[] { "code" }), "code flow only");
            Assert.That(Strings(discovery.GetProperty("subject_types_supported")), Does.Contain("public"));
            Assert.That(Strings(discovery.GetProperty("id_token_signing_alg_values_supported")), Does.Contain("RS256").And.Not.Contain("none"));
            Assert.That(Strings(discovery.GetProperty("scopes_supported")), Does.Contain("openid"));
            Assert.That(Strings(discovery.GetProperty("code_challenge_methods_supported")), Is.EqualTo(new[] { "S256" }));
            Assert.That(Strings(discovery.GetProperty("grant_types_supported")), Does.Contain("authorization_code").And.Not.Contain("implicit").And.Not.Contain("password"));
            Assert.That(discovery.TryGetProperty("request_parameter_supported", out var request) ? request.GetBoolean() : false, Is.False, "request objects are not supported");
            Assert.That(discovery.TryGetProperty("request_uri_parameter_supported", out var requestUri) ? requestUri.GetBoolean() : false, Is.False);
        });
    }

    [TestCase(TestName = "cafconnect-jwks-publishes-the-signing-key")]
    public async Task Key_set_publishes_the_key_that_signs_id_tokens()
    {
        var driver = NewBrowser();
        var jwks = new JsonWebKeySet(await driver.Browser.GetStringAsync("/.well-known/jwks"));
        var tokens = await SignInAsync(driver, Jeanne);
        var idToken = await driver.ValidateIdTokenAsync(tokens.IdToken, TestClient.CafFr.ClientId);

        Assert.Multiple(() =>
        {
            Assert.That(jwks.Keys.Where(k => k.Use == "sig").Select(k => k.Kid), Does.Contain(idToken.Kid));
            Assert.That(idToken.Alg, Is.EqualTo("RS256"));
            Assert.That(jwks.Keys.All(k => !k.HasPrivateKey), Is.True, "no private key material is published");
        });
    }
}
