using System.Text.RegularExpressions;
using CafConnect.Browser.Tests.Support;
using CafConnect.IdP.Tests.Support;
using Microsoft.Playwright;

namespace CafConnect.Browser.Tests.Journeys;

/// <summary>
/// « Mon code confidentiel pour le téléphone » from « Mon compte » in a real browser (issue 16 item 8): the link, a code
/// refused by the legacy-code rules with its message tied to the field, the confirmation; axe-core on every state, both
/// widths, the screens for docs/screens/.
/// </summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
public sealed class PhoneCodeBrowserTests(StoreKind kind) : BrowserFixture(kind)
{
    [TestCase(DesktopWidth, "2 92 07 69 383 017", "Montagne4Nice")]
    [TestCase(NarrowWidth, "1 83 11 75 115 230", "Riviere7Lyon")]
    public async Task A_person_chooses_their_phone_code_from_Mon_compte(int width, string nir, string password)
    {
        await using var context = await NewContextAsync(width);
        var page = await context.NewPageAsync();
        await AuthorizationsBrowserTests.SignInToMonCompteAsync(page, nir, password);
        await page.GetByRole(AriaRole.Link, new() { Name = "Mon code confidentiel pour le téléphone" }).ClickAsync();
        await page.WaitForURLAsync(new Regex("/mon-compte/code-telephone$"));
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Mon code confidentiel pour le téléphone", Level = 1 })).ToBeVisibleAsync();
        await CheckAsync(page, "code-telephone", width);

        await page.GetByLabel("Mot de passe actuel").FillAsync(password);
        await page.GetByLabel("Nouveau code confidentiel").FillAsync("12345678");
        await page.GetByLabel("Confirmation du code confidentiel").FillAsync("12345678");
        await page.GetByRole(AriaRole.Button, new() { Name = "Enregistrer mon code" }).ClickAsync();
        await Assertions.Expect(page.Locator("#code-telephone-erreur")).ToHaveTextAsync("Le mot de passe ne peut pas être composé de 8 chiffres successifs.");
        await Assertions.Expect(page.Locator("#code-telephone")).ToHaveAttributeAsync("aria-invalid", "true");
        await CheckAsync(page, "code-telephone-erreur", width);

        await page.GetByLabel("Mot de passe actuel").FillAsync(password);
        await page.GetByLabel("Nouveau code confidentiel").FillAsync("47302918");
        await page.GetByLabel("Confirmation du code confidentiel").FillAsync("47302918");
        await page.Keyboard.PressAsync("Enter");
        await page.WaitForURLAsync(new Regex("/mon-compte/code-telephone\\?enregistre=true$"));
        await Assertions.Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync("Votre code confidentiel est enregistré.");
        await CheckAsync(page, "code-telephone-enregistre", width);
    }

    private async Task CheckAsync(IPage page, string name, int width)
    {
        await StepAndCheckAccessibilityAsync($"{name}-{width}", page);
        Assert.That(await HasHorizontalScrollAsync(page), Is.False, $"{name} scrolls horizontally at {width} px: {await WidestElementsAsync(page)}");
        await SaveScreenAsync(page, name, width);
    }
}
