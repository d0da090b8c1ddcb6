using System.Text.RegularExpressions;
using CafConnect.Browser.Tests.Support;
using CafConnect.IdP.Demo;
using CafConnect.IdP.Tests.Support;
using Microsoft.Playwright;

namespace CafConnect.Browser.Tests.Journeys;

/// <summary>
/// « Changer mon mot de passe » from « Mon compte » in a real browser (issue 16 item 1): the link, the live checklist, the
/// errors tied to their fields, the confirmation; axe-core on every state, both widths, the screens for docs/screens/.
/// </summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
public sealed class ChangePasswordBrowserTests(StoreKind kind) : BrowserFixture(kind)
{
    [TestCase(DesktopWidth, "2 92 07 69 383 017", "Montagne4Nice", "Lavande6Arles")]
    [TestCase(NarrowWidth, "1 83 11 75 115 230", "Riviere7Lyon", "Garrigue5Nimes")]
    public async Task A_person_changes_their_password_from_Mon_compte_and_stays_signed_in(int width, string nir, string current, string next)
    {
        await using var context = await NewContextAsync(width);
        var page = await context.NewPageAsync();
        await AuthorizationsBrowserTests.SignInToMonCompteAsync(page, nir, current);
        await page.GetByRole(AriaRole.Link, new() { Name = "Changer mon mot de passe" }).ClickAsync();
        await page.WaitForURLAsync(new Regex("/mon-compte/mot-de-passe$"));
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Changer mon mot de passe", Level = 1 })).ToBeVisibleAsync();
        await CheckAsync(page, "changer-mot-de-passe", width);

        await page.Locator("#mot-de-passe-actuel").FillAsync("Mauvais9Passe");
        await page.Locator("#nouveau-mot-de-passe").FillAsync(next);
        await page.Locator("#confirmation-mot-de-passe").FillAsync(next);
        await page.GetByRole(AriaRole.Button, new() { Name = "Valider" }).ClickAsync();
        await Assertions.Expect(page.Locator("#mot-de-passe-actuel-erreur")).ToHaveTextAsync("Le mot de passe actuel est incorrect.");
        await Assertions.Expect(page.Locator("#mot-de-passe-actuel")).ToHaveAttributeAsync("aria-invalid", "true");
        await CheckAsync(page, "changer-mot-de-passe-erreur", width);

        await page.Locator("#mot-de-passe-actuel").FillAsync(current);
        await page.Locator("#nouveau-mot-de-passe").FillAsync(next);
        await page.Locator("#confirmation-mot-de-passe").FillAsync(next);
        await page.GetByRole(AriaRole.Button, new() { Name = "Valider" }).ClickAsync();
        await page.WaitForURLAsync(new Regex("/mon-compte/mot-de-passe\\?modifie=true$"));
        await Assertions.Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync("Votre mot de passe a été modifié.");
        await CheckAsync(page, "changer-mot-de-passe-modifie", width);

        await page.GotoAsync("/mon-compte");
        await Assertions.Expect(page).ToHaveURLAsync(new Regex("/mon-compte$"), new() { Timeout = 5000 });
    }

    private async Task CheckAsync(IPage page, string name, int width)
    {
        await StepAndCheckAccessibilityAsync($"{name}-{width}", page);
        Assert.That(await HasHorizontalScrollAsync(page), Is.False, $"{name} scrolls horizontally at {width} px: {await WidestElementsAsync(page)}");
        await SaveScreenAsync(page, name, width);
    }
}
