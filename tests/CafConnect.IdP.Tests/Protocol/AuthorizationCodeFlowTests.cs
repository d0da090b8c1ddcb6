using System.Net;
using System.Text.Json;
using CafConnect.IdP.Demo;
using CafConnect.IdP.Tests.Support;

namespace CafConnect.IdP.Tests.Protocol;

[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
public sealed class AuthorizationCodeFlowTests(StoreKind kind) : StoreFixture(kind)
{
    [Test]
    public async Task Discovery_advertises_the_code_flow_with_S256_and_iss_and_client_credentials_for_service_clients()
    {
        var json = JsonDocument.Parse(await Host.CreateBrowser().GetStringAsync("/.well-known/openid-configuration")).RootElement;

        Assert.Multiple(() =>
        {
            Assert.That(json.GetProperty("issuer").GetString(), Is.EqualTo("http://localhost/"));
            Assert.That(json.GetProperty("response_types_supported").EnumerateArray().Select(e => e.GetString()), Is.EquivalentTo(new[] { "code" }));
            Assert.That(json.GetProperty("grant_types_supported").EnumerateArray().Select(e => e.GetString()),
                Is.EquivalentTo(new[] { "authorization_code", "refresh_token", "client_credentials", "urn:cafconnect:params:oauth:grant-type:legacy-code" }),
                "code flow, refresh, client credentials (service clients only: the admin API) and the phone server's grant (clients registered for it); no implicit, no password grant");
            Assert.That(json.GetProperty("code_challenge_methods_supported").EnumerateArray().Select(e => e.GetString()), Is.EquivalentTo(new[] { "S256" }));
            Assert.That(json.GetProperty("authorization_response_iss_parameter_supported").GetBoolean(), Is.True);
            foreach (var endpoint in new[] { "authorization_endpoint", "token_endpoint", "userinfo_endpoint", "end_session_endpoint", "revocation_endpoint", "introspection_endpoint", "jwks_uri" })
            {
                Assert.That(json.TryGetProperty(endpoint, out _), Is.True, endpoint);
            }
        });
    }

    [Test]
    public async Task Confidential_client_signs_in_with_PKCE_and_gets_tokens_bound_to_the_person_who_typed_the_password()
    {
        var driver = NewBrowser();
        var pkce = Pkce.Create();
        var parameters = OidcDriver.AuthorizationParameters(TestClient.CafFr, pkce, state: "état/avec espaces&symboles");

        var response = await driver.SignInAsync(parameters, "2 85 03 75 112 048", DemoData.JeanneDupont.Password);

        Assert.Multiple(() =>
        {
            Assert.That(response.Location.GetLeftPart(UriPartial.Path), Is.EqualTo(TestClient.CafFr.RedirectUri));
            Assert.That(response["state"], Is.EqualTo("état/avec espaces&symboles"), "state returned exactly");
            Assert.That(response["iss"], Is.EqualTo("http://localhost/"), "RFC 9207 iss");
            Assert.That(response["code"], Is.Not.Null.And.Not.Empty);
        });

        var tokens = await OidcDriver.ReadTokensAsync(await driver.RedeemCodeAsync(TestClient.CafFr, response["code"]!, pkce.Verifier));
        var idToken = await driver.ValidateIdTokenAsync(tokens.IdToken, "caf-fr");
        var userInfoResponse = await driver.UserInfoAsync(tokens.AccessToken);
        var userInfo = JsonDocument.Parse(await userInfoResponse.Content.ReadAsStringAsync()).RootElement;

        Assert.Multiple(() =>
        {
            Assert.That(idToken.GetPayloadValue<string>("nonce"), Is.EqualTo("nonce-456"));
            Assert.That(idToken.TryGetPayloadValue<long>("auth_time", out _), Is.True, "auth_time");
            Assert.That(idToken.Subject, Is.Not.Empty.And.Not.Contains("2850375112048"), "sub is opaque, never the NIR");
            Assert.That(tokens.RefreshToken, Is.Not.Null, "offline_access gives a refresh token");
            Assert.That(userInfoResponse.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(userInfoResponse.Headers.CacheControl?.NoStore, Is.True, "personal data is never cacheable");
            Assert.That(userInfo.GetProperty("sub").GetString(), Is.EqualTo(idToken.Subject));
            Assert.That(userInfo.GetProperty("given_name").GetString(), Is.EqualTo("Jeanne"));
            Assert.That(userInfo.GetProperty("family_name").GetString(), Is.EqualTo("DUPONT"));
            Assert.That(userInfo.GetProperty("email").GetString(), Is.EqualTo("jeanne.dupont@example.fr"));
            Assert.That(userInfo.GetProperty("caf_files")[0].GetProperty("file_number").GetString(), Is.EqualTo("0260311"));
            Assert.That(userInfo.GetProperty("caf_files")[0].GetProperty("role").GetString(), Is.EqualTo("allocataire"));
            Assert.That(userInfo.TryGetProperty("nir", out _), Is.False, "no nir without the nir scope");
        });
    }

    [Test]
    public async Task Public_client_signs_in_with_PKCE_and_no_secret()
    {
        var driver = NewBrowser();
        var tokens = await driver.SignInAndRedeemAsync(TestClient.CafMobile, "2 92 07 69 383 017", DemoData.LouiseDubois.Password);

        var idToken = await driver.ValidateIdTokenAsync(tokens.IdToken, "caf-mobile");
        var userInfo = JsonDocument.Parse(await (await driver.UserInfoAsync(tokens.AccessToken)).Content.ReadAsStringAsync()).RootElement;

        Assert.That(userInfo.GetProperty("sub").GetString(), Is.EqualTo(idToken.Subject));
        Assert.That(userInfo.GetProperty("given_name").GetString(), Is.EqualTo("Louise"));
    }

    [Test]
    public async Task Refresh_returns_new_tokens_for_the_same_person_and_a_new_refresh_token()
    {
        var driver = NewBrowser();
        var first = await driver.SignInAndRedeemAsync(TestClient.CafFr, "1 83 11 75 115 230", DemoData.MarcDupont.Password);

        var refreshed = await OidcDriver.ReadTokensAsync(await driver.RefreshAsync(TestClient.CafFr, first.RefreshToken!));

        var before = await driver.ValidateIdTokenAsync(first.IdToken, "caf-fr");
        var after = await driver.ValidateIdTokenAsync(refreshed.IdToken, "caf-fr");
        Assert.Multiple(() =>
        {
            Assert.That(after.Subject, Is.EqualTo(before.Subject));
            Assert.That(refreshed.RefreshToken, Is.Not.Null.And.Not.EqualTo(first.RefreshToken), "refresh tokens rotate");
        });
        var userInfo = JsonDocument.Parse(await (await driver.UserInfoAsync(refreshed.AccessToken)).Content.ReadAsStringAsync()).RootElement;
        Assert.That(userInfo.GetProperty("caf_files")[0].GetProperty("role").GetString(), Is.EqualTo("conjoint"));
    }

    [Test]
    public async Task Two_people_signing_in_side_by_side_each_get_their_own_subject()
    {
        var jeanne = NewBrowser();
        var louise = NewBrowser();
        var jeanneTask = jeanne.SignInAndRedeemAsync(TestClient.CafFr, "2850375112048", DemoData.JeanneDupont.Password);
        var louiseTask = louise.SignInAndRedeemAsync(TestClient.CafFr, "2920769383017", DemoData.LouiseDubois.Password);
        var tokens = await Task.WhenAll(jeanneTask, louiseTask);

        var jeanneInfo = JsonDocument.Parse(await (await jeanne.UserInfoAsync(tokens[0].AccessToken)).Content.ReadAsStringAsync()).RootElement;
        var louiseInfo = JsonDocument.Parse(await (await louise.UserInfoAsync(tokens[1].AccessToken)).Content.ReadAsStringAsync()).RootElement;

        Assert.Multiple(() =>
        {
            Assert.That(jeanneInfo.GetProperty("given_name").GetString(), Is.EqualTo("Jeanne"));
            Assert.That(louiseInfo.GetProperty("given_name").GetString(), Is.EqualTo("Louise"));
            Assert.That(jeanneInfo.GetProperty("sub").GetString(), Is.Not.EqualTo(louiseInfo.GetProperty("sub").GetString()));
        });
    }

    [Test]
    public async Task A_person_signed_in_once_is_not_asked_again_by_a_second_client()
    {
        var driver = NewBrowser();
        await driver.SignInAndRedeemAsync(TestClient.CafFr, "2850375112048", DemoData.JeanneDupont.Password);

        var pkce = Pkce.Create();
        var second = OidcDriver.ToAuthorizationResponse(await driver.AuthorizeAsync(OidcDriver.AuthorizationParameters(TestClient.Aripa, pkce, "openid profile")));

        Assert.That(second.Location.GetLeftPart(UriPartial.Path), Is.EqualTo(TestClient.Aripa.RedirectUri));
        Assert.That(second["code"], Is.Not.Null);
    }
}
