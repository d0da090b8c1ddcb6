using System.Net;
using System.Net.Http.Headers;
using CafConnect.IdP.Demo;
using CafConnect.IdP.Tests.Support;

namespace CafConnect.IdP.Tests.Protocol;

/// <summary>
/// Userinfo reads the access token from the <c>Authorization</c> header only (RFC 6750 §2.1; adversarial review,
/// 6 December 2026, seventh session). A token in the query string (§2.3: SHOULD NOT be used) stays in proxies' access
/// logs and browser histories; the form-body method (§2.2, optional to servers) is used by no relying party of the Caf
/// (docs/claims.md tells them the header). Both are answered as a request without a token
/// (<c>ProtocolHandlers.UserInfoPostWithoutBody</c>, the one place userinfo requests are read).
/// </summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
public sealed class UserInfoTokenPlacementTests(StoreKind kind) : StoreFixture(kind)
{
    private const string LouiseNir = "2920769383017";

    [Test]
    public async Task An_access_token_in_the_query_string_or_in_a_form_is_not_read()
    {
        var driver = NewBrowser();
        var tokens = await driver.SignInAndRedeemAsync(TestClient.CafFr, LouiseNir, DemoData.LouiseDubois.Password, "openid caf");
        var withoutToken = await Host.CreateClient().GetAsync("/connect/userinfo");
        Assert.That((int)withoutToken.StatusCode, Is.InRange(400, 401));

        var inQuery = await Host.CreateClient().GetAsync("/connect/userinfo?access_token=" + Uri.EscapeDataString(tokens.AccessToken));
        var inQueryOfPost = await Host.CreateClient().PostAsync("/connect/userinfo?access_token=" + Uri.EscapeDataString(tokens.AccessToken), null);
        var inForm = await Host.CreateClient().PostAsync("/connect/userinfo",
            new FormUrlEncodedContent(new Dictionary<string, string> { ["access_token"] = tokens.AccessToken }));

        foreach (var (response, where) in new[] { (inQuery, "query of a GET"), (inQueryOfPost, "query of a POST"), (inForm, "form") })
        {
            var body = await response.Content.ReadAsStringAsync();
            Assert.Multiple(() =>
            {
                Assert.That(response.StatusCode, Is.EqualTo(withoutToken.StatusCode), where + ": " + body);
                Assert.That(response.Headers.WwwAuthenticate.ToString(), Is.EqualTo(withoutToken.Headers.WwwAuthenticate.ToString()), where);
                Assert.That(body, Does.Not.Contain("sub"), where);
            });
        }
    }

    [Test]
    public async Task The_header_still_works_with_get_and_post_and_a_form_without_a_token()
    {
        var driver = NewBrowser();
        var tokens = await driver.SignInAndRedeemAsync(TestClient.CafFr, LouiseNir, DemoData.LouiseDubois.Password, "openid caf");

        Assert.That((await driver.UserInfoAsync(tokens.AccessToken)).StatusCode, Is.EqualTo(HttpStatusCode.OK), "GET");
        using var post = new HttpRequestMessage(HttpMethod.Post, "/connect/userinfo")
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string>()),
        };
        post.Headers.Authorization = new AuthenticationHeaderValue("Bearer", tokens.AccessToken);
        Assert.That((await Host.CreateClient().SendAsync(post)).StatusCode, Is.EqualTo(HttpStatusCode.OK), "POST with an empty form");
    }
}
