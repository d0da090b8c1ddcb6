using System.Text.RegularExpressions;
using CafConnect.Browser.Tests.Support;
using CafConnect.IdP.Demo;
using CafConnect.IdP.Features.Shared;
using CafConnect.IdP.Tests.Support;
using Microsoft.Playwright;

namespace CafConnect.Browser.Tests.Journeys;

/// <summary>
/// « Gérer Mon Compte > Mes autorisations » (seed 004) in a real browser: Jeanne, holder of the DUPONT file, grants then
/// withdraws Marc's delegation; Marc, the partner, is refused in French. axe-core on each state.
/// </summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
public sealed class AuthorizationsBrowserTests(StoreKind kind) : BrowserFixture(kind)
{
    public const string JeanneNir = "2 85 03 75 112 048";
    public const string MarcNir = "1 83 11 75 115 230";
    public const string MarcLegend = "J'autorise Marc DUPONT à consulter les données du dossier et à réaliser les démarches.";

    /// <summary>Signs in at /connexion with no relying party; waits for « Mon compte ».</summary>
    public static async Task SignInToMonCompteAsync(IPage page, string nir, string password)
    {
        await page.GotoAsync("/connexion");
        await page.Locator("#identifiant").FillAsync(nir);
        await page.Locator("#mot-de-passe").FillAsync(password);
        await page.GetByRole(AriaRole.Button, new() { Name = "Se connecter", Exact = true }).ClickAsync();
        await page.WaitForURLAsync(new Regex("/mon-compte$"));
    }

    /// <summary>Answers the delegation question by clicking the label (DSFR draws the radio on it) and continues.</summary>
    public static async Task AnswerAsync(IPage page, bool grant)
    {
        var answer = grant ? "oui" : "non";
        await page.Locator($"label[for='delegation-0260311-{answer}']").ClickAsync();
        await Assertions.Expect(page.Locator($"#delegation-0260311-{answer}")).ToBeCheckedAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Continuer" }).ClickAsync();
        await page.WaitForURLAsync(new Regex(@"/mon-compte/autorisations\?modifie=0260311$"));
    }

    [Test]
    public async Task Jeanne_grants_then_withdraws_Marcs_delegation_from_Mon_compte()
    {
        await SignInToMonCompteAsync(Page, JeanneNir, DemoData.JeanneDupont.Password);
        await Assertions.Expect(Page.GetByRole(AriaRole.Heading, new() { Name = "Gérer Mon Compte" })).ToBeVisibleAsync();
        await Page.GetByRole(AriaRole.Link, new() { Name = "Mes autorisations" }).ClickAsync();
        await Page.WaitForURLAsync(new Regex("/mon-compte/autorisations$"));

        // Seeded answer: « Non ».
        await Assertions.Expect(Page.GetByRole(AriaRole.Heading, new() { Name = "Mes autorisations", Level = 1 })).ToBeVisibleAsync();
        await Assertions.Expect(Page).ToHaveTitleAsync(new Regex("^Mes autorisations"));
        var group = Page.GetByRole(AriaRole.Group, new() { Name = MarcLegend });
        await Assertions.Expect(group).ToBeVisibleAsync();
        await Assertions.Expect(group.GetByLabel("Non", new() { Exact = true })).ToBeCheckedAsync();
        await Assertions.Expect(Page.GetByText("Aujourd'hui, vous êtes seul à pouvoir consulter les données du dossier.")).ToBeVisibleAsync();
        await StepAndCheckAccessibilityAsync("autorisations");

        // Oui → Continuer: seed 004's confirmation, and the state as it now is.
        await AnswerAsync(Page, grant: true);
        var confirmation = Page.GetByRole(AriaRole.Status);
        await Assertions.Expect(confirmation).ToContainTextAsync(DelegationMessages.Granted);
        await Assertions.Expect(confirmation).ToContainTextAsync("Nous vous confirmons que votre conjoint est maintenant autorisé à consulter l'ensemble du dossier et à réaliser les démarches en ligne.");
        await Assertions.Expect(Page.GetByText("Aujourd'hui, Marc DUPONT peut consulter les données du dossier et réaliser les démarches.")).ToBeVisibleAsync();
        await Assertions.Expect(group.GetByLabel("Oui", new() { Exact = true })).ToBeCheckedAsync();
        await StepAndCheckAccessibilityAsync("autorisations-accordees");

        // Non → Continuer: withdrawn.
        await AnswerAsync(Page, grant: false);
        await Assertions.Expect(Page.GetByRole(AriaRole.Status)).ToContainTextAsync(DelegationMessages.Withdrawn);
        await Assertions.Expect(Page.GetByText("Aujourd'hui, vous êtes seul à pouvoir consulter les données du dossier.")).ToBeVisibleAsync();
        await Assertions.Expect(group.GetByLabel("Non", new() { Exact = true })).ToBeCheckedAsync();
        await StepAndCheckAccessibilityAsync("autorisations-retirees");

        // Back to « Mon compte ».
        await Page.GetByRole(AriaRole.Link, new() { Name = "Retour à Mon Compte" }).ClickAsync();
        await Page.WaitForURLAsync(new Regex("/mon-compte$"));
    }

    [Test]
    public async Task Marc_the_partner_gets_the_French_refusal_page()
    {
        await SignInToMonCompteAsync(Page, MarcNir, DemoData.MarcDupont.Password);
        await Assertions.Expect(Page.GetByRole(AriaRole.Link, new() { Name = "Mes autorisations" })).ToHaveCountAsync(0);

        var response = await Page.GotoAsync("/mon-compte/autorisations");
        Assert.That(response!.Status, Is.EqualTo(403));
        await Assertions.Expect(Page.GetByRole(AriaRole.Heading, new() { Name = "Cette page est réservée au responsable du dossier" })).ToBeVisibleAsync();
        await Assertions.Expect(Page.GetByText("Seul le responsable du dossier Caf (l'allocataire) vivant en couple peut autoriser son conjoint(e)")).ToBeVisibleAsync();
        await Assertions.Expect(Page.GetByRole(AriaRole.Radio)).ToHaveCountAsync(0);
        await StepAndCheckAccessibilityAsync("autorisations-refus");

        await Page.GetByRole(AriaRole.Link, new() { Name = "Retour à Mon Compte" }).ClickAsync();
        await Page.WaitForURLAsync(new Regex("/mon-compte$"));
    }
}
