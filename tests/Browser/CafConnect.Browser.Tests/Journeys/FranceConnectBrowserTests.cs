using System.Text.RegularExpressions;
using CafConnect.Browser.Tests.Support;
using CafConnect.IdP.Tests.Support;
using Microsoft.Playwright;

namespace CafConnect.Browser.Tests.Journeys;

/// <summary>
/// « S'identifier avec FranceConnect » in Chromium, against the FranceConnect stand-in (node oidc-provider) on a loopback
/// port: from a relying party to its callback, and the pages of a failed FranceConnect sign-in. Every CafConnect page is
/// checked with axe-core (the stand-in's own pages are not CafConnect's and are not checked).
/// </summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
public sealed class FranceConnectBrowserTests(StoreKind kind) : BrowserFixture(kind)
{
    private FranceConnectStandIn? _standIn;

    protected override async Task<LiveHost> StartHostAsync()
    {
        // The stand-in must know CafConnect's redirect URIs before CafConnect knows the stand-in: a fixed port for the host.
        var hostPort = FranceConnectStandIn.FreePort();
        _standIn = await FranceConnectStandIn.StartAsync(
            [$"http://127.0.0.1:{hostPort}/franceconnect/retour"], [$"http://127.0.0.1:{hostPort}/franceconnect/deconnexion/retour"], hostPort);
        return LiveHost.Start(Kind, _standIn.Settings(), hostPort);
    }

    [OneTimeTearDown]
    public async Task StopStandInAsync()
    {
        if (_standIn is not null)
        {
            await _standIn.DisposeAsync();
        }
    }

    private string AuthorizePath(Pkce pkce, string state, string nonce) =>
        "/connect/authorize" + OidcDriver.QueryString(OidcDriver.AuthorizationParameters(Host.RelyingParty, pkce, state: state, nonce: nonce));

    private ILocator FranceConnectButton => Page.GetByRole(AriaRole.Button, new() { Name = "S’identifier avec FranceConnect" });

    /// <summary>At the stand-in: the identity whose label starts with <paramref name="label"/>, then a button.</summary>
    private async Task ChooseAtFranceConnectAsync(string label, string button = "Se connecter")
    {
        await Page.WaitForURLAsync(new Regex("/interaction/"));
        await StepAsync("franceconnect-simulateur");
        await Page.GetByLabel(new Regex("^" + Regex.Escape(label))).CheckAsync();
        await Page.GetByRole(AriaRole.Button, new() { Name = button }).ClickAsync();
    }

    [Test]
    public async Task Jeanne_signs_in_with_FranceConnect_from_a_relying_party_and_the_code_redeems_to_her_userinfo()
    {
        var pkce = Pkce.Create();
        var callback = await RelyingPartyCallback.InstallAsync(Page, Host.RelyingParty);
        await Page.GotoAsync(AuthorizePath(pkce, "etat-fc", "nonce-fc"));
        Assert.That(new Uri(Page.Url).AbsolutePath, Is.EqualTo("/connexion"));

        await Assertions.Expect(FranceConnectButton).ToBeVisibleAsync();
        var information = Page.GetByRole(AriaRole.Link, new() { Name = "Qu’est-ce que FranceConnect ?" });
        await Assertions.Expect(information).ToHaveAttributeAsync("href", "https://franceconnect.gouv.fr/");
        await Assertions.Expect(information).ToHaveAttributeAsync("target", "_blank");
        await StepAndCheckAccessibilityAsync("connexion-franceconnect");
        await SaveScreenAsync(Page, "connexion-franceconnect", DesktopWidth);
        await Page.SetViewportSizeAsync(NarrowWidth, 900);
        Assert.That(await HasHorizontalScrollAsync(Page), Is.False, await WidestElementsAsync(Page));
        await StepAndCheckAccessibilityAsync("connexion-franceconnect-320");
        await SaveScreenAsync(Page, "connexion-franceconnect", NarrowWidth);
        await Page.SetViewportSizeAsync(DesktopWidth, 900);

        await FranceConnectButton.ClickAsync();
        await ChooseAtFranceConnectAsync("Jeanne Marie DUPONT");

        var parameters = await callback.ParametersAsync();
        Assert.That(parameters.GetValueOrDefault("state"), Is.EqualTo("etat-fc"));
        Assert.That(parameters.GetValueOrDefault("iss"), Is.EqualTo(Host.BaseAddress.ToString()));
        var userInfo = await RelyingPartyCallback.RedeemAndReadUserInfoAsync(Host, Host.RelyingParty, parameters["code"], pkce, "nonce-fc");
        Assert.That(userInfo.GetProperty("given_name").GetString(), Is.EqualTo("Jeanne"));
        Assert.That(userInfo.GetProperty("family_name").GetString(), Is.EqualTo("DUPONT"));
    }

    [Test]
    public async Task An_identity_unknown_to_the_Caf_reaches_the_accessible_no_match_page_with_the_keyboard_only()
    {
        await Page.GotoAsync(AuthorizePath(Pkce.Create(), "etat-inconnu", "nonce-inconnu"));
        // Keyboard only: Tab to the FranceConnect button, Enter.
        await TabUntilAsync(Page, "button:S’identifier avec FranceConnect");
        await Page.Keyboard.PressAsync("Enter");
        await ChooseAtFranceConnectAsync("Lucie BERNARD");

        await Page.WaitForURLAsync(new Regex("/franceconnect/compte-non-trouve"));
        await Assertions.Expect(Page.GetByRole(AriaRole.Heading, new() { Name = "Nous n'avons pas pu vous connecter avec FranceConnect", Level = 1 })).ToBeVisibleAsync();
        await StepAndCheckAccessibilityAsync("franceconnect-compte-non-trouve");
        await SaveScreenAsync(Page, "franceconnect-compte-non-trouve", DesktopWidth);
        await Page.SetViewportSizeAsync(NarrowWidth, 900);
        Assert.That(await HasHorizontalScrollAsync(Page), Is.False, await WidestElementsAsync(Page));
        await SaveScreenAsync(Page, "franceconnect-compte-non-trouve", NarrowWidth);

        // « Se connecter avec mes identifiants Caf » goes back to the login page with the pending request.
        await Page.GetByRole(AriaRole.Link, new() { Name = "Se connecter avec mes identifiants Caf" }).ClickAsync();
        await Page.WaitForURLAsync(new Regex(@"/connexion\?returnUrl=%2Fconnect%2Fauthorize"));
    }

    [Test]
    public async Task Cancelling_at_FranceConnect_shows_the_accessible_french_error_page()
    {
        await Page.GotoAsync(AuthorizePath(Pkce.Create(), "etat-annule", "nonce-annule"));
        await FranceConnectButton.ClickAsync();
        await ChooseAtFranceConnectAsync("Jeanne Marie DUPONT", "Annuler et revenir au service");

        await Page.WaitForURLAsync(new Regex("/franceconnect/erreur"));
        await Assertions.Expect(Page.GetByRole(AriaRole.Heading, new() { Name = "Connexion avec FranceConnect annulée", Level = 1 })).ToBeVisibleAsync();
        await Assertions.Expect(Page.GetByRole(AriaRole.Alert)).ToContainTextAsync("Aucune information n'a été transmise");
        await StepAndCheckAccessibilityAsync("franceconnect-erreur");
        await SaveScreenAsync(Page, "franceconnect-erreur", DesktopWidth);
        await Page.SetViewportSizeAsync(NarrowWidth, 900);
        Assert.That(await HasHorizontalScrollAsync(Page), Is.False, await WidestElementsAsync(Page));
        await SaveScreenAsync(Page, "franceconnect-erreur", NarrowWidth);
    }
}
