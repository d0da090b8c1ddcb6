using System.Net;
using System.Text.Json;
using CafConnect.IdP.Demo;
using CafConnect.IdP.Tests.Admin;
using CafConnect.IdP.Tests.Support;

namespace CafConnect.IdP.Tests.Protocol;

/// <summary>
/// RFC 7009 §2.1: a client revokes only the tokens issued to it. Before the fifth adversarial review of 5 December 2026,
/// OpenIddict let any client revoke an access token naming no audience — every access token CafConnect issues — so a
/// relying party holding another's token (a leak, a log) could cut that client's users or service off.
/// </summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
public sealed class RevocationByItsClientTests(StoreKind kind) : StoreFixture(kind)
{
    [Test]
    public async Task Another_relying_party_cannot_revoke_a_persons_access_token_and_its_own_client_can()
    {
        var driver = new OidcDriver(Host.CreateBrowser());
        var tokens = await driver.SignInAndRedeemAsync(TestClient.CafFr, DemoData.JeanneDupont.Nir!, DemoData.JeanneDupont.Password);

        var byAripa = await driver.TokenRequestAsyncAt("/connect/revoke", TestClient.Aripa, new Dictionary<string, string> { ["token"] = tokens.AccessToken });

        Assert.That(byAripa.StatusCode, Is.Not.EqualTo(HttpStatusCode.InternalServerError));
        Assert.That(await ActiveAsync(driver, tokens.AccessToken), Is.True, "caf-fr's token survives aripa's revocation");
        Assert.That((await driver.UserInfoAsync(tokens.AccessToken)).StatusCode, Is.EqualTo(HttpStatusCode.OK));

        var byCafFr = await driver.TokenRequestAsyncAt("/connect/revoke", TestClient.CafFr, new Dictionary<string, string> { ["token"] = tokens.AccessToken });

        Assert.That(byCafFr.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(await ActiveAsync(driver, tokens.AccessToken), Is.False, "its own client revokes it");
    }

    [Test]
    public async Task Another_relying_party_cannot_revoke_a_persons_refresh_token()
    {
        var driver = new OidcDriver(Host.CreateBrowser());
        var tokens = await driver.SignInAndRedeemAsync(TestClient.CafFr, DemoData.JeanneDupont.Nir!, DemoData.JeanneDupont.Password);

        await driver.TokenRequestAsyncAt("/connect/revoke", TestClient.Aripa, new Dictionary<string, string> { ["token"] = tokens.RefreshToken!, ["token_type_hint"] = "refresh_token" });

        Assert.That((await driver.RefreshAsync(TestClient.CafFr, tokens.RefreshToken!)).StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    [Test]
    public async Task A_relying_party_cannot_revoke_a_service_clients_client_credentials_token()
    {
        var admin = new AdminClient(Host.CreateClient());
        var token = await admin.TokenAsync();
        var driver = new OidcDriver(Host.CreateBrowser());

        await driver.TokenRequestAsyncAt("/connect/revoke", TestClient.CafFr, new Dictionary<string, string> { ["token"] = token });

        // The admin API checks its bearer tokens against this server, revocation included: an empty body is answered as
        // a bad request (the token accepted), not 401 (the token revoked).
        var call = await admin.PostRawAsync("/admin/v1/file-events", "{}", token);
        Assert.That(call.StatusCode, Is.Not.EqualTo(HttpStatusCode.Unauthorized), await call.Content.ReadAsStringAsync());
        Assert.That((int)call.StatusCode, Is.InRange(400, 499));
    }

    private static async Task<bool> ActiveAsync(OidcDriver driver, string accessToken)
    {
        var response = await driver.TokenRequestAsyncAt("/connect/introspect", TestClient.CafFr, new Dictionary<string, string> { ["token"] = accessToken });
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("active").GetBoolean();
    }
}
