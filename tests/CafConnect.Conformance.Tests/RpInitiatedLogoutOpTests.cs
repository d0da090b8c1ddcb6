using System.Net;
using CafConnect.Conformance.Tests.Support;
using CafConnect.IdP.Tests.Support;

namespace CafConnect.Conformance.Tests;

/// <summary>
/// The OpenID Foundation's « RP-Initiated Logout OP » plan (RP-Initiated Logout 1.0 §2–3): the provider follows
/// post_logout_redirect_uri only for an ID token hint it issued, to the client it was issued to, for the person signed
/// in. Anything else is treated like no hint: « Voulez-vous vous déconnecter ? », the session kept until the person
/// answers, and no redirect.
/// </summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
public sealed class RpInitiatedLogoutOp(StoreKind kind) : ConformanceFixture(kind)
{
    private const string Confirmation = "/deconnexion";

    [TestCase(TestName = "oidcc-rp-initiated-logout")]
    public async Task Logout_with_a_valid_hint_ends_the_session_and_returns_with_the_state()
    {
        var driver = NewBrowser();
        var tokens = await SignInAsync(driver, Jeanne);

        var logout = await EndSessionAsync(driver, new Dictionary<string, string?>
        {
            ["id_token_hint"] = tokens.IdToken,
            ["post_logout_redirect_uri"] = TestClient.CafFr.PostLogoutRedirectUri,
            ["state"] = "etat-logout",
        });

        Assert.That(logout.StatusCode, Is.EqualTo(HttpStatusCode.Redirect));
        Assert.That(logout.Headers.Location!.OriginalString, Is.EqualTo(TestClient.CafFr.PostLogoutRedirectUri + "?state=etat-logout"));
        Assert.That(await IsSignedInAsync(driver), Is.False, "the session ended");
    }

    [TestCase(TestName = "oidcc-rp-initiated-logout-no-state")]
    public async Task Logout_without_state_returns_without_state()
    {
        var driver = NewBrowser();
        var tokens = await SignInAsync(driver, Jeanne);

        var logout = await EndSessionAsync(driver, new Dictionary<string, string?>
        {
            ["id_token_hint"] = tokens.IdToken,
            ["post_logout_redirect_uri"] = TestClient.CafFr.PostLogoutRedirectUri,
        });

        Assert.That(logout.Headers.Location!.OriginalString, Is.EqualTo(TestClient.CafFr.PostLogoutRedirectUri));
    }

    [TestCase(TestName = "oidcc-rp-initiated-logout-no-post-logout-redirect-uri")]
    public async Task Logout_without_uri_ends_on_our_page()
    {
        var driver = NewBrowser();
        var tokens = await SignInAsync(driver, Jeanne);

        var logout = await EndSessionAsync(driver, new Dictionary<string, string?> { ["id_token_hint"] = tokens.IdToken, ["state"] = "etat" });

        Assert.That(logout.Headers.Location!.OriginalString, Is.EqualTo("/deconnexion/terminee"));
        Assert.That(await IsSignedInAsync(driver), Is.False);
    }

    /// <summary>A hint signed by a key that is not the provider's, or not a token at all.</summary>
    [TestCase("another-key", TestName = "oidcc-rp-initiated-logout-bad-id-token-hint")]
    [TestCase("garbage", TestName = "oidcc-rp-initiated-logout-bad-id-token-hint (not a JWT)")]
    // A copy of a real ID token made "alg": "none", or with its payload changed under the original signature.
    [TestCase("alg-none", TestName = "oidcc-rp-initiated-logout-modified-id-token-hint")]
    [TestCase("payload", TestName = "oidcc-rp-initiated-logout-modified-id-token-hint (payload changed)")]
    public async Task Invalid_hint_is_treated_like_no_hint(string forgery)
    {
        var driver = NewBrowser();
        var tokens = await SignInAsync(driver, Jeanne);
        var hint = forgery switch
        {
            "another-key" => SignedByAnotherKey(tokens.IdToken),
            "alg-none" => WithAlgNone(tokens.IdToken),
            "payload" => WithModifiedPayload(tokens.IdToken, "aud", TestClient.Aripa.ClientId),
            _ => "x",
        };

        var logout = await EndSessionAsync(driver, new Dictionary<string, string?>
        {
            ["id_token_hint"] = hint,
            ["post_logout_redirect_uri"] = TestClient.CafFr.PostLogoutRedirectUri,
            ["state"] = "etat-choisi-par-un-tiers",
        });

        await AssertAskedWithoutRedirectAsync(driver, logout, TestClient.CafFr.PostLogoutRedirectUri);
    }

    [TestCase(TestName = "oidcc-rp-initiated-logout-no-id-token-hint")]
    public async Task No_hint_asks_and_never_redirects()
    {
        var driver = NewBrowser();
        await SignInAsync(driver, Jeanne);

        var logout = await EndSessionAsync(driver, new Dictionary<string, string?>
        {
            ["client_id"] = TestClient.CafFr.ClientId,
            ["post_logout_redirect_uri"] = TestClient.CafFr.PostLogoutRedirectUri,
            ["state"] = "etat",
        });

        await AssertAskedWithoutRedirectAsync(driver, logout, TestClient.CafFr.PostLogoutRedirectUri);
    }

    [TestCase(TestName = "oidcc-rp-initiated-logout-no-params")]
    public async Task No_parameters_asks()
    {
        var driver = NewBrowser();
        await SignInAsync(driver, Jeanne);

        await AssertAskedWithoutRedirectAsync(driver, await EndSessionAsync(driver, new Dictionary<string, string?>()), TestClient.CafFr.PostLogoutRedirectUri);
    }

    [TestCase(TestName = "oidcc-rp-initiated-logout-only-state")]
    public async Task Only_state_asks()
    {
        var driver = NewBrowser();
        await SignInAsync(driver, Jeanne);

        await AssertAskedWithoutRedirectAsync(driver, await EndSessionAsync(driver, new Dictionary<string, string?> { ["state"] = "etat" }), TestClient.CafFr.PostLogoutRedirectUri);
    }

    [TestCase("https://evil.example/", TestName = "oidcc-rp-initiated-logout-bad-post-logout-redirect-uri")]
    [TestCase("http://127.0.0.1:5000/demo?ajout=1", TestName = "oidcc-rp-initiated-logout-query-added-to-post-logout-redirect-uri")]
    [TestCase("http://127.0.0.1:5100/signout-callback-oidc", TestName = "oidcc-rp-initiated-logout-bad-post-logout-redirect-uri (another client's)")]
    public async Task Uri_not_registered_for_the_hints_client_is_refused_without_redirect(string uri)
    {
        var driver = NewBrowser();
        var tokens = await SignInAsync(driver, Jeanne);

        var logout = await EndSessionAsync(driver, new Dictionary<string, string?>
        {
            ["id_token_hint"] = tokens.IdToken,
            ["post_logout_redirect_uri"] = uri,
            ["state"] = "etat",
        });

        Assert.That(logout.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(logout.Headers.Location, Is.Null);
        Assert.That(await IsSignedInAsync(driver), Is.True, "nothing ended");
    }

    [TestCase(TestName = "oidcc-rp-initiated-logout (client_id of another client)")]
    public async Task Client_id_other_than_the_hints_audience_is_refused_without_redirect()
    {
        var driver = NewBrowser();
        var tokens = await SignInAsync(driver, Jeanne);

        var logout = await EndSessionAsync(driver, new Dictionary<string, string?>
        {
            ["id_token_hint"] = tokens.IdToken,
            ["client_id"] = TestClient.Aripa.ClientId,
            ["post_logout_redirect_uri"] = TestClient.Aripa.PostLogoutRedirectUri,
        });

        Assert.That(logout.Headers.Location, Is.Null);
        Assert.That(await IsSignedInAsync(driver), Is.True);
    }

    /// <summary>Security issue, item 6: Louise's own valid ID token, sent to Jeanne's browser.</summary>
    [TestCase(TestName = "cafconnect-rp-initiated-logout-another-persons-id-token-hint")]
    public async Task Another_persons_hint_never_ends_the_session_without_asking()
    {
        var louise = await SignInAsync(NewBrowser(), Louise);
        var driver = NewBrowser();
        await SignInAsync(driver, Jeanne);

        var logout = await EndSessionAsync(driver, new Dictionary<string, string?>
        {
            ["id_token_hint"] = louise.IdToken,
            ["post_logout_redirect_uri"] = TestClient.CafFr.PostLogoutRedirectUri,
            ["state"] = "etat",
        });

        await AssertAskedWithoutRedirectAsync(driver, logout, TestClient.CafFr.PostLogoutRedirectUri);
    }

    /// <summary>Sent to « Voulez-vous vous déconnecter ? », still signed in, and the question leads nowhere else.</summary>
    private static async Task AssertAskedWithoutRedirectAsync(OidcDriver driver, HttpResponseMessage logout, string? postLogoutRedirectUri)
    {
        AssertNotRedirectedTo(logout, postLogoutRedirectUri);
        Assert.That(logout.StatusCode, Is.EqualTo(HttpStatusCode.Redirect));
        Assert.That(logout.Headers.Location!.OriginalString, Is.EqualTo(Confirmation));
        Assert.That(await IsSignedInAsync(driver), Is.True, "the session is not ended without asking");

        var page = await driver.Browser.GetAsync(Confirmation);
        var html = await page.Content.ReadAsStringAsync();
        Assert.That(System.Net.WebUtility.HtmlDecode(html), Does.Contain("Voulez-vous vous déconnecter"));
        var form = OidcDriver.LoginForm(html);
        var confirmed = await driver.Browser.PostAsync(form.Action, new FormUrlEncodedContent(new Dictionary<string, string> { ["__RequestVerificationToken"] = form.Token }));
        Assert.That(confirmed.Headers.Location!.OriginalString, Is.EqualTo("/deconnexion/terminee"), "the person's answer ends on our page, never the relying party's");
        Assert.That(await IsSignedInAsync(driver), Is.False);
    }
}
