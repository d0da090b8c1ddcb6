using System.Text.RegularExpressions;
using CafConnect.Browser.Tests.Support;
using CafConnect.IdP.Demo;
using CafConnect.IdP.Tests.Support;
using Microsoft.Playwright;

namespace CafConnect.Browser.Tests.Journeys;

/// <summary>
/// In a real browser: a logout link with an ID token hint that does not validate asks « Voulez-vous vous déconnecter ? »
/// and never reaches the relying party; an unusable return URL after a correct login lands on « Mon compte ».
/// </summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
public sealed class SessionConfusionBrowserTests(StoreKind kind) : BrowserFixture(kind)
{
    private async Task SignInAsync(string returnUrlQuery = "")
    {
        await Page.GotoAsync("/connexion" + returnUrlQuery);
        await Page.Locator("#identifiant").FillAsync(DemoData.JeanneDupont.Nir!);
        await Page.Locator("#mot-de-passe").FillAsync(DemoData.JeanneDupont.Password);
        await Page.GetByRole(AriaRole.Button, new() { Name = "Se connecter", Exact = true }).ClickAsync();
        await Assertions.Expect(Page).ToHaveURLAsync(new Regex("/mon-compte$"));
    }

    [Test]
    public async Task Logout_link_with_an_invalid_id_token_hint_asks_and_never_reaches_the_relying_party()
    {
        await SignInAsync();

        await Page.GotoAsync("/connect/endsession" + OidcDriver.QueryString(new Dictionary<string, string?>
        {
            ["id_token_hint"] = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJuJ2ltcG9ydGUtcXVpIn0.",
            ["post_logout_redirect_uri"] = TestClient.CafFr.PostLogoutRedirectUri,
            ["state"] = "etat-choisi-par-un-tiers",
        }));

        Assert.That(new Uri(Page.Url).AbsolutePath, Is.EqualTo("/deconnexion"));
        await Assertions.Expect(Page.GetByText("Voulez-vous vous déconnecter de Mon Compte ?")).ToBeVisibleAsync();
        await StepAndCheckAccessibilityAsync("deconnexion-confirmation");

        await Page.GetByRole(AriaRole.Button, new() { Name = "Me déconnecter" }).ClickAsync();
        await Assertions.Expect(Page).ToHaveURLAsync(new Regex("/deconnexion/terminee$"));
        await Assertions.Expect(Page.GetByRole(AriaRole.Heading, new() { Name = "Vous êtes déconnecté", Level = 1 })).ToBeVisibleAsync();
        await StepAndCheckAccessibilityAsync("deconnecte");
    }

    [Test]
    public async Task Unusable_return_url_lands_on_Mon_compte_after_a_correct_login()
    {
        await SignInAsync("?returnUrl=/%E3%80%80/evil.com");

        await Assertions.Expect(Page.GetByText("Bonjour Jeanne DUPONT")).ToBeVisibleAsync();
        await StepAndCheckAccessibilityAsync("mon-compte");
    }
}
