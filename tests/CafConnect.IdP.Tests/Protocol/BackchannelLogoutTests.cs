using System.Net;
using System.Text.Json;
using CafConnect.IdP.Demo;
using CafConnect.IdP.Protocol;
using CafConnect.IdP.Tests.Support;
using CafConnect.Infrastructure.Audit;
using CafConnect.Infrastructure.Clients;
using CafConnect.Infrastructure.Persistence;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace CafConnect.IdP.Tests.Protocol;

/// <summary>
/// OpenID Connect Back-Channel Logout 1.0 on an ordinary logout: discovery advertises it, and a client registered with a
/// <c>backchannel_logout_uri</c> receives one logout token (validated by jose against the JWKS) for the session that
/// ended; a client without a URI receives nothing. (Incident revocations: Security/IncidentRevokeTests.)
/// </summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
public sealed class BackchannelLogoutTests(StoreKind kind) : StoreFixture(kind)
{
    private BackchannelLogoutReceiver _receiver = null!;

    [OneTimeSetUp]
    public async Task RegisterReceiverAsync()
    {
        _receiver = await BackchannelLogoutReceiver.StartAsync();
        using var scope = Host.Services.CreateScope();
        var clients = scope.ServiceProvider.GetRequiredService<ClientAdministration>();
        var cafFr = (await clients.FindAsync(TestClient.CafFr.ClientId))!;
        await clients.UpdateAsync(cafFr with { BackchannelLogoutUri = _receiver.LogoutUri, ClientSecret = null });
    }

    [OneTimeTearDown]
    public async Task StopReceiverAsync() => await _receiver.DisposeAsync();

    [Test]
    public async Task Discovery_advertises_back_channel_logout_with_sessions()
    {
        var discovery = JsonDocument.Parse(await Host.CreateClient().GetStringAsync("/.well-known/openid-configuration")).RootElement;

        Assert.That(discovery.GetProperty("backchannel_logout_supported").GetBoolean(), Is.True);
        Assert.That(discovery.GetProperty("backchannel_logout_session_supported").GetBoolean(), Is.True);
    }

    [Test]
    public async Task A_client_registered_for_ES256_gets_its_logout_token_signed_ES256_and_others_RS256()
    {
        await using (var scope = Host.Services.CreateAsyncScope())
        {
            var clients = scope.ServiceProvider.GetRequiredService<ClientAdministration>();
            var aripa = (await clients.FindAsync(TestClient.Aripa.ClientId))!;
            await clients.UpdateAsync(aripa with { BackchannelLogoutUri = _receiver.LogoutUri, IdTokenSignedResponseAlg = "ES256", ClientSecret = null });
        }
        try
        {
            var before = _receiver.Tokens.Count;
            var driver = NewBrowser();
            var tokens = await driver.SignInAndRedeemAsync(TestClient.Aripa, DemoData.LouiseDubois.Nir!, DemoData.LouiseDubois.Password, scope: "openid profile");
            await driver.Browser.GetAsync(ProtocolEndpoints.EndSessionPath + OidcDriver.QueryString(new Dictionary<string, string?>
            {
                ["id_token_hint"] = tokens.IdToken,
                ["post_logout_redirect_uri"] = TestClient.Aripa.PostLogoutRedirectUri,
            }));
            var received = await _receiver.WaitForAsync(before + 1);
            var jwks = await Host.CreateClient().GetStringAsync("/.well-known/jwks");
            await BackchannelLogoutReceiver.VerifyWithJoseAsync(received[^1], jwks, "http://localhost/", TestClient.Aripa.ClientId);

            Assert.Multiple(() =>
            {
                Assert.That(new Microsoft.IdentityModel.JsonWebTokens.JsonWebToken(tokens.IdToken).Alg, Is.EqualTo("ES256"));
                Assert.That(new Microsoft.IdentityModel.JsonWebTokens.JsonWebToken(received[^1]).Alg, Is.EqualTo("ES256"),
                    "Back-Channel Logout §2.4: the keys of the client's ID tokens");
            });
        }
        finally
        {
            await using var scope = Host.Services.CreateAsyncScope();
            var clients = scope.ServiceProvider.GetRequiredService<ClientAdministration>();
            var aripa = (await clients.FindAsync(TestClient.Aripa.ClientId))!;
            await clients.UpdateAsync(aripa with { BackchannelLogoutUri = null, IdTokenSignedResponseAlg = null, ClientSecret = null });
        }
    }

    [Test]
    public async Task Logout_at_the_end_session_endpoint_sends_one_logout_token_for_the_session_to_the_registered_uri()
    {
        var before = _receiver.Tokens.Count;
        var driver = NewBrowser();
        var tokens = await driver.SignInAndRedeemAsync(TestClient.CafFr, DemoData.JeanneDupont.Nir!, DemoData.JeanneDupont.Password);
        var idToken = await driver.ValidateIdTokenAsync(tokens.IdToken, TestClient.CafFr.ClientId);

        var logout = await driver.Browser.GetAsync(ProtocolEndpoints.EndSessionPath + OidcDriver.QueryString(new Dictionary<string, string?>
        {
            ["id_token_hint"] = tokens.IdToken,
            ["post_logout_redirect_uri"] = TestClient.CafFr.PostLogoutRedirectUri,
        }));
        Assert.That(logout.StatusCode, Is.EqualTo(HttpStatusCode.Redirect));

        var received = await _receiver.WaitForAsync(before + 1);
        Assert.That(received, Has.Count.EqualTo(before + 1), "exactly one logout token");
        var jwks = await Host.CreateClient().GetStringAsync("/.well-known/jwks");
        var payload = await BackchannelLogoutReceiver.VerifyWithJoseAsync(received[^1], jwks, "http://localhost/", TestClient.CafFr.ClientId);
        Assert.Multiple(() =>
        {
            Assert.That(payload["sub"]!.GetValue<string>(), Is.EqualTo(idToken.Subject));
            Assert.That(new Microsoft.IdentityModel.JsonWebTokens.JsonWebToken(received[^1]).Alg, Is.EqualTo("RS256"), "a client that registered nothing");
            Assert.That(payload["sid"]!.GetValue<string>(), Is.EqualTo(idToken.GetClaim("sid").Value), "the sid of the ID token the relying party holds");
        });

        // Delivered once: recorded, and audited.
        using var scope = Host.Services.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<CafConnectDbContext>();
        var sid = idToken.GetClaim("sid").Value;
        Assert.That(await db.ProviderSessionClients.Where(l => l.SessionId == sid).Select(l => l.LogoutDeliveredAt).SingleAsync(), Is.Not.Null);
        Assert.That(await db.AuditEvents.CountAsync(e => e.Type == AuditEventTypes.BackchannelLogout && e.Outcome == "delivered" && e.ClientId == TestClient.CafFr.ClientId), Is.GreaterThanOrEqualTo(1));
    }

    [Test]
    public async Task A_client_without_a_logout_uri_receives_nothing()
    {
        var before = _receiver.Tokens.Count;
        var driver = NewBrowser();
        var tokens = await driver.SignInAndRedeemAsync(TestClient.Aripa, DemoData.LouiseDubois.Nir!, DemoData.LouiseDubois.Password, scope: "openid");

        var logout = await driver.Browser.GetAsync(ProtocolEndpoints.EndSessionPath + OidcDriver.QueryString(new Dictionary<string, string?>
        {
            ["id_token_hint"] = tokens.IdToken,
            ["post_logout_redirect_uri"] = TestClient.Aripa.PostLogoutRedirectUri,
        }));
        Assert.That(logout.StatusCode, Is.EqualTo(HttpStatusCode.Redirect));

        await Task.Delay(TimeSpan.FromSeconds(1));
        Assert.That(_receiver.Tokens, Has.Count.EqualTo(before));
    }
}
