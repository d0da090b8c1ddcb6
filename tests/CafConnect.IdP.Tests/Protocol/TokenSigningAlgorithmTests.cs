using System.Net;
using System.Text.Json;
using CafConnect.IdP.Demo;
using CafConnect.IdP.Protocol;
using CafConnect.IdP.Tests.Admin;
using CafConnect.IdP.Tests.Support;
using CafConnect.Infrastructure.Clients;
using CafConnect.Infrastructure.Keys;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace CafConnect.IdP.Tests.Protocol;

/// <summary>
/// Which key signs what (docs/decisions.md #33): ES256 for the tokens only the provider reads (access and refresh tokens,
/// authorization codes), RS256 ID tokens unless the client registered <c>id_token_signed_response_alg</c> ES256; both keys
/// published, and everything the provider checks (userinfo, introspection, revocation, the admin API) accepts ES256.
/// </summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
public sealed class TokenSigningAlgorithmTests(StoreKind kind) : StoreFixture(kind)
{
    /// <summary>The JWS inside one of the provider's encrypted tokens, decrypted with the provider's own encryption keys.</summary>
    internal static JsonWebToken InnerToken(CafConnectFactory host, string token)
    {
        var outer = new JsonWebToken(token);
        if (string.IsNullOrEmpty(outer.Enc))
        {
            return outer;
        }
        var ring = host.Services.GetRequiredService<TokenKeyRing>();
        var decrypted = new JsonWebTokenHandler().DecryptToken(outer, new TokenValidationParameters
        {
            TokenDecryptionKeys = ring.Keys.Where(k => k.Record.Use == TokenKeyUses.Encryption).Select(k => k.SecurityKey).ToList(),
        });
        return new JsonWebToken(decrypted);
    }

    private static async Task<JsonElement> JsonAsync(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();

    [Test]
    public async Task Access_and_refresh_tokens_and_codes_are_ES256_while_the_ID_token_stays_RS256()
    {
        var driver = NewBrowser();
        var pkce = Pkce.Create();
        var authorization = await driver.SignInAsync(OidcDriver.AuthorizationParameters(TestClient.CafFr, pkce), DemoData.JeanneDupont.Nir!, DemoData.JeanneDupont.Password);
        var code = authorization["code"]!;
        // The code is a reference: what OpenIddict signed is the payload of its token entry, read before the code is
        // redeemed (the redemption clears it, docs/decisions.md #37).
        string codePayload;
        await using (var scope = Host.Services.CreateAsyncScope())
        {
            var manager = scope.ServiceProvider.GetRequiredService<OpenIddict.Abstractions.IOpenIddictTokenManager>();
            var entry = await manager.FindByReferenceIdAsync(code);
            codePayload = entry is null ? code : (await manager.GetPayloadAsync(entry))!;
        }
        var tokens = await OidcDriver.ReadTokensAsync(await driver.RedeemCodeAsync(TestClient.CafFr, code, pkce.Verifier));
        var idToken = await driver.ValidateIdTokenAsync(tokens.IdToken, TestClient.CafFr.ClientId);

        var ring = Host.Services.GetRequiredService<TokenKeyRing>();
        var ecKid = ring.Keys.First(k => k.Record.Use == TokenKeyUses.EcSigning && k.IsActive).Record.KeyId;
        var rsaKid = ring.Keys.First(k => k.Record.Use == TokenKeyUses.Signing && k.IsActive).Record.KeyId;
        Assert.Multiple(() =>
        {
            Assert.That(new JsonWebToken(tokens.AccessToken).Enc, Is.Not.Empty, "the access token is still encrypted");
            foreach (var (name, token) in new[] { ("access token", tokens.AccessToken), ("refresh token", tokens.RefreshToken!), ("authorization code", codePayload) })
            {
                var inner = InnerToken(Host, token);
                Assert.That(inner.Alg, Is.EqualTo("ES256"), name);
                Assert.That(inner.Kid, Is.EqualTo(ecKid), name);
            }
            Assert.That(idToken.Alg, Is.EqualTo("RS256"), "ID tokens: RS256, which every relying party supports");
            Assert.That(idToken.Kid, Is.EqualTo(rsaKid));
        });
    }

    [Test]
    public async Task ES256_tokens_work_at_userinfo_introspection_revocation_and_refresh()
    {
        var driver = NewBrowser();
        var tokens = await driver.SignInAndRedeemAsync(TestClient.CafFr, DemoData.JeanneDupont.Nir!, DemoData.JeanneDupont.Password);

        var userInfo = await driver.UserInfoAsync(tokens.AccessToken);
        var introspection = await JsonAsync(await driver.TokenRequestAsyncAt("/connect/introspect", TestClient.CafFr, new Dictionary<string, string> { ["token"] = tokens.AccessToken }));
        var refreshed = await OidcDriver.ReadTokensAsync(await driver.RefreshAsync(TestClient.CafFr, tokens.RefreshToken!));
        var revocation = await driver.TokenRequestAsyncAt("/connect/revoke", TestClient.CafFr, new Dictionary<string, string> { ["token"] = refreshed.RefreshToken!, ["token_type_hint"] = "refresh_token" });
        var afterRevocation = await driver.RefreshAsync(TestClient.CafFr, refreshed.RefreshToken!);

        Assert.Multiple(() =>
        {
            Assert.That(userInfo.StatusCode, Is.EqualTo(HttpStatusCode.OK), "userinfo accepts an ES256 access token");
            Assert.That(introspection.GetProperty("active").GetBoolean(), Is.True, "introspection: " + introspection);
            Assert.That(InnerToken(Host, refreshed.RefreshToken!).Alg, Is.EqualTo("ES256"), "the rotated refresh token");
            Assert.That(revocation.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(afterRevocation.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), "a revoked ES256 refresh token is refused");
        });
    }

    [Test]
    public async Task The_admin_API_accepts_an_ES256_service_token()
    {
        var admin = new AdminClient(Host.CreateClient());
        var token = await admin.TokenAsync();
        var response = await admin.PostJsonAsync("/admin/v1/file-events", new { event_id = "evt-es256-1", type = "death", person = new { nir = "1999999999999" } }, token);

        Assert.Multiple(() =>
        {
            Assert.That(InnerToken(Host, token).Alg, Is.EqualTo("ES256"));
            Assert.That(response.StatusCode, Is.Not.EqualTo(HttpStatusCode.Unauthorized).And.Not.EqualTo(HttpStatusCode.Forbidden),
                "the admin API's validation (local server) accepts the token: " + response.Headers.WwwAuthenticate);
        });
    }

    [Test]
    public async Task The_JWKS_publishes_both_signing_keys_and_discovery_both_ID_token_algorithms()
    {
        var browser = Host.CreateBrowser();
        var jwks = JsonDocument.Parse(await browser.GetStringAsync("/.well-known/jwks")).RootElement;
        var discovery = JsonDocument.Parse(await browser.GetStringAsync("/.well-known/openid-configuration")).RootElement;
        var ring = Host.Services.GetRequiredService<TokenKeyRing>();
        var published = jwks.GetProperty("keys").EnumerateArray().ToDictionary(k => k.GetProperty("kid").GetString()!);
        var rsa = ring.Keys.First(k => k.Record.Use == TokenKeyUses.Signing && k.IsActive).Record.KeyId;
        var ec = ring.Keys.First(k => k.Record.Use == TokenKeyUses.EcSigning && k.IsActive).Record.KeyId;

        Assert.Multiple(() =>
        {
            Assert.That(published, Does.ContainKey(rsa).And.ContainKey(ec));
            Assert.That(published[rsa].GetProperty("alg").GetString(), Is.EqualTo("RS256"));
            Assert.That(published[rsa].GetProperty("kty").GetString(), Is.EqualTo("RSA"));
            Assert.That(published[rsa].GetProperty("use").GetString(), Is.EqualTo("sig"));
            Assert.That(published[ec].GetProperty("alg").GetString(), Is.EqualTo("ES256"));
            Assert.That(published[ec].GetProperty("kty").GetString(), Is.EqualTo("EC"));
            Assert.That(published[ec].GetProperty("crv").GetString(), Is.EqualTo("P-256"));
            Assert.That(published[ec].GetProperty("use").GetString(), Is.EqualTo("sig"));
            Assert.That(published[ec].TryGetProperty("d", out _), Is.False, "never the private key");
            Assert.That(discovery.GetProperty("id_token_signing_alg_values_supported").EnumerateArray().Select(e => e.GetString()),
                Does.Contain("RS256").And.Contain("ES256"));
        });
    }

    [Test]
    public async Task A_client_registered_for_ES256_gets_ES256_ID_tokens_and_others_keep_RS256()
    {
        var aripa = TestClient.Aripa;
        await using (var scope = Host.Services.CreateAsyncScope())
        {
            var clients = scope.ServiceProvider.GetRequiredService<ClientAdministration>();
            var registration = (await clients.FindAsync(aripa.ClientId))!;
            await clients.UpdateAsync(registration with { IdTokenSignedResponseAlg = TokenSigning.Es256, ClientSecret = null });
        }
        try
        {
            var es256 = await NewBrowser().SignInAndRedeemAsync(aripa, DemoData.LouiseDubois.Nir!, DemoData.LouiseDubois.Password, scope: "openid profile");
            var rs256 = await NewBrowser().SignInAndRedeemAsync(TestClient.CafFr, DemoData.LouiseDubois.Nir!, DemoData.LouiseDubois.Password);
            var driver = NewBrowser();
            var idToken = await driver.ValidateIdTokenAsync(es256.IdToken, aripa.ClientId);

            Assert.Multiple(() =>
            {
                Assert.That(idToken.Alg, Is.EqualTo("ES256"), "validated with the published EC key, as the relying party would");
                Assert.That(new JsonWebToken(rs256.IdToken).Alg, Is.EqualTo("RS256"), "a client that registered nothing");
            });
        }
        finally
        {
            await using var scope = Host.Services.CreateAsyncScope();
            var clients = scope.ServiceProvider.GetRequiredService<ClientAdministration>();
            var registration = (await clients.FindAsync(aripa.ClientId))!;
            await clients.UpdateAsync(registration with { IdTokenSignedResponseAlg = null, ClientSecret = null });
        }
    }
}
