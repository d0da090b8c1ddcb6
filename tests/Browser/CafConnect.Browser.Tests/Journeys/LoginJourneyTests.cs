using System.Text.RegularExpressions;
using CafConnect.Browser.Tests.Support;
using CafConnect.IdP.Demo;
using CafConnect.IdP.Tests.Support;
using Microsoft.Playwright;

namespace CafConnect.Browser.Tests.Journeys;

/// <summary>What a person does in a real browser (Debian's Chromium), with an axe-core WCAG 2.1 AA check on every page and error state.</summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
public sealed class LoginJourneyTests(StoreKind kind) : BrowserFixture(kind)
{
    private const string JeanneNir = "2 85 03 75 112 048";
    private const string WrongCredentials = "Le numéro de Sécurité sociale ou le mot de passe est incorrect.";

    private ILocator IdentifierField => Page.Locator("#identifiant");
    private ILocator PasswordField => Page.Locator("#mot-de-passe");
    private ILocator SubmitButton => Page.GetByRole(AriaRole.Button, new() { Name = "Se connecter", Exact = true });

    private static string AuthorizePath(TestClient client, Pkce pkce, string state, string nonce) =>
        "/connect/authorize" + OidcDriver.QueryString(OidcDriver.AuthorizationParameters(client, pkce, state: state, nonce: nonce));

    [Test]
    public async Task Native_login_with_a_NIR_from_a_relying_party_returns_a_code_the_relying_party_redeems()
    {
        // The one browser journey on the seeded caf-fr client, as Development configures it (redirect URI on port 5000).
        // Robust to whatever port 5000 holds (nothing, a developer's `dotnet run`, a server that never answers): the
        // callback's URL is read as the browser starts the request, the submission does not wait for that navigation to
        // finish, and the page is then taken off it. Every other journey uses Host.RelyingParty, on the host's own port.
        var pkce = Pkce.Create();
        var callback = await RelyingPartyCallback.InstallAsync(Page, TestClient.CafFr);

        await Page.GotoAsync(AuthorizePath(TestClient.CafFr, pkce, "etat-navigateur", "nonce-navigateur"));
        Assert.That(new Uri(Page.Url).AbsolutePath, Is.EqualTo("/connexion"), "the authorization request sends to the login page");
        await Assertions.Expect(Page).ToHaveTitleAsync(new Regex("^Connexion"));
        await Assertions.Expect(Page.GetByRole(AriaRole.Heading, new() { Name = "Connexion", Level = 1 })).ToBeVisibleAsync();
        await StepAndCheckAccessibilityAsync("connexion");

        await Page.GetByLabel("Numéro de Sécurité sociale").FillAsync(JeanneNir);
        await Assertions.Expect(PasswordField).ToHaveAccessibleNameAsync(new Regex("^Mot de passe"));
        await PasswordField.FillAsync(DemoData.JeanneDupont.Password);
        await StepAsync("connexion-remplie");
        // Enter on the focused button: page.Keyboard, unlike a locator's click, does not wait for the navigation it starts.
        await SubmitButton.FocusAsync();
        await Page.Keyboard.PressAsync("Enter");

        var parameters = await callback.ParametersAsync();
        await callback.LeaveAsync(Page);
        Assert.Multiple(() =>
        {
            Assert.That(parameters.GetValueOrDefault("code"), Is.Not.Null.And.Not.Empty, "code");
            Assert.That(parameters.GetValueOrDefault("state"), Is.EqualTo("etat-navigateur"), "state");
            Assert.That(parameters.GetValueOrDefault("iss"), Is.EqualTo(Host.BaseAddress.ToString()), "RFC 9207 iss");
        });

        var userInfo = await RelyingPartyCallback.RedeemAndReadUserInfoAsync(Host, TestClient.CafFr, parameters["code"], pkce, "nonce-navigateur");
        Assert.That(userInfo.GetProperty("given_name").GetString(), Is.EqualTo("Jeanne"));
    }

    [Test]
    public async Task Login_with_a_provisional_identifier_through_its_link_keeps_the_authorization_request()
    {
        var pkce = Pkce.Create();
        var callback = await RelyingPartyCallback.InstallAsync(Page, Host.RelyingParty);
        await Page.GotoAsync(AuthorizePath(Host.RelyingParty, pkce, "etat-provisoire", "nonce-provisoire"));

        await Page.GetByRole(AriaRole.Link, new() { Name = "J'ai un identifiant provisoire" }).ClickAsync();
        await Page.WaitForURLAsync(new Regex("mode=provisoire"));
        Assert.That(Page.Url, Does.Contain("returnUrl="), "the authorization request survives the switch");
        await Assertions.Expect(Page.GetByText("Se connecter avec son identifiant provisoire")).ToBeVisibleAsync();
        await StepAndCheckAccessibilityAsync("connexion-provisoire");

        await Page.GetByLabel("Identifiant provisoire").FillAsync(DemoData.AminaDiallo.ProvisionalId!);
        await PasswordField.FillAsync(DemoData.AminaDiallo.Password);
        await SubmitButton.ClickAsync();

        var parameters = await callback.ParametersAsync();
        Assert.That(parameters.GetValueOrDefault("state"), Is.EqualTo("etat-provisoire"));
        var userInfo = await RelyingPartyCallback.RedeemAndReadUserInfoAsync(Host, Host.RelyingParty, parameters["code"], pkce, "nonce-provisoire");
        Assert.That(userInfo.GetProperty("given_name").GetString(), Is.EqualTo("Amina"));
    }

    [Test]
    public async Task Wrong_password_and_missing_fields_show_French_errors_tied_to_their_fields()
    {
        await Page.GotoAsync("/connexion");
        await StepAndCheckAccessibilityAsync("connexion");

        await IdentifierField.FillAsync(JeanneNir);
        await PasswordField.FillAsync("Mauvais9Passe");
        await SubmitButton.ClickAsync();
        var alert = Page.GetByRole(AriaRole.Alert);
        await Assertions.Expect(alert).ToContainTextAsync("La connexion n'a pas abouti");
        await Assertions.Expect(alert).ToContainTextAsync(WrongCredentials);
        await Assertions.Expect(PasswordField).ToHaveValueAsync("", new() { Timeout = 2000 });
        Assert.That(new Uri(Page.Url).AbsolutePath, Is.EqualTo("/connexion"), "no session, still on the login page");
        await StepAndCheckAccessibilityAsync("erreur-mot-de-passe");

        // Nothing typed: each field says what is missing, and the field points to its message.
        await IdentifierField.FillAsync("");
        await PasswordField.FillAsync("");
        await SubmitButton.ClickAsync();
        await Assertions.Expect(Page.Locator("#mot-de-passe-erreur")).ToHaveTextAsync("Saisissez votre mot de passe.");
        await Assertions.Expect(Page.Locator("#identifiant-erreur")).ToBeVisibleAsync();
        await Assertions.Expect(PasswordField).ToHaveAttributeAsync("aria-invalid", "true");
        await Assertions.Expect(PasswordField).ToHaveAttributeAsync("aria-describedby", new Regex("mot-de-passe-erreur"));
        await Assertions.Expect(IdentifierField).ToHaveAttributeAsync("aria-describedby", new Regex("identifiant-erreur"));
        await StepAndCheckAccessibilityAsync("erreur-champs-vides");

        // The provisional form has its own wording.
        await Page.GotoAsync("/connexion?mode=provisoire");
        await IdentifierField.FillAsync(DemoData.AminaDiallo.ProvisionalId!);
        await PasswordField.FillAsync("Mauvais9Passe");
        await SubmitButton.ClickAsync();
        await Assertions.Expect(Page.GetByRole(AriaRole.Alert)).ToContainTextAsync("L'identifiant provisoire ou le mot de passe est incorrect.");
        await StepAndCheckAccessibilityAsync("erreur-provisoire");
    }

    [Test]
    public async Task Direct_login_lands_on_Mon_compte_and_Se_deconnecter_signs_out()
    {
        await LogInDirectlyAsJeanneAsync();

        await Assertions.Expect(Page.GetByText("Bonjour Jeanne DUPONT")).ToBeVisibleAsync();
        await Assertions.Expect(Page.GetByText("Dossier n° 0260311")).ToBeVisibleAsync();
        await StepAndCheckAccessibilityAsync("mon-compte");

        await Page.GetByRole(AriaRole.Button, new() { Name = "Se déconnecter" }).ClickAsync();
        await Page.WaitForURLAsync(new Regex("/deconnexion/terminee$"));
        await Assertions.Expect(Page.GetByRole(AriaRole.Heading, new() { Name = "Vous êtes déconnecté", Level = 1 })).ToBeVisibleAsync();
        await StepAndCheckAccessibilityAsync("deconnecte");

        // The session is really gone.
        await Page.GotoAsync("/mon-compte");
        Assert.That(new Uri(Page.Url).AbsolutePath, Is.EqualTo("/connexion"));
        await StepAsync("mon-compte-sans-session");
    }

    [Test]
    public async Task After_Se_deconnecter_the_Back_button_shows_no_page_of_Mon_compte_again()
    {
        // A shared computer: the next person presses « Précédent » after the holder logged out. The pages are sent
        // no-store, so Chromium neither keeps them in its back/forward cache nor in its HTTP cache: going back asks the
        // server again, which has no session any more (docs/security.md, "Browser-side attacks").
        await LogInDirectlyAsJeanneAsync();
        await Assertions.Expect(Page.GetByText("Dossier n° 0260311")).ToBeVisibleAsync();
        await Page.GetByRole(AriaRole.Button, new() { Name = "Se déconnecter" }).ClickAsync();
        await Page.WaitForURLAsync(new Regex("/deconnexion/terminee$"));

        var back = await Page.GoBackAsync();

        Assert.That(back, Is.Not.Null, "« Précédent » reached the server: the page was not restored from the back/forward cache");
        Assert.That(back!.FromServiceWorker, Is.False);
        Assert.That(new Uri(Page.Url).AbsolutePath, Is.EqualTo("/connexion"), "« Mon compte » asked again, without a session");
        await Assertions.Expect(Page.GetByText("Bonjour Jeanne DUPONT")).Not.ToBeVisibleAsync();
        await Assertions.Expect(Page.GetByText("0260311")).Not.ToBeVisibleAsync();
    }

    /// <summary>Jeanne logs in at /connexion, no relying party: she lands on « Mon compte ».</summary>
    private async Task LogInDirectlyAsJeanneAsync()
    {
        await Page.GotoAsync("/connexion");
        await IdentifierField.FillAsync(JeanneNir);
        await PasswordField.FillAsync(DemoData.JeanneDupont.Password);
        await SubmitButton.ClickAsync();
        await Page.WaitForURLAsync(new Regex("/mon-compte$"));
    }

    [Test]
    public async Task Whole_native_login_with_the_keyboard_only()
    {
        var pkce = Pkce.Create();
        var callback = await RelyingPartyCallback.InstallAsync(Page, Host.RelyingParty);
        await Page.GotoAsync(AuthorizePath(Host.RelyingParty, pkce, "etat-clavier", "nonce-clavier"));

        // First stop: the skip link to the content, which moves the keyboard to the form.
        await Page.Keyboard.PressAsync("Tab");
        Assert.That(await FocusedAsync(Page), Is.EqualTo("a:Contenu"), "the first Tab reaches the skip link");
        await Page.Keyboard.PressAsync("Enter");
        await StepAsync("lien-evitement");

        var path = await TabUntilAsync(Page, "input#identifiant");
        await Page.Keyboard.TypeAsync(JeanneNir);
        await TabUntilAsync(Page, "input#se-souvenir", path);
        await Page.Keyboard.PressAsync("Space");
        Assert.That(await Page.Locator("#se-souvenir").IsCheckedAsync(), Is.True, "Space ticks « Se souvenir de moi »");
        await TabUntilAsync(Page, "input#mot-de-passe", path);
        await Page.Keyboard.TypeAsync(DemoData.JeanneDupont.Password);
        await TabUntilAsync(Page, "button:Se connecter", path);
        await StepAsync("formulaire-au-clavier");
        await Page.Keyboard.PressAsync("Enter");

        var parameters = await callback.ParametersAsync();
        Assert.That(parameters.GetValueOrDefault("code"), Is.Not.Null.And.Not.Empty, "signed in with the keyboard alone; Tab order: " + string.Join(" → ", path));
        var userInfo = await RelyingPartyCallback.RedeemAndReadUserInfoAsync(Host, Host.RelyingParty, parameters["code"], pkce, "nonce-clavier");
        Assert.That(userInfo.GetProperty("given_name").GetString(), Is.EqualTo("Jeanne"));
    }

    [Test]
    public async Task At_320_px_the_login_page_has_no_horizontal_scroll()
    {
        await using var narrow = await NewContextAsync(NarrowWidth);
        var page = await narrow.NewPageAsync();

        foreach (var (name, address) in new[] { ("connexion", "/connexion"), ("connexion-provisoire", "/connexion?mode=provisoire") })
        {
            await page.GotoAsync(address);
            await StepAndCheckAccessibilityAsync(name + "-320", page);
            Assert.That(await HasHorizontalScrollAsync(page), Is.False, $"{address} scrolls horizontally at 320 px: {await WidestElementsAsync(page)}");
        }

        // The error state, with its longer texts, too.
        await page.Locator("#identifiant").FillAsync(JeanneNir);
        await page.Locator("#mot-de-passe").FillAsync("Mauvais9Passe");
        await page.GetByRole(AriaRole.Button, new() { Name = "Se connecter", Exact = true }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Alert)).ToBeVisibleAsync();
        await StepAndCheckAccessibilityAsync("erreur-320", page);
        Assert.That(await HasHorizontalScrollAsync(page), Is.False, $"the error state scrolls horizontally at 320 px: {await WidestElementsAsync(page)}");
    }
}
