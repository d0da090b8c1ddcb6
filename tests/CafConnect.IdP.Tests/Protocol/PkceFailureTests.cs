using System.Net;
using System.Text.Json;
using CafConnect.IdP.Demo;
using CafConnect.IdP.Tests.Support;

namespace CafConnect.IdP.Tests.Protocol;

/// <summary>
/// A code whose verifier was wrong is spent (adversarial review, 6 December 2026, seventh session): OpenIddict refuses
/// the wrong verifier (<c>invalid_grant</c>, ID2052) but leaves the code valid, so whoever stole a code could keep
/// guessing verifiers for its 60 seconds, and the client's own redemption afterwards still worked. A code is used once:
/// the failed check revokes it (<c>ProtocolHandlers.CodeSpentByAWrongVerifier</c>).
/// </summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
public sealed class PkceFailureTests(StoreKind kind) : StoreFixture(kind)
{
    private const string LouiseNir = "2920769383017";

    [Test]
    public async Task A_wrong_code_verifier_spends_the_code_so_the_right_one_is_refused_afterwards()
    {
        var driver = NewBrowser();
        var pkce = Pkce.Create();
        var authorization = await driver.SignInAsync(OidcDriver.AuthorizationParameters(TestClient.CafFr, pkce, scope: "openid caf"), LouiseNir, DemoData.LouiseDubois.Password);
        var code = authorization["code"]!;

        await AssertInvalidGrantAsync(await driver.RedeemCodeAsync(TestClient.CafFr, code, Pkce.Create().Verifier), "the wrong verifier");
        await AssertInvalidGrantAsync(await driver.RedeemCodeAsync(TestClient.CafFr, code, pkce.Verifier), "the right verifier, after a wrong one");
    }

    [Test]
    public async Task A_code_redeemed_with_its_verifier_at_the_first_attempt_still_gives_tokens()
    {
        var driver = NewBrowser();
        var tokens = await driver.SignInAndRedeemAsync(TestClient.CafFr, LouiseNir, DemoData.LouiseDubois.Password, "openid caf");
        Assert.That(tokens.AccessToken, Is.Not.Empty);
    }

    private static async Task AssertInvalidGrantAsync(HttpResponseMessage response, string what)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), what + ": " + body);
        Assert.That(JsonDocument.Parse(body).RootElement.GetProperty("error").GetString(), Is.EqualTo("invalid_grant"), what + ": " + body);
    }
}
