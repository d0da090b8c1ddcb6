using System.Net;
using CafConnect.Conformance.Tests.Support;
using CafConnect.IdP.Tests.Support;
using CafConnect.Infrastructure.Clients;
using Microsoft.Extensions.DependencyInjection;

namespace CafConnect.Conformance.Tests;

/// <summary>
/// The OpenID Foundation's « Back-Channel Logout OP » plan: a client registered with a backchannel_logout_uri receives a
/// logout token (checked independently by jose against the published JWKS) when the session it was authorized in ends.
/// </summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
public sealed class BackChannelLogoutOp(StoreKind kind) : ConformanceFixture(kind)
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

    [TestCase(TestName = "oidcc-backchannel-rp-initiated-logout")]
    public async Task Rp_initiated_logout_sends_a_logout_token()
    {
        var discovery = await DiscoveryAsync(NewBrowser());
        Assert.That(discovery.GetProperty("backchannel_logout_supported").GetBoolean(), Is.True);
        Assert.That(discovery.GetProperty("backchannel_logout_session_supported").GetBoolean(), Is.True);

        var before = _receiver.Tokens.Count;
        var driver = NewBrowser();
        var tokens = await SignInAsync(driver, Jeanne);
        var idToken = await driver.ValidateIdTokenAsync(tokens.IdToken, TestClient.CafFr.ClientId);

        var logout = await EndSessionAsync(driver, new Dictionary<string, string?>
        {
            ["id_token_hint"] = tokens.IdToken,
            ["post_logout_redirect_uri"] = TestClient.CafFr.PostLogoutRedirectUri,
        });
        Assert.That(logout.StatusCode, Is.EqualTo(HttpStatusCode.Redirect));

        var received = await _receiver.WaitForAsync(before + 1);
        var payload = await BackchannelLogoutReceiver.VerifyWithJoseAsync(received[^1], await driver.Browser.GetStringAsync("/.well-known/jwks"), Issuer, TestClient.CafFr.ClientId);
        Assert.Multiple(() =>
        {
            Assert.That(payload["sub"]!.GetValue<string>(), Is.EqualTo(idToken.Subject));
            Assert.That(payload["sid"]!.GetValue<string>(), Is.EqualTo(idToken.GetClaim("sid").Value));
            Assert.That(payload["events"]!.AsObject().ContainsKey("http://schemas.openid.net/event/backchannel-logout"), Is.True);
            Assert.That(payload.AsObject().ContainsKey("nonce"), Is.False, "a logout token never carries a nonce");
        });
    }

    /// <summary>An invalid hint ends nothing, so nobody is told anything.</summary>
    [TestCase(TestName = "oidcc-backchannel-rp-initiated-logout (invalid hint: no logout token)")]
    public async Task Invalid_hint_sends_no_logout_token()
    {
        var driver = NewBrowser();
        var tokens = await SignInAsync(driver, Jeanne);
        var before = _receiver.Tokens.Count;

        var logout = await EndSessionAsync(driver, new Dictionary<string, string?>
        {
            ["id_token_hint"] = WithAlgNone(tokens.IdToken),
            ["post_logout_redirect_uri"] = TestClient.CafFr.PostLogoutRedirectUri,
        });
        Assert.That(logout.Headers.Location!.OriginalString, Is.EqualTo("/deconnexion"));

        await Task.Delay(TimeSpan.FromSeconds(1));
        Assert.That(_receiver.Tokens, Has.Count.EqualTo(before));
    }
}
