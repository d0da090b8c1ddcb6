using System.Net;
using System.Text.Json;
using CafConnect.IdP.Demo;
using CafConnect.IdP.Tests.Support;
using CafConnect.Infrastructure.Clients;
using Microsoft.Extensions.DependencyInjection;

namespace CafConnect.IdP.Tests.Protocol;

/// <summary>
/// A refresh token only for a client registered for <c>offline_access</c> (adversarial review, 6 December 2026, seventh
/// session): OpenIddict treats the scope as governed by the refresh-token grant every relying party holds, so ARIPA —
/// not registered for it — got a 14-day refresh token (<c>ProtocolHandlers.OfflineAccessByRegistration</c>).
/// </summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
public sealed class OfflineAccessRegistrationTests(StoreKind kind) : StoreFixture(kind)
{
    private const string LouiseNir = "2920769383017";
    private const string RedirectUri = "http://127.0.0.1:5000/demo/callback";

    [Test]
    public async Task A_client_not_registered_for_offline_access_gets_an_error_and_no_code_when_it_asks_for_it()
    {
        var driver = NewBrowser();
        // Louise is signed in (at caf-fr): before the fix ARIPA's request got a code at once, and the code a refresh token.
        await driver.SignInAndRedeemAsync(TestClient.CafFr, LouiseNir, DemoData.LouiseDubois.Password, "openid caf");

        var response = await driver.AuthorizeAsync(OidcDriver.AuthorizationParameters(TestClient.Aripa, Pkce.Create(), scope: "openid caf offline_access"));

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Redirect));
        var answer = OidcDriver.ToAuthorizationResponse(response);
        Assert.Multiple(() =>
        {
            Assert.That(answer.Location.GetLeftPart(UriPartial.Path), Is.EqualTo(TestClient.Aripa.RedirectUri));
            Assert.That(answer["code"], Is.Null, "no code");
            Assert.That(answer["error"], Is.EqualTo("invalid_request"), "as for any other scope the client is not registered for");
            Assert.That(answer["state"], Is.EqualTo("etat-123"));
        });

        // Without offline_access the same client still signs in, and gets no refresh token.
        var tokens = await NewBrowser().SignInAndRedeemAsync(TestClient.Aripa, LouiseNir, DemoData.LouiseDubois.Password, "openid caf");
        Assert.That(tokens.RefreshToken, Is.Null);
    }

    [Test]
    public async Task A_client_whose_registration_no_longer_holds_offline_access_cannot_refresh_any_more()
    {
        var clientId = "rp-hors-ligne-" + Guid.NewGuid().ToString("N")[..8];
        const string secret = "secret-de-test-du-client-hors-ligne-0123456789";
        var registration = new ClientRegistration
        {
            ClientId = clientId, DisplayName = clientId, Kind = ClientKind.Confidential, ClientSecret = secret,
            RedirectUris = [RedirectUri], Scopes = ["profile", "caf", "offline_access"],
        };
        await AdministerAsync(clients => clients.AddAsync(registration));
        var client = new TestClient(clientId, secret, RedirectUri, null);
        var driver = NewBrowser();
        var tokens = await driver.SignInAndRedeemAsync(client, LouiseNir, DemoData.LouiseDubois.Password, "openid caf offline_access");
        Assert.That(tokens.RefreshToken, Is.Not.Null, "registered for offline_access: a refresh token");

        await AdministerAsync(clients => clients.UpdateAsync(registration with { Scopes = ["profile", "caf"] }));
        var refresh = await driver.RefreshAsync(client, tokens.RefreshToken!);

        var body = await refresh.Content.ReadAsStringAsync();
        Assert.That(refresh.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), body);
        Assert.That(JsonDocument.Parse(body).RootElement.GetProperty("error").GetString(), Is.EqualTo("unauthorized_client"), body);
    }

    private async Task AdministerAsync(Func<ClientAdministration, Task> change)
    {
        using var scope = Host.Services.CreateScope();
        await change(scope.ServiceProvider.GetRequiredService<ClientAdministration>());
    }
}
