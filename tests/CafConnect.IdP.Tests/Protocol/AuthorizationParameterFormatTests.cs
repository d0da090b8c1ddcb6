using System.Net;
using CafConnect.IdP.Demo;
using CafConnect.IdP.Tests.Support;

namespace CafConnect.IdP.Tests.Protocol;

/// <summary>
/// Parameters of the authorization request whose form the specifications fix (adversarial review, 6 December 2026,
/// seventh session): <c>max_age</c> is a non-negative number of seconds (Core §3.1.2.1) — <c>abc</c> was ignored and
/// answered with a code from the session; <c>code_challenge</c> is 43 to 128 characters of the unreserved set (RFC 7636
/// §4.2) — a 5-character one was accepted. Both are <c>invalid_request</c> to the client now
/// (<c>ProtocolHandlers.ParameterFormats</c>).
/// </summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
public sealed class AuthorizationParameterFormatTests(StoreKind kind) : StoreFixture(kind)
{
    private const string LouiseNir = "2920769383017";

    [TestCase("abc")]
    [TestCase("-1")]
    [TestCase("1.5")]
    [TestCase("+60")]
    [TestCase(" 60")]
    [TestCase("0x10")]
    public async Task A_max_age_that_is_not_a_number_of_seconds_is_an_invalid_request(string maxAge)
    {
        var driver = await SignedInAsync();
        var parameters = OidcDriver.AuthorizationParameters(TestClient.CafFr, Pkce.Create(), scope: "openid caf");
        parameters["max_age"] = maxAge;

        await AssertInvalidRequestAtTheClientAsync(await driver.AuthorizeAsync(parameters), "max_age");
    }

    [TestCase("0", false)]
    [TestCase("3600", true)]
    [TestCase("9223372036854775807", true)]
    [TestCase("99999999999999999999", true)]
    public async Task A_max_age_of_any_number_of_seconds_is_honoured_never_a_500(string maxAge, bool codeFromTheSession)
    {
        var driver = await SignedInAsync();
        var parameters = OidcDriver.AuthorizationParameters(TestClient.CafFr, Pkce.Create(), scope: "openid caf");
        parameters["max_age"] = maxAge;

        var response = await driver.AuthorizeAsync(parameters);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Redirect), await response.Content.ReadAsStringAsync());
        if (codeFromTheSession)
        {
            Assert.That(OidcDriver.ToAuthorizationResponse(response)["code"], Is.Not.Null, "a session younger than max_age answers at once");
        }
        else
        {
            Assert.That(response.Headers.Location!.AbsolutePath, Is.EqualTo("/connexion"), "max_age=0 asks a login");
        }
    }

    [TestCase(42, 'a', TestName = "A code_challenge of 42 characters is an invalid request")]
    [TestCase(129, 'a', TestName = "A code_challenge of 129 characters is an invalid request")]
    [TestCase(5, 'a', TestName = "A code_challenge of 5 characters is an invalid request")]
    [TestCase(43, '+', TestName = "A code_challenge with a character outside the unreserved set is an invalid request")]
    [TestCase(44, '=', TestName = "A code_challenge with base64 padding is an invalid request")]
    public async Task A_code_challenge_outside_RFC_7636_is_an_invalid_request(int length, char filler)
    {
        var driver = await SignedInAsync();
        var parameters = OidcDriver.AuthorizationParameters(TestClient.CafFr, Pkce.Create(), scope: "openid caf");
        parameters["code_challenge"] = new string('a', length - 1) + filler;

        await AssertInvalidRequestAtTheClientAsync(await driver.AuthorizeAsync(parameters), "code_challenge");
    }

    [TestCase(43)]
    [TestCase(128)]
    public async Task A_code_challenge_of_43_to_128_unreserved_characters_is_accepted(int length)
    {
        var driver = await SignedInAsync();
        var parameters = OidcDriver.AuthorizationParameters(TestClient.CafFr, Pkce.Create(), scope: "openid caf");
        parameters["code_challenge"] = string.Concat(Enumerable.Repeat("aZ09-._~", 16))[..length];

        var response = await driver.AuthorizeAsync(parameters);

        Assert.That(OidcDriver.ToAuthorizationResponse(response)["code"], Is.Not.Null);
    }

    private async Task<OidcDriver> SignedInAsync()
    {
        var driver = NewBrowser();
        // Louise is signed in: before the change a malformed request got a code at once.
        await driver.SignInAndRedeemAsync(TestClient.CafFr, LouiseNir, DemoData.LouiseDubois.Password, "openid caf");
        return driver;
    }

    private static async Task AssertInvalidRequestAtTheClientAsync(HttpResponseMessage response, string parameter)
    {
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Redirect), await response.Content.ReadAsStringAsync());
        var answer = OidcDriver.ToAuthorizationResponse(response);
        Assert.Multiple(() =>
        {
            Assert.That(answer.Location.GetLeftPart(UriPartial.Path), Is.EqualTo(TestClient.CafFr.RedirectUri), answer.Location.ToString());
            Assert.That(answer["code"], Is.Null, "no code");
            Assert.That(answer["error"], Is.EqualTo("invalid_request"));
            Assert.That(answer["error_description"], Does.Contain(parameter));
            Assert.That(answer["state"], Is.EqualTo("etat-123"));
        });
    }
}
