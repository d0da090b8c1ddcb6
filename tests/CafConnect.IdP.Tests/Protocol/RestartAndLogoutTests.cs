using System.Net;
using CafConnect.IdP.Demo;
using CafConnect.IdP.Protocol;
using CafConnect.IdP.Tests.Support;
using CafConnect.Infrastructure.Keys;
using Microsoft.Extensions.DependencyInjection;

namespace CafConnect.IdP.Tests.Protocol;

/// <summary>Tests that start, stop and restart hosts on one store: each test has its own store.</summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
public sealed class RestartAndLogoutTests(StoreKind kind)
{
    private TestStore _store = null!;

    [SetUp]
    public void CreateStore() => _store = TestStore.Create(kind);

    [TearDown]
    public async Task DropStore()
    {
        if (_store is not null)
        {
            await _store.DisposeAsync();
        }
    }

    [Test]
    public async Task Refresh_token_issued_before_a_restart_still_works_after_it()
    {
        TokenSet tokens;
        await using (var before = new CafConnectFactory(_store))
        {
            tokens = await new OidcDriver(before.CreateBrowser()).SignInAndRedeemAsync(TestClient.CafFr, "2850375112048", DemoData.JeanneDupont.Password);
        }

        await using var after = new CafConnectFactory(_store);
        var driver = new OidcDriver(after.CreateBrowser());
        var refreshed = await OidcDriver.ReadTokensAsync(await driver.RefreshAsync(TestClient.CafFr, tokens.RefreshToken!));
        var before_ = await driver.ValidateIdTokenAsync(tokens.IdToken, "caf-fr");
        var after_ = await driver.ValidateIdTokenAsync(refreshed.IdToken, "caf-fr");

        Assert.That(after_.Subject, Is.EqualTo(before_.Subject));
        Assert.That((await driver.UserInfoAsync(refreshed.AccessToken)).StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    [Test]
    public async Task Two_instances_on_one_store_share_keys_and_sessions()
    {
        await using var first = new CafConnectFactory(_store);
        await using var second = new CafConnectFactory(_store);
        var firstDriver = new OidcDriver(first.CreateBrowser());
        var pkce = Pkce.Create();
        var authorization = await firstDriver.SignInAsync(OidcDriver.AuthorizationParameters(TestClient.CafFr, pkce), "2850375112048", DemoData.JeanneDupont.Password);

        // The code issued by one instance is redeemed at the other; the tokens are then used at the first.
        var tokens = await OidcDriver.ReadTokensAsync(await new OidcDriver(second.CreateBrowser()).RedeemCodeAsync(TestClient.CafFr, authorization["code"]!, pkce.Verifier));
        await firstDriver.ValidateIdTokenAsync(tokens.IdToken, "caf-fr");
        Assert.That((await firstDriver.UserInfoAsync(tokens.AccessToken)).StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    [Test]
    public async Task After_key_rotation_new_tokens_use_the_new_key_and_the_old_key_stays_published()
    {
        TokenSet tokens;
        string oldKid;
        await using (var before = new CafConnectFactory(_store))
        {
            var driver = new OidcDriver(before.CreateBrowser());
            tokens = await driver.SignInAndRedeemAsync(TestClient.CafFr, "2850375112048", DemoData.JeanneDupont.Password);
            oldKid = (await driver.ValidateIdTokenAsync(tokens.IdToken, "caf-fr")).Kid;
            using var scope = before.Services.CreateScope();
            await scope.ServiceProvider.GetRequiredService<TokenKeyStore>().RotateAsync(use: null);
        }

        await using var after = new CafConnectFactory(_store);
        var afterDriver = new OidcDriver(after.CreateBrowser());
        var refreshed = await OidcDriver.ReadTokensAsync(await afterDriver.RefreshAsync(TestClient.CafFr, tokens.RefreshToken!));
        var newKid = (await afterDriver.ValidateIdTokenAsync(refreshed.IdToken, "caf-fr")).Kid;
        var jwks = await afterDriver.Browser.GetStringAsync("/.well-known/jwks");

        Assert.Multiple(() =>
        {
            Assert.That(newKid, Is.Not.EqualTo(oldKid), "the new key signs");
            Assert.That(jwks, Does.Contain(oldKid).And.Contain(newKid), "both keys are published");
        });
    }

    [Test]
    public async Task Logout_with_id_token_hint_ends_the_session_and_returns_to_the_registered_uri()
    {
        await using var host = new CafConnectFactory(_store);
        var driver = new OidcDriver(host.CreateBrowser());
        var tokens = await driver.SignInAndRedeemAsync(TestClient.CafFr, "2850375112048", DemoData.JeanneDupont.Password);

        var logout = await driver.Browser.GetAsync(ProtocolEndpoints.EndSessionPath + OidcDriver.QueryString(new Dictionary<string, string?>
        {
            ["id_token_hint"] = tokens.IdToken,
            ["post_logout_redirect_uri"] = TestClient.CafFr.PostLogoutRedirectUri,
            ["state"] = "retour-42",
        }));

        Assert.That(logout.StatusCode, Is.EqualTo(HttpStatusCode.Redirect));
        Assert.That(logout.Headers.Location!.ToString(), Is.EqualTo(TestClient.CafFr.PostLogoutRedirectUri + "?state=retour-42"));
        var again = await driver.AuthorizeAsync(OidcDriver.AuthorizationParameters(TestClient.CafFr, Pkce.Create()));
        Assert.That(again.Headers.Location!.AbsolutePath, Is.EqualTo("/connexion"), "the session is gone");
    }

    [Test]
    public async Task Logout_with_the_hint_of_a_session_already_ended_asks_and_keeps_the_current_session()
    {
        await using var host = new CafConnectFactory(_store);
        var driver = new OidcDriver(host.CreateBrowser());
        var ended = await driver.SignInAndRedeemAsync(TestClient.CafFr, "2850375112048", DemoData.JeanneDupont.Password);
        var firstLogout = await driver.Browser.GetAsync(ProtocolEndpoints.EndSessionPath + OidcDriver.QueryString(new Dictionary<string, string?>
        {
            ["id_token_hint"] = ended.IdToken,
            ["post_logout_redirect_uri"] = TestClient.CafFr.PostLogoutRedirectUri,
        }));
        Assert.That(firstLogout.Headers.Location!.ToString(), Does.StartWith(TestClient.CafFr.PostLogoutRedirectUri!), "the first session ends as usual");
        var current = await driver.SignInAndRedeemAsync(TestClient.CafFr, "2850375112048", DemoData.JeanneDupont.Password);

        // The ID token of the session she already left, replayed in the browser of her new one.
        var stale = await driver.Browser.GetAsync(ProtocolEndpoints.EndSessionPath + OidcDriver.QueryString(new Dictionary<string, string?>
        {
            ["id_token_hint"] = ended.IdToken,
            ["post_logout_redirect_uri"] = TestClient.CafFr.PostLogoutRedirectUri,
            ["state"] = "evil",
        }));

        Assert.That(stale.StatusCode, Is.EqualTo(HttpStatusCode.Redirect));
        Assert.That(stale.Headers.Location!.OriginalString, Is.EqualTo("/deconnexion"), "asked, never sent to the relying party with the state");
        var confirmation = await (await driver.Browser.GetAsync("/deconnexion")).Content.ReadAsStringAsync();
        Assert.That(confirmation, Does.Contain("Voulez-vous vous déconnecter"));
        var stillSignedIn = await driver.AuthorizeAsync(OidcDriver.AuthorizationParameters(TestClient.CafFr, Pkce.Create()));
        Assert.That(stillSignedIn.Headers.Location!.ToString(), Does.StartWith(TestClient.CafFr.RedirectUri), "the current session is alive");

        // The current session's own hint still ends it at once and returns to the relying party.
        var logout = await driver.Browser.GetAsync(ProtocolEndpoints.EndSessionPath + OidcDriver.QueryString(new Dictionary<string, string?>
        {
            ["id_token_hint"] = current.IdToken,
            ["post_logout_redirect_uri"] = TestClient.CafFr.PostLogoutRedirectUri,
            ["state"] = "retour-43",
        }));
        Assert.That(logout.Headers.Location!.ToString(), Is.EqualTo(TestClient.CafFr.PostLogoutRedirectUri + "?state=retour-43"));
        var again = await driver.AuthorizeAsync(OidcDriver.AuthorizationParameters(TestClient.CafFr, Pkce.Create()));
        Assert.That(again.Headers.Location!.AbsolutePath, Is.EqualTo("/connexion"), "the session is gone");
    }

    [Test]
    public async Task Logout_to_an_unregistered_uri_is_refused_without_redirect()
    {
        await using var host = new CafConnectFactory(_store);
        var driver = new OidcDriver(host.CreateBrowser());
        var tokens = await driver.SignInAndRedeemAsync(TestClient.CafFr, "2850375112048", DemoData.JeanneDupont.Password);

        var logout = await driver.Browser.GetAsync(ProtocolEndpoints.EndSessionPath + OidcDriver.QueryString(new Dictionary<string, string?>
        {
            ["id_token_hint"] = tokens.IdToken,
            ["post_logout_redirect_uri"] = "https://evil.example/",
        }));

        Assert.That(logout.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(logout.Headers.Location, Is.Null);
    }

    [Test]
    public async Task Logout_without_id_token_hint_asks_the_person_and_never_follows_the_redirect()
    {
        await using var host = new CafConnectFactory(_store);
        var driver = new OidcDriver(host.CreateBrowser());
        await driver.SignInAndRedeemAsync(TestClient.CafFr, "2850375112048", DemoData.JeanneDupont.Password);

        var logout = await driver.Browser.GetAsync(ProtocolEndpoints.EndSessionPath + "?post_logout_redirect_uri=" + Uri.EscapeDataString(TestClient.CafFr.PostLogoutRedirectUri!));
        Assert.That(logout.Headers.Location!.OriginalString, Is.EqualTo("/deconnexion"));

        var confirmation = await driver.Browser.GetAsync("/deconnexion");
        var form = OidcDriver.LoginForm(await confirmation.Content.ReadAsStringAsync());
        var confirmed = await driver.Browser.PostAsync(form.Action, new FormUrlEncodedContent(new Dictionary<string, string> { ["__RequestVerificationToken"] = form.Token }));
        Assert.That(confirmed.Headers.Location!.OriginalString, Is.EqualTo("/deconnexion/terminee"));

        var again = await driver.AuthorizeAsync(OidcDriver.AuthorizationParameters(TestClient.CafFr, Pkce.Create()));
        Assert.That(again.Headers.Location!.AbsolutePath, Is.EqualTo("/connexion"), "the session is gone");
    }
}
