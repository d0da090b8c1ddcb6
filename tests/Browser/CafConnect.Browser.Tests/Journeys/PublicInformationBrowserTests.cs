using System.Text.RegularExpressions;
using CafConnect.Browser.Tests.Support;
using CafConnect.IdP.Tests.Support;
using Microsoft.Playwright;

namespace CafConnect.Browser.Tests.Journeys;

/// <summary>
/// The public-service pages (issue #16 item 7) and « Besoin d'aide ? » (item 6) in the browser: reached with the
/// keyboard alone from the footer, axe-core clean, readable at 320 px. (ScreensTests checks each page at both widths
/// and writes docs/screens/.)
/// </summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
public sealed class PublicInformationBrowserTests(StoreKind kind) : BrowserFixture(kind)
{
    /// <summary>The new address is enough (the heading check that follows waits for the content): no wait for every font and script.</summary>
    private static readonly PageWaitForURLOptions ArrivedAt = new() { WaitUntil = WaitUntilState.Commit };

    [Test]
    public async Task The_accessibility_statement_is_reached_from_the_footer_with_the_keyboard_and_its_links_follow()
    {
        await Page.GotoAsync("/connexion");
        await TabUntilAsync(Page, "a:Accessibilité : non conforme");
        await Page.Keyboard.PressAsync("Enter");
        await Page.WaitForURLAsync(new Regex("/accessibilite$"), ArrivedAt);
        await Assertions.Expect(Page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToHaveTextAsync("Déclaration d'accessibilité");
        await StepAndCheckAccessibilityAsync("accessibilite");

        // From one information page to the next, still with the keyboard: the footer of every page carries them all.
        foreach (var (link, path, heading) in new[]
        {
            ("Mentions légales", "/mentions-legales", "Mentions légales"),
            ("Données personnelles", "/donnees-personnelles", "Données personnelles"),
            ("Gestion des cookies", "/gestion-des-cookies", "Gestion des cookies"),
        })
        {
            await Page.Locator("footer").GetByRole(AriaRole.Link, new() { Name = link, Exact = true }).FocusAsync();
            Assert.That(await FocusedAsync(Page), Is.EqualTo("a:" + link));
            await Page.Keyboard.PressAsync("Enter");
            await Page.WaitForURLAsync(new Regex(Regex.Escape(path) + "$"), ArrivedAt);
            await Assertions.Expect(Page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToHaveTextAsync(heading);
            await StepAndCheckAccessibilityAsync(path.Trim('/'));
        }
    }

    [Test]
    public async Task The_help_block_is_reached_with_the_keyboard_and_fits_320_pixels()
    {
        await using var context = await NewContextAsync(NarrowWidth);
        var page = await context.NewPageAsync();
        await page.GotoAsync("/mot-de-passe-oublie");
        var help = page.Locator("#besoin-d-aide");
        await Assertions.Expect(help.GetByRole(AriaRole.Heading, new() { Name = "Besoin d'aide ?" })).ToBeVisibleAsync();
        await Assertions.Expect(help.GetByRole(AriaRole.Link, new() { Name = "0810 29 29 29" })).ToHaveAttributeAsync("href", "tel:+33810292929");
        await TabUntilAsync(page, "a:0810 29 29 29");
        await StepAndCheckAccessibilityAsync("mot-de-passe-oublie-aide-320", page);
        Assert.That(await HasHorizontalScrollAsync(page), Is.False, await WidestElementsAsync(page));
    }

    [Test]
    public async Task The_cookie_table_fits_320_pixels()
    {
        await using var context = await NewContextAsync(NarrowWidth);
        var page = await context.NewPageAsync();
        await page.GotoAsync("/gestion-des-cookies");
        await Assertions.Expect(page.Locator("#cookies")).ToContainTextAsync("cafconnect.session");
        await StepAndCheckAccessibilityAsync("gestion-des-cookies-320", page);
        Assert.That(await HasHorizontalScrollAsync(page), Is.False, await WidestElementsAsync(page));
    }
}
