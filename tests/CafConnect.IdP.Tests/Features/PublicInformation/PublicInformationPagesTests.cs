using System.Net;
using CafConnect.IdP.Demo;
using CafConnect.IdP.Features.PublicInformation;
using CafConnect.IdP.Tests.Features.FirstLogin;
using CafConnect.IdP.Tests.Support;

namespace CafConnect.IdP.Tests.Features.PublicInformation;

/// <summary>
/// The pages every French public online service must have (issue #16 item 7) and the « Besoin d'aide ? » block (item 6),
/// over HTTP: reachable without a session from every page's footer, in French, with the figures of the configuration
/// the provider runs with, and the cookie list complete.
/// </summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
public sealed class PublicInformationPagesTests(StoreKind kind) : StoreFixture(kind)
{
    public static readonly (string Path, string Heading)[] Pages =
    [
        (PublicInformationPaths.Accessibility, "Déclaration d'accessibilité"),
        (PublicInformationPaths.LegalNotice, "Mentions légales"),
        (PublicInformationPaths.PersonalData, "Données personnelles"),
        (PublicInformationPaths.Cookies, "Gestion des cookies"),
    ];

    private static async Task<(HttpResponseMessage Response, string Html)> GetAsync(HttpClient browser, string path)
    {
        var response = await browser.GetAsync(path);
        return (response, WebUtility.HtmlDecode(await response.Content.ReadAsStringAsync()));
    }

    [Test]
    public async Task Each_page_answers_in_French_without_a_session()
    {
        var browser = Host.CreateBrowser();
        foreach (var (path, heading) in Pages)
        {
            var (response, html) = await GetAsync(browser, path);
            Assert.Multiple(() =>
            {
                Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), path);
                Assert.That(html, Does.Contain("<html lang=\"fr\""), path);
                Assert.That(html, Does.Contain($"<h1>{heading}</h1>"), path);
                Assert.That(html, Does.Contain($"<title>{heading} – Mon Compte – Caf</title>"), path);
            });
        }
    }

    [TestCase("/connexion")]
    [TestCase("/creer-mon-compte")]
    [TestCase("/mot-de-passe-oublie")]
    [TestCase("/deconnexion/terminee")]
    [TestCase("/page-qui-n-existe-pas")]
    [TestCase(PublicInformationPaths.Cookies)]
    public async Task The_footer_of_every_page_links_to_the_four_pages(string path)
    {
        var (_, html) = await GetAsync(Host.CreateBrowser(), path);
        var footer = html[html.IndexOf("<footer", StringComparison.Ordinal)..];
        Assert.Multiple(() =>
        {
            Assert.That(footer, Does.Contain($"href=\"{PublicInformationPaths.Accessibility}\">Accessibilité : non conforme</a>"));
            Assert.That(footer, Does.Contain($"href=\"{PublicInformationPaths.LegalNotice}\">Mentions légales</a>"));
            Assert.That(footer, Does.Contain($"href=\"{PublicInformationPaths.PersonalData}\">Données personnelles</a>"));
            Assert.That(footer, Does.Contain($"href=\"{PublicInformationPaths.Cookies}\">Gestion des cookies</a>"));
        });
    }

    [Test]
    public async Task The_accessibility_statement_gives_the_measured_status_the_known_problems_a_contact_and_the_recourse()
    {
        var (_, html) = await GetAsync(Host.CreateBrowser(), PublicInformationPaths.Accessibility);
        Assert.Multiple(() =>
        {
            // No audit, so the RGAA allows only « non conforme »; what was measured is said, and only that.
            Assert.That(html, Does.Contain("<strong>non conforme</strong>").And.Contain("RGAA), version 4.1"));
            Assert.That(html, Does.Contain("aucun audit de conformité n'a encore été réalisé"));
            Assert.That(html, Does.Contain("axe-core").And.Contain("WCAG 2.1, niveaux A et AA").And.Contain("320 pixels"));
            Assert.That(html, Does.Contain("Non-conformités connues").And.Contain("critère 13.1").And.Contain("10 minutes par SMS"));
            Assert.That(html, Does.Contain("href=\"tel:+33810292929\">0810 29 29 29</a>"));
            Assert.That(html, Does.Contain("Défenseur des droits").And.Contain("Libre réponse 71120, 75342 Paris CEDEX 07"));
        });
    }

    [Test]
    public async Task The_personal_data_page_states_the_default_retention_periods()
    {
        var (_, html) = await GetAsync(Host.CreateBrowser(), PublicInformationPaths.PersonalData);
        Assert.Multiple(() =>
        {
            Assert.That(html, Does.Contain("Caisse nationale des allocations familiales (Cnaf)"));
            Assert.That(html, Does.Contain("mission d'intérêt public").And.Contain("article 6, paragraphe 1, point e"));
            Assert.That(html, Does.Contain("400 jours, puis supprimé ;"), "audit trail: Audit:RetentionDays");
            Assert.That(html, Does.Contain("fermée après 30 minutes sans").And.Contain("supprimée 30 jours après sa fermeture"), "sessions");
            Assert.That(html, Does.Contain("14 jours au plus, ou jusqu'à la déconnexion ;"), "refresh tokens");
            Assert.That(html, Does.Contain("10 minutes par SMS, 15 minutes par courriel ; inutilisables après 5 erreurs"), "codes");
            Assert.That(html, Does.Contain("30 minutes, puis inutilisable ; sa trace est supprimée 1 jour après ;"), "journeys: Flows:RetentionDays");
            Assert.That(html, Does.Contain(": 7 jours après le dernier échec ;"), "failure counters");
            Assert.That(html, Does.Contain("est chiffré jusqu'à l'envoi, puis effacé").And.Contain("supprimés 30 jours après l'envoi ;"), "outbox: Notifications:SentRetentionDays");
            Assert.That(html, Does.Contain("180 jours ;"), "admin requests");
            Assert.That(html, Does.Contain("CNIL").And.Contain("droit d'accès, de rectification"));
        });
    }

    [Test]
    public async Task The_personal_data_page_follows_the_configuration()
    {
        await using var host = new CafConnectFactory(Store, new Dictionary<string, string?>
        {
            ["Audit:RetentionDays"] = "90",
            ["Sessions:RetentionDays"] = "45",
            ["Flows:RetentionDays"] = "3",
            ["Notifications:SentRetentionDays"] = "60",
            ["Session:IdleTimeout"] = "00:20:00",
            ["Verification:SmsLifetime"] = "00:05:00",
            ["Help:PhoneNumber"] = "3230",
        });
        var (_, html) = await GetAsync(host.CreateBrowser(), PublicInformationPaths.PersonalData);
        Assert.Multiple(() =>
        {
            Assert.That(html, Does.Contain("90 jours, puis supprimé ;"));
            Assert.That(html, Does.Contain("fermée après 20 minutes sans").And.Contain("supprimée 45 jours après sa fermeture"));
            Assert.That(html, Does.Contain("5 minutes par SMS"));
            Assert.That(html, Does.Contain("sa trace est supprimée 3 jours après ;").And.Contain("supprimés 60 jours après l'envoi ;"));
            Assert.That(html, Does.Contain("href=\"tel:3230\">3230</a>"));
        });
    }

    /// <summary>
    /// Every cookie the provider actually sets — on the login page, a login with « Se souvenir de moi », a first login
    /// (journey cookie) — is named on « Gestion des cookies »: a new cookie without its line fails here.
    /// </summary>
    [Test]
    public async Task The_cookie_page_names_every_cookie_the_provider_sets()
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);

        var jar = new CookieContainer();
        var login = await new OidcDriver(Host.CreateBrowser(jar)).SubmitLoginAsync(new Uri("/connexion", UriKind.Relative), "2 85 03 75 112 048", DemoData.JeanneDupont.Password, rememberMe: true);
        Assert.That(login.StatusCode, Is.EqualTo(HttpStatusCode.Redirect), await OidcDriver.ErrorsOf(login));
        seen.UnionWith(jar.GetAllCookies().Select(c => c.Name));

        var firstLoginJar = new CookieContainer();
        var firstLogin = new FirstLoginDriver(Host.CreateBrowser(firstLoginJar));
        var step = await firstLogin.LoginWithLegacyCodeAsync(nir: "2 80 09 13 055 456");
        Assert.That(step.OriginalString, Does.StartWith("/premiere-connexion"));
        seen.UnionWith(firstLoginJar.GetAllCookies().Select(c => c.Name));

        Assert.That(seen, Is.SupersetOf(new[] { "cafconnect.session", "cafconnect.af", "cafconnect.remember", "cafconnect.flow" }), "the journeys did set the cookies");
        var (_, html) = await GetAsync(Host.CreateBrowser(), PublicInformationPaths.Cookies);
        Assert.Multiple(() =>
        {
            foreach (var name in seen)
            {
                Assert.That(html, Does.Contain($"<code>{name}</code>"), $"cookie {name} is listed");
            }
            Assert.That(html, Does.Contain("13 mois"));
            Assert.That(html, Does.Contain("après 30 minutes sans activité"));
            Assert.That(html, Does.Contain("aucun bandeau").And.Contain("article 82 de la loi Informatique et Libertés"));
            // FranceConnect is off on this host: its correlation cookie is never set, so not listed.
            Assert.That(html, Does.Not.Contain("cafconnect.fc"));
        });
    }

    [Test]
    public void The_help_line_link_is_the_international_form_of_the_number()
    {
        Assert.Multiple(() =>
        {
            Assert.That(new HelpOptions().PhoneLink, Is.EqualTo("tel:+33810292929"));
            Assert.That(new HelpOptions { PhoneNumber = "01 23 45 67 89" }.PhoneLink, Is.EqualTo("tel:+33123456789"));
            Assert.That(new HelpOptions { PhoneNumber = "3230" }.PhoneLink, Is.EqualTo("tel:3230"));
            Assert.That(new HelpOptions { PhoneNumber = "+33 9 69 32 52 52" }.PhoneLink, Is.EqualTo("tel:+33969325252"));
        });
    }

    /// <summary>« Besoin d'aide ? » where people get stuck (seed 000), with the help line of the configuration.</summary>
    [TestCase("/creer-mon-compte")]
    [TestCase("/creer-mon-compte/avec-nir")]
    [TestCase("/creer-mon-compte/sans-nir")]
    [TestCase("/mot-de-passe-oublie")]
    [TestCase("/identifiant-provisoire-oublie")]
    public async Task Journey_pages_show_the_help_block(string path)
    {
        var (response, html) = await GetAsync(Host.CreateBrowser(), path);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        AssertHelpBlock(html, "0810 29 29 29", "tel:+33810292929");
    }

    [Test]
    public async Task First_login_steps_show_the_help_block()
    {
        var driver = new FirstLoginDriver(Host.CreateBrowser());
        var start = await driver.LoginWithLegacyCodeAsync();
        var (_, welcome) = await driver.GetAsync(start);
        AssertHelpBlock(WebUtility.HtmlDecode(welcome), "0810 29 29 29", "tel:+33810292929");
        var terms = FirstLoginDriver.Next(await driver.PostAsync(start, new Dictionary<string, string>()));
        var (_, termsHtml) = await driver.GetAsync(terms);
        AssertHelpBlock(WebUtility.HtmlDecode(termsHtml), "0810 29 29 29", "tel:+33810292929");
    }

    /// <summary>A refused login — a locked account answers exactly the same — offers help; the plain login page does not.</summary>
    [Test]
    public async Task The_login_page_shows_the_help_block_after_a_refused_login_only()
    {
        await using var host = new CafConnectFactory(Store, new Dictionary<string, string?> { ["Help:PhoneNumber"] = "3230" });
        var browser = host.CreateBrowser();
        var (_, plain) = await GetAsync(browser, "/connexion");
        Assert.That(plain, Does.Not.Contain("Besoin d'aide ?"));

        var refused = await new OidcDriver(browser).SubmitLoginAsync(new Uri("/connexion", UriKind.Relative), "1 88 06 33 063 042", "Mauvais9Passe");
        AssertHelpBlock(WebUtility.HtmlDecode(await refused.Content.ReadAsStringAsync()), "3230", "tel:3230");
    }

    private static void AssertHelpBlock(string html, string number, string link) => Assert.Multiple(() =>
    {
        Assert.That(html, Does.Contain("<h2 class=\"fr-h6 fr-mb-1w\" id=\"besoin-d-aide-titre\">Besoin d'aide ?</h2>"));
        Assert.That(html, Does.Contain($"appelez le <a class=\"fr-link\" href=\"{link}\">{number}</a> pour obtenir de l'aide"));
    });
}
