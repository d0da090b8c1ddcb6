using System.Text;
using System.Text.RegularExpressions;
using CafConnect.Browser.Tests.Support;
using CafConnect.IdP.Demo;
using CafConnect.IdP.Tests.Support;
using Microsoft.Playwright;

namespace CafConnect.Browser.Tests.Journeys;

/// <summary>
/// Every main screen at 1280 px and at 320 px: WCAG 2.1 AA (axe-core), no horizontal scroll. With
/// CAFCONNECT_UPDATE_SCREENS=1 the same visit also writes the gallery under docs/screens/ (from the SQLite run).
/// </summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
public sealed class ScreensTests(StoreKind kind) : BrowserFixture(kind)
{
    private sealed record Screen(string Name, string Title, string Description);

    private static readonly Screen[] Gallery =
    [
        new("connexion", "Connexion", "La page de connexion avec le numéro de Sécurité sociale (NIR) et le mot de passe."),
        new("connexion-erreur", "Connexion en erreur", "Après un mot de passe erroné : le message d'erreur en tête du formulaire."),
        new("connexion-provisoire", "Connexion avec un identifiant provisoire", "Le formulaire atteint par le lien « J'ai un identifiant provisoire »."),
        new("mon-compte", "Mon compte", "La page d'arrivée d'une personne connectée sans service en ligne, avec ses dossiers."),
        new("deconnexion", "Confirmation de la déconnexion", "La déconnexion demandée sans jeton d'identité (/deconnexion) : la personne confirme."),
        new("deconnecte", "Déconnecté", "La page qui confirme la fin de la session."),
        new("erreur", "Page d'erreur", "Une demande de connexion d'un service inconnu : la raison en français, jamais de redirection."),
    ];

    [TestCase(DesktopWidth)]
    [TestCase(NarrowWidth)]
    public async Task Main_screens_are_accessible_and_fit_the_width(int width)
    {
        await using var context = await NewContextAsync(width);
        var page = await context.NewPageAsync();

        await page.GotoAsync("/connexion");
        await CheckAsync(page, "connexion", width);

        await page.Locator("#identifiant").FillAsync("2 85 03 75 112 048");
        await page.Locator("#mot-de-passe").FillAsync("Mauvais9Passe");
        await page.GetByRole(AriaRole.Button, new() { Name = "Se connecter", Exact = true }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("incorrect");
        await CheckAsync(page, "connexion-erreur", width);

        await page.GotoAsync("/connexion?mode=provisoire");
        await CheckAsync(page, "connexion-provisoire", width);

        await page.GotoAsync("/connexion");
        await page.Locator("#identifiant").FillAsync("1 83 11 75 115 230");
        await page.Locator("#mot-de-passe").FillAsync(DemoData.MarcDupont.Password);
        await page.GetByRole(AriaRole.Button, new() { Name = "Se connecter", Exact = true }).ClickAsync();
        await page.WaitForURLAsync(new Regex("/mon-compte$"));
        await CheckAsync(page, "mon-compte", width);

        await page.GotoAsync("/deconnexion");
        await Assertions.Expect(page.GetByRole(AriaRole.Button, new() { Name = "Me déconnecter" })).ToBeVisibleAsync();
        await CheckAsync(page, "deconnexion", width);

        await page.GetByRole(AriaRole.Button, new() { Name = "Me déconnecter" }).ClickAsync();
        await page.WaitForURLAsync(new Regex("/deconnexion/terminee$"));
        await CheckAsync(page, "deconnecte", width);

        await page.GotoAsync("/connect/authorize?client_id=service-inconnu&redirect_uri=http%3A%2F%2F127.0.0.1%3A5000%2Fdemo%2Fcallback&response_type=code&scope=openid");
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToHaveTextAsync("La demande de connexion n'a pas pu aboutir");
        await CheckAsync(page, "erreur", width);

        if (UpdatingScreens && Kind == StoreKind.Sqlite && width == NarrowWidth)
        {
            await WriteGalleryReadmeAsync();
        }
    }

    private async Task CheckAsync(IPage page, string name, int width)
    {
        await StepAndCheckAccessibilityAsync($"{name}-{width}", page);
        Assert.That(await HasHorizontalScrollAsync(page), Is.False, $"{name} scrolls horizontally at {width} px");
        await SaveScreenAsync(page, name, width);
    }

    private static async Task WriteGalleryReadmeAsync()
    {
        var text = new StringBuilder()
            .AppendLine("# Écrans de CafConnect")
            .AppendLine()
            .AppendLine("Captures des écrans principaux, en 1280 px (ordinateur) et en 320 px (petit téléphone), prises par les tests de navigateur")
            .AppendLine("(Chromium sans interface, comptes de démonstration). Chaque écran y passe aussi le contrôle axe-core WCAG 2.1 AA et")
            .AppendLine("la vérification « pas de défilement horizontal ».")
            .AppendLine()
            .AppendLine("Pour les régénérer : `CAFCONNECT_UPDATE_SCREENS=1 dotnet test tests/Browser/CafConnect.Browser.Tests --filter FullyQualifiedName~ScreensTests`.")
            .AppendLine()
            .AppendLine("| Écran | Description | 1280 px | 320 px |")
            .AppendLine("| --- | --- | --- | --- |");
        foreach (var screen in Gallery)
        {
            text.AppendLine($"| {screen.Title} | {screen.Description} | [{screen.Name}-1280.png]({screen.Name}-1280.png) | [{screen.Name}-320.png]({screen.Name}-320.png) |");
        }
        await File.WriteAllTextAsync(Path.Combine(RepositoryPaths.Screens, "README.md"), text.ToString());
    }
}
