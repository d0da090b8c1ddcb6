using System.Text;
using System.Text.RegularExpressions;
using CafConnect.Browser.Tests.Support;
using CafConnect.IdP.Demo;
using CafConnect.IdP.Features.Shared;
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
        new("premiere-connexion", "Première connexion : accueil", "« Votre connexion à « Mon Compte » change ! » : après une connexion avec le code confidentiel du dossier, les étapes annoncées (4 pour Paul, responsable d'un dossier en couple, qui répond aussi à « Mes autorisations » ; 3 pour Sophie)."),
        new("premiere-connexion-conditions", "Première connexion : conditions générales", "Étape 1 (sur 4 ou 3) : le texte des conditions générales d'utilisation et la case à cocher pour les accepter."),
        new("premiere-connexion-conditions-erreur", "Première connexion : conditions non acceptées", "« Continuer » sans avoir coché la case : le message d'erreur en tête de page et sous la case."),
        new("premiere-connexion-mot-de-passe", "Première connexion : choix du mot de passe", "Étape 2 : les règles du mot de passe personnel et la liste qui se coche pendant la saisie."),
        new("premiere-connexion-mot-de-passe-erreur", "Première connexion : mot de passe refusé", "Un mot de passe trop faible : chaque règle non respectée est expliquée sous le champ."),
        new("premiere-connexion-coordonnees", "Première connexion : coordonnées de contact", "Étape 3 : le choix du SMS ou du mail pour recevoir le code, pré-rempli avec le numéro du dossier."),
        new("premiere-connexion-verification", "Première connexion : vérification du code", "La saisie du code à 6 chiffres reçu par SMS, avec les liens pour en demander un nouveau ou modifier ses coordonnées."),
        new("premiere-connexion-verification-erreur", "Première connexion : code mal saisi", "Un code qui n'a pas 6 chiffres : le message d'erreur lié au champ."),
        new("mot-de-passe-oublie", "Mot de passe oublié : identifiant", "Atteint par le lien « Mot de passe oublié ? » de la page de connexion : la saisie du numéro de Sécurité sociale ou de l'identifiant provisoire."),
        new("mot-de-passe-oublie-code", "Mot de passe oublié : code de vérification", "La saisie du code à 6 chiffres envoyé aux coordonnées vérifiées du compte, avec les liens pour en demander un nouveau par SMS ou par mail."),
        new("mot-de-passe-oublie-code-erreur", "Mot de passe oublié : code mal saisi", "Un code qui n'a pas 6 chiffres : le message d'erreur en tête de page et sous le champ."),
        new("mot-de-passe-oublie-nouveau-mot-de-passe", "Mot de passe oublié : nouveau mot de passe", "Après le code vérifié : les règles du mot de passe personnel et la liste qui se coche pendant la saisie."),
        new("mot-de-passe-oublie-nouveau-mot-de-passe-erreur", "Mot de passe oublié : mot de passe refusé", "Un mot de passe trop faible : chaque règle non respectée est expliquée sous le champ."),
        new("mot-de-passe-oublie-courrier", "Mot de passe oublié : envoi par courrier", "La même page pour un compte sans coordonnées vérifiées (Karim BENALI) : rien ne révèle le compte, et un mot de passe provisoire, valable 2 mois, part par courrier."),
        new("identifiant-provisoire-oublie", "Identifiant provisoire oublié", "Atteint par le lien « Identifiant provisoire oublié ? » : l'état civil et l'adresse mail ou le téléphone portable vérifié du compte."),
        new("identifiant-provisoire-oublie-erreur", "Identifiant provisoire oublié : champs manquants", "« Recevoir mon identifiant » sans rien saisir : un message sous chaque champ et le récapitulatif en tête de page."),
        new("identifiant-provisoire-oublie-envoye", "Identifiant provisoire oublié : demande enregistrée", "La confirmation, identique, que le compte existe ou non : l'identifiant n'est jamais affiché à l'écran."),
        new("mes-autorisations", "Mes autorisations", "Gérer Mon Compte > Mes autorisations, pour Jeanne DUPONT, responsable du dossier : Marc DUPONT n'est pas autorisé (« Non »)."),
        new("mes-autorisations-accordees", "Mes autorisations : autorisation accordée", "Après « Oui » puis « Continuer » : le message de confirmation et le nouvel état du dossier."),
        new("creer-mon-compte", "Créer Mon Compte", "Atteint par le bouton « Créer Mon Compte » de la page de connexion : le choix avec ou sans numéro de Sécurité sociale."),
        new("creer-mon-compte-avec-nir", "Créer mon compte avec mon numéro de Sécurité sociale", "Le numéro de Sécurité sociale et l'état civil tel qu'il figure sur la carte Vitale ; aucune coordonnée n'est saisie : celles connues de la Caf sont proposées ensuite."),
        new("creer-mon-compte-avec-nir-refus", "Créer mon compte : identité non vérifiée", "La même réponse pour un numéro inconnu et pour un état civil différent, avec le lien pour créer son compte sans numéro de Sécurité sociale."),
        new("creer-mon-compte-sans-nir", "Créer mon compte sans numéro de Sécurité sociale", "Civilité, état civil, pays et ville de naissance (et les parents en cas de naissance à l'étranger), code postal et coordonnées de contact."),
        new("creer-mon-compte-sans-nir-erreur", "Créer mon compte sans numéro : champs manquants", "« Continuer » sans rien saisir : un message sous chaque champ et le récapitulatif en tête de page."),
        new("creer-mon-compte-reception-du-code", "Créer mon compte : recevoir mon code de vérification", "Après une correspondance complète de l'état civil : le portable et l'adresse mail connus de la Caf, masqués comme à la première connexion (« par SMS au 06******95 », « par mail à i***@example.fr »), au choix ; rien d'autre ne peut recevoir le code."),
        new("creer-mon-compte-verification-avec-nir", "Créer mon compte avec mon numéro : vérification du code", "Le code envoyé aux coordonnées connues de la Caf choisies, affichées masquées, avec le lien pour le recevoir autrement."),
        new("creer-mon-compte-verification", "Créer mon compte : vérification du code", "Le code à 6 chiffres envoyé aux coordonnées saisies : rien n'est créé avant."),
        new("creer-mon-compte-recapitulatif", "Récapitulatif de ma création de compte", "« Mon identifiant : P… Conservez bien cet identifiant » et l'état civil déclaré ; l'identifiant est aussi envoyé par SMS ou par mail."),
        new("creer-mon-compte-rejoindre-dossier", "Rejoindre le dossier … ?", "Après le code vérifié, pour une personne invitée par le responsable d'un dossier : elle choisit de rejoindre ce dossier ou non, une invitation à la fois ; rien n'est rattaché sans sa réponse."),
        new("changer-mot-de-passe", "Changer mon mot de passe", "Depuis « Mon compte » : le mot de passe actuel, le nouveau avec la liste des règles qui se coche en direct, et l'avis que les autres connexions seront fermées."),
        new("changer-mot-de-passe-erreur", "Changer mon mot de passe : mot de passe actuel incorrect", "Le message lié au champ du mot de passe actuel (chaque essai compte comme un mot de passe erroné)."),
        new("changer-mot-de-passe-modifie", "Changer mon mot de passe : modifié", "La confirmation : la personne reste connectée sur cet appareil, ses autres connexions sont fermées."),
        // Written by PhoneCodeBrowserTests.
        new("code-telephone", "Mon code confidentiel pour le téléphone", "Depuis « Mon compte » : le mot de passe actuel, puis un code personnel à 8 chiffres et sa confirmation, avec les règles du code confidentiel ; avec le numéro de Sécurité sociale, il donne au serveur vocal les seuls droits de la personne."),
        new("code-telephone-erreur", "Mon code confidentiel : code refusé", "Un code de 8 chiffres qui se suivent : le message lié au champ du code."),
        new("code-telephone-enregistre", "Mon code confidentiel : enregistré", "La confirmation, avec la façon de s'en servir au téléphone."),
        new("creer-mon-compte-courrier", "Créer mon compte : code d'activation par courrier", "Avec un numéro de Sécurité sociale dont le dossier ne contient ni portable ni adresse mail : aucun code n'est envoyé aux coordonnées saisies, un code d'activation part par courrier ; les autres moyens (code confidentiel du dossier, FranceConnect) sont rappelés à tous."),
        new("creer-mon-compte-compte-existant", "Vous avez déjà un compte", "Après une correspondance complète de l'état civil avec un compte existant : les liens pour se connecter ou retrouver son mot de passe."),
        new("mon-foyer", "Mon foyer", "Gérer Mon Compte > Mon foyer, pour Louise DUBOIS, responsable du dossier : les membres et l'invitation d'un membre de 16 ans et plus."),
        new("mon-foyer-erreur", "Mon foyer : invitation incomplète", "« Envoyer l'invitation » sans rien saisir : les messages sous chaque champ."),
        new("mes-autorisations-refus", "Mes autorisations : page réservée au responsable", "Marc DUPONT, conjoint, ouvre la page : l'explication en français (accès refusé, code 403)."),
        // Written by FranceConnectBrowserTests (FranceConnect on, against its stand-in), not by this fixture.
        new("connexion-franceconnect", "Connexion avec FranceConnect", "La page de connexion quand FranceConnect est activé : le bouton officiel « S’identifier avec FranceConnect » et le lien « Qu’est-ce que FranceConnect ? »."),
        new("franceconnect-compte-non-trouve", "FranceConnect : compte non trouvé", "L'identité transmise par FranceConnect ne correspond de manière certaine à aucun compte : se connecter avec ses identifiants Caf ou créer son compte, sans rien révéler d'autre."),
        new("franceconnect-erreur", "FranceConnect : connexion annulée", "La connexion annulée sur FranceConnect (ou une réponse refusée) : la raison en français, jamais d'erreur technique."),
        // The pages every public online service must have, linked from every footer (Public_information_screens_…).
        new("accessibilite", "Déclaration d'accessibilité", "RGAA 4.1 : l'état de conformité (non conforme, faute d'audit), ce qui est vérifié automatiquement, les non-conformités connues, le contact et les voies de recours."),
        new("mentions-legales", "Mentions légales", "L'éditeur, le directeur de la publication, l'hébergeur et la ligne d'aide."),
        new("donnees-personnelles", "Données personnelles", "Le responsable du traitement, les finalités, la base légale, les durées de conservation (tirées de la configuration) et les droits."),
        // Written by ServiceUnavailableBrowserTests (Redis unreachable), not by this fixture.
        new("service-indisponible", "Service momentanément indisponible", "Un service partagé (Redis, PostgreSQL) est injoignable : la page 503 en français, avec le délai avant de réessayer, jamais d'erreur technique."),
        new("gestion-des-cookies", "Gestion des cookies", "Chaque cookie déposé, son rôle et sa durée, et pourquoi aucun bandeau de consentement n'est nécessaire."),
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

    /// <summary>
    /// The first-login journey ("la bascule"), every step and error state. One person of the Martin household per width
    /// (the journey changes the account): Paul at 1280 px, Sophie at 320 px.
    /// </summary>
    [TestCase(DesktopWidth, FirstLoginBrowserTests.PaulNir)]
    [TestCase(NarrowWidth, FirstLoginBrowserTests.SophieNir)]
    public async Task First_login_screens_are_accessible_and_fit_the_width(int width, string nir)
    {
        await using var context = await NewContextAsync(width);
        var page = await context.NewPageAsync();

        await page.GotoAsync("/connexion");
        await FirstLoginBrowserTests.SignInWithLegacyCodeAsync(page, nir);
        await CheckAsync(page, "premiere-connexion", width);

        await page.GetByRole(AriaRole.Button, new() { Name = "Commencer" }).ClickAsync();
        await page.WaitForURLAsync(new Regex("/premiere-connexion/conditions"));
        await CheckAsync(page, "premiere-connexion-conditions", width);

        await page.GetByRole(AriaRole.Button, new() { Name = "Continuer" }).ClickAsync();
        await Assertions.Expect(page.Locator("#cgu-erreur")).ToBeVisibleAsync();
        await CheckAsync(page, "premiere-connexion-conditions-erreur", width);

        await page.Locator("label[for=cgu-acceptees]").ClickAsync();
        await Assertions.Expect(page.Locator("#cgu-acceptees")).ToBeCheckedAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Continuer" }).ClickAsync();
        await page.WaitForURLAsync(new Regex("/premiere-connexion/mot-de-passe"));
        await CheckAsync(page, "premiere-connexion-mot-de-passe", width);

        await page.Locator("#nouveau-mot-de-passe").FillAsync("motdepasse");
        await page.Locator("#confirmation-mot-de-passe").FillAsync("motdepasse");
        await page.GetByRole(AriaRole.Button, new() { Name = "Valider" }).ClickAsync();
        await Assertions.Expect(page.Locator("#nouveau-mot-de-passe-erreur")).ToBeVisibleAsync();
        await CheckAsync(page, "premiere-connexion-mot-de-passe-erreur", width);

        await page.Locator("#nouveau-mot-de-passe").FillAsync(FirstLoginBrowserTests.NewPassword);
        await page.Locator("#confirmation-mot-de-passe").FillAsync(FirstLoginBrowserTests.NewPassword);
        await page.GetByRole(AriaRole.Button, new() { Name = "Valider" }).ClickAsync();
        await page.WaitForURLAsync(new Regex("/premiere-connexion/coordonnees"));
        await CheckAsync(page, "premiere-connexion-coordonnees", width);

        await page.GetByRole(AriaRole.Button, new() { Name = "Envoyer le code" }).ClickAsync();
        await page.WaitForURLAsync(new Regex("/premiere-connexion/verification"));
        await CheckAsync(page, "premiere-connexion-verification", width);

        // Five digits: an error whatever the code sent (no chance of typing the right one).
        await page.Locator("#code-verification").FillAsync("12345");
        await page.GetByRole(AriaRole.Button, new() { Name = "Valider" }).ClickAsync();
        await Assertions.Expect(page.Locator("#code-verification-erreur")).ToHaveTextAsync("Le code de vérification comporte 6 chiffres.");
        await CheckAsync(page, "premiere-connexion-verification-erreur", width);
    }

    /// <summary>
    /// « Mot de passe oublié ? » and « Identifiant provisoire oublié ? », every step and error state. The new password is
    /// never submitted, so no account changes; still one person with a verified mobile per width (Jeanne DUPONT at
    /// 1280 px, Louise DUBOIS at 320 px), so that the code read on /dev/messages is the one of this visit.
    /// </summary>
    [TestCase(DesktopWidth, RecoveryBrowserTests.JeanneNir, RecoveryBrowserTests.JeanneMobile)]
    [TestCase(NarrowWidth, "2 92 07 69 383 017", "+33615000003")]
    public async Task Recovery_screens_are_accessible_and_fit_the_width(int width, string nir, string mobile)
    {
        await using var context = await NewContextAsync(width);
        var page = await context.NewPageAsync();

        await page.GotoAsync("/connexion");
        await page.GetByRole(AriaRole.Link, new() { Name = "Mot de passe oublié ?" }).ClickAsync();
        await page.WaitForURLAsync(new Regex("/mot-de-passe-oublie$"));
        await CheckAsync(page, "mot-de-passe-oublie", width);

        await RecoveryBrowserTests.StartRecoveryAsync(page, nir);
        await CheckAsync(page, "mot-de-passe-oublie-code", width);

        await page.Locator("#code-verification").FillAsync("12345");
        await page.GetByRole(AriaRole.Button, new() { Name = "Valider" }).ClickAsync();
        await Assertions.Expect(page.Locator("#code-verification-erreur")).ToHaveTextAsync("Le code de vérification comporte 6 chiffres.");
        await CheckAsync(page, "mot-de-passe-oublie-code-erreur", width);

        await page.Locator("#code-verification").FillAsync(await ReadCodeFromDevMessagesAsync(mobile, page));
        await page.GetByRole(AriaRole.Button, new() { Name = "Valider" }).ClickAsync();
        await page.WaitForURLAsync(new Regex("/mot-de-passe-oublie/nouveau-mot-de-passe"));
        await CheckAsync(page, "mot-de-passe-oublie-nouveau-mot-de-passe", width);

        await page.Locator("#nouveau-mot-de-passe").FillAsync("motdepasse");
        await page.Locator("#confirmation-mot-de-passe").FillAsync("motdepasse");
        await page.GetByRole(AriaRole.Button, new() { Name = "Valider" }).ClickAsync();
        await Assertions.Expect(page.Locator("#nouveau-mot-de-passe-erreur")).ToBeVisibleAsync();
        await CheckAsync(page, "mot-de-passe-oublie-nouveau-mot-de-passe-erreur", width);

        // Karim BENALI has no verified contact: the letter path (his provisional password is re-sent at most once a day).
        await page.GotoAsync("/mot-de-passe-oublie");
        await RecoveryBrowserTests.StartRecoveryAsync(page, RecoveryBrowserTests.KarimNir);
        await Assertions.Expect(page.GetByText("lui sera envoyé par courrier")).ToBeVisibleAsync();
        await CheckAsync(page, "mot-de-passe-oublie-courrier", width);

        await page.GotoAsync("/connexion?mode=provisoire");
        await page.GetByRole(AriaRole.Link, new() { Name = "Identifiant provisoire oublié ?" }).ClickAsync();
        await page.WaitForURLAsync(new Regex("/identifiant-provisoire-oublie$"));
        await CheckAsync(page, "identifiant-provisoire-oublie", width);

        await page.GetByRole(AriaRole.Button, new() { Name = "Recevoir mon identifiant" }).ClickAsync();
        await Assertions.Expect(page.Locator("#contact-erreur")).ToBeVisibleAsync();
        await CheckAsync(page, "identifiant-provisoire-oublie-erreur", width);

        await page.Locator("#nom-naissance").FillAsync("DIALLO");
        await page.Locator("#prenoms").FillAsync("Amina");
        await page.Locator("#date-naissance").FillAsync("09/05/1990");
        await page.Locator("#contact").FillAsync(DemoData.AminaDiallo.Email!);
        await page.GetByRole(AriaRole.Button, new() { Name = "Recevoir mon identifiant" }).ClickAsync();
        await page.WaitForURLAsync(new Regex("/identifiant-provisoire-oublie/envoye"));
        await CheckAsync(page, "identifiant-provisoire-oublie-envoye", width);
    }

    /// <summary>« Mes autorisations »: Jeanne before and after granting (then withdrawn, so the next width starts alike); Marc refused.</summary>
    [TestCase(DesktopWidth)]
    [TestCase(NarrowWidth)]
    public async Task Authorizations_screens_are_accessible_and_fit_the_width(int width)
    {
        await using (var context = await NewContextAsync(width))
        {
            var page = await context.NewPageAsync();
            await AuthorizationsBrowserTests.SignInToMonCompteAsync(page, AuthorizationsBrowserTests.JeanneNir, DemoData.JeanneDupont.Password);
            await page.GetByRole(AriaRole.Link, new() { Name = "Mes autorisations" }).ClickAsync();
            await page.WaitForURLAsync(new Regex("/mon-compte/autorisations$"));
            await Assertions.Expect(page.Locator("#delegation-0260311-non")).ToBeCheckedAsync();
            await CheckAsync(page, "mes-autorisations", width);

            await AuthorizationsBrowserTests.AnswerAsync(page, grant: true);
            await Assertions.Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync(DelegationMessages.Granted);
            await CheckAsync(page, "mes-autorisations-accordees", width);

            await AuthorizationsBrowserTests.AnswerAsync(page, grant: false);
            await Assertions.Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync(DelegationMessages.Withdrawn);
        }

        await using (var context = await NewContextAsync(width))
        {
            var page = await context.NewPageAsync();
            await AuthorizationsBrowserTests.SignInToMonCompteAsync(page, AuthorizationsBrowserTests.MarcNir, DemoData.MarcDupont.Password);
            await page.GotoAsync("/mon-compte/autorisations");
            await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Cette page est réservée au responsable du dossier" })).ToBeVisibleAsync();
            await CheckAsync(page, "mes-autorisations-refus", width);
        }
    }

    /// <summary>The four public-service pages, reached from the footer of the login page as people reach them.</summary>
    [TestCase(DesktopWidth)]
    [TestCase(NarrowWidth)]
    public async Task Public_information_screens_are_accessible_and_fit_the_width(int width)
    {
        await using var context = await NewContextAsync(width);
        var page = await context.NewPageAsync();
        foreach (var (name, link) in new[]
        {
            ("accessibilite", "Accessibilité : non conforme"), ("mentions-legales", "Mentions légales"),
            ("donnees-personnelles", "Données personnelles"), ("gestion-des-cookies", "Gestion des cookies"),
        })
        {
            await page.GotoAsync("/connexion");
            await page.Locator("footer").GetByRole(AriaRole.Link, new() { Name = link, Exact = true }).ClickAsync();
            await page.WaitForURLAsync(new Regex("/" + name + "$"));
            await CheckAsync(page, name, width);
        }
        if (UpdatingScreens && Kind == StoreKind.Sqlite && width == NarrowWidth)
        {
            await WriteGalleryReadmeAsync();
        }
    }

    private async Task CheckAsync(IPage page, string name, int width)
    {
        await StepAndCheckAccessibilityAsync($"{name}-{width}", page);
        Assert.That(await HasHorizontalScrollAsync(page), Is.False, $"{name} scrolls horizontally at {width} px: {await WidestElementsAsync(page)}");
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
            .AppendLine("Pour les régénérer : `CAFCONNECT_UPDATE_SCREENS=1 dotnet test tests/Browser/CafConnect.Browser.Tests --filter FullyQualifiedName~ScreensTests` (les écrans de première connexion sont ceux de Paul MARTIN en 1280 px et de Sophie MARTIN en 320 px, deux personnes du même foyer qui se connectent avec le code confidentiel du dossier ; ceux de « Mot de passe oublié ? » sont ceux de Jeanne DUPONT en 1280 px et de Louise DUBOIS en 320 px).")
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
