using System.Net;
using System.Text.Json;
using CafConnect.IdP.Demo;
using CafConnect.IdP.Tests.Features.FirstLogin;
using CafConnect.IdP.Tests.Support;
using CafConnect.Infrastructure.Audit;
using CafConnect.Infrastructure.Persistence;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace CafConnect.IdP.Tests.Features.Households;

/// <summary>
/// « Gérer Mon Compte > Mes autorisations » over HTTP: Jeanne (allocataire, in a couple with Marc) grants then withdraws the
/// delegation; Marc, holding tokens from before, sees each change at his next userinfo call and refresh. Only Jeanne ever
/// sees the page. Each test has a store of its own (the tests change the file).
/// </summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
public sealed class DelegationTests(StoreKind kind)
{
    private const string Page = "/mon-compte/autorisations";

    private static async Task<FirstLoginDriver> SignedInAsync(JourneyHost host, HouseholdPerson person)
    {
        var driver = new FirstLoginDriver(host.Host.CreateBrowser());
        var login = await driver.Oidc.SubmitLoginAsync(new Uri("/connexion", UriKind.Relative), person.Identifier, person.Password);
        Assert.That(login.Headers.Location?.OriginalString, Is.EqualTo("/mon-compte"), person.Name + " signs in with nothing pending: " + await OidcDriver.ErrorsOf(login));
        return driver;
    }

    private static async Task<JsonElement> UserInfoFileAsync(OidcDriver driver, string accessToken)
    {
        var response = await driver.UserInfoAsync(accessToken);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("caf_files")[0].Clone();
    }

    private static List<string> PermissionsIn(JsonElement file) => file.GetProperty("permissions").EnumerateArray().Select(p => p.GetString()!).ToList();

    private static Task<HttpResponseMessage> AnswerAsync(FirstLoginDriver holder, string answer) =>
        holder.PostAsync(new Uri(Page, UriKind.Relative), new Dictionary<string, string> { ["FileNumber"] = "0260311", ["Delegate"] = answer });

    [Test]
    public async Task Granting_then_withdrawing_shows_at_once_in_the_partners_userinfo_and_refresh_and_is_notified_and_audited()
    {
        await using var host = JourneyHost.Start(kind);
        // Marc signs in at a relying party before any change and keeps his tokens.
        var marc = new OidcDriver(host.Host.CreateBrowser());
        var before = await marc.SignInAndRedeemAsync(TestClient.CafFr, HouseholdPeople.Conjoint.Identifier, HouseholdPeople.Conjoint.Password);
        var initial = await UserInfoFileAsync(marc, before.AccessToken);
        Assert.That(initial.GetProperty("delegated").GetBoolean(), Is.False);
        Assert.That(PermissionsIn(initial), Does.Not.Contain("consulter_droits_paiements"));

        var jeanne = await SignedInAsync(host, HouseholdPeople.Allocataire);
        var (page, html) = await jeanne.GetAsync(new Uri(Page, UriKind.Relative));
        Assert.That(page.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(WebUtility.HtmlDecode(html), Does.Contain("Vous êtes le responsable de votre dossier Caf.")
            .And.Contain("J'autorise Marc DUPONT à consulter les données du dossier et à réaliser les démarches.")
            .And.Contain("A tout moment, vous pourrez revenir sur votre choix dans le menu « Gérer Mon Compte »."));

        // « Oui »: the confirmation of seed 004 after the redirect.
        var granted = await AnswerAsync(jeanne, "true");
        Assert.That(FirstLoginDriver.Next(granted).OriginalString, Is.EqualTo(Page + "?modifie=0260311"));
        var (_, confirmation) = await jeanne.GetAsync(granted.Headers.Location!);
        Assert.That(WebUtility.HtmlDecode(confirmation), Does.Contain("Nous vous confirmons que votre conjoint est maintenant autorisé à consulter l'ensemble du dossier"));

        // Marc's access token from before the change: userinfo is computed from the store, so it already says so.
        var afterGrant = await UserInfoFileAsync(marc, before.AccessToken);
        Assert.That(afterGrant.GetProperty("delegated").GetBoolean(), Is.True);
        Assert.That(PermissionsIn(afterGrant), Does.Contain("consulter_droits_paiements").And.Contain("declarer_changement").And.Contain("demander_prestation")
            .And.Not.Contain("gerer_autorisations"));
        var refreshed = await OidcDriver.ReadTokensAsync(await marc.RefreshAsync(TestClient.CafFr, before.RefreshToken!));
        Assert.That((await UserInfoFileAsync(marc, refreshed.AccessToken)).GetProperty("delegated").GetBoolean(), Is.True, "after refresh");

        // « Non »: withdrawn at once, for the tokens Marc holds.
        var withdrawn = await AnswerAsync(jeanne, "false");
        var (_, withdrawal) = await jeanne.GetAsync(FirstLoginDriver.Next(withdrawn));
        Assert.That(WebUtility.HtmlDecode(withdrawal), Does.Contain("Nous vous confirmons que votre conjoint ne peut plus consulter l'ensemble du dossier"));
        var afterWithdrawal = await UserInfoFileAsync(marc, refreshed.AccessToken);
        Assert.That(afterWithdrawal.GetProperty("delegated").GetBoolean(), Is.False);
        Assert.That(PermissionsIn(afterWithdrawal), Does.Not.Contain("consulter_droits_paiements").And.Contain("demande_prestation_limitee"));
        var refreshedAgain = await OidcDriver.ReadTokensAsync(await marc.RefreshAsync(TestClient.CafFr, refreshed.RefreshToken!));
        Assert.That(PermissionsIn(await UserInfoFileAsync(marc, refreshedAgain.AccessToken)), Does.Not.Contain("consulter_droits_paiements"), "after refresh");

        // Marc is told each time (his verified mobile); Jeanne gets the confirmation.
        var toMarc = await host.Sms.WaitForAsync(DemoData.MarcDupont.Mobile!);
        Assert.That(toMarc.Text, Does.Contain("Jeanne DUPONT").And.Contain("vous autorise désormais"));
        var toMarcAgain = await host.Sms.WaitForAsync(DemoData.MarcDupont.Mobile!, alreadySeen: 1);
        Assert.That(toMarcAgain.Text, Does.Contain("ne vous autorise plus"));
        var toJeanne = await host.Sms.WaitForAsync(DemoData.JeanneDupont.Mobile!);
        Assert.That(toJeanne.Text, Does.Contain("Marc DUPONT").And.Contain("est maintenant autorisé"));

        using var scope = host.Host.Services.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<CafConnectDbContext>();
        var jeanneId = (await db.Persons.SingleAsync(p => p.Nir == DemoData.JeanneDupont.Nir)).Id;
        var events = await db.AuditEvents.Where(e => e.Type == AuditEventTypes.DelegationGranted || e.Type == AuditEventTypes.DelegationWithdrawn).OrderBy(e => e.Id).ToListAsync();
        Assert.That(events.Select(e => e.Type), Is.EqualTo(new[] { AuditEventTypes.DelegationGranted, AuditEventTypes.DelegationWithdrawn }));
        Assert.That(events, Has.All.Matches<AuditEvent>(e => e.PersonId == jeanneId && e.Channel == "web" && e.SessionId != null && e.Details!.Contains("file=0260311")));
    }

    [Test]
    public async Task The_partner_never_sees_the_page_and_cannot_post_to_it()
    {
        await using var host = JourneyHost.Start(kind);
        var marc = await SignedInAsync(host, HouseholdPeople.Conjoint);

        var (account, accountHtml) = await marc.GetAsync(new Uri("/mon-compte", UriKind.Relative));
        Assert.That(account.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(accountHtml, Does.Not.Contain(Page), "no « Mes autorisations » link for the partner");

        var (page, html) = await marc.GetAsync(new Uri(Page, UriKind.Relative));
        Assert.That(page.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
        Assert.That(WebUtility.HtmlDecode(html), Does.Contain("Cette page est réservée au responsable du dossier").And.Not.Contain("J'autorise"));

        // A forged answer with a valid anti-forgery token of his own session (taken from « Mon compte »): still refused.
        var (_, token) = OidcDriver.LoginForm(accountHtml);
        var posted = await marc.Browser.PostAsync(Page, new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["FileNumber"] = "0260311", ["Delegate"] = "true", ["__RequestVerificationToken"] = token,
        }));
        Assert.That(posted.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
        using var scope = host.Host.Services.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<CafConnectDbContext>();
        Assert.That(await db.Memberships.AnyAsync(m => m.Delegated), Is.False, "nothing changed");
    }

    [Test]
    public async Task A_single_holder_never_sees_the_page()
    {
        await using var host = JourneyHost.Start(kind);
        var louise = await SignedInAsync(host, new HouseholdPerson("allocataire seule", DemoData.LouiseDubois.Nir!, DemoData.LouiseDubois.Password, "1234567"));

        var (_, accountHtml) = await louise.GetAsync(new Uri("/mon-compte", UriKind.Relative));
        var (page, html) = await louise.GetAsync(new Uri(Page, UriKind.Relative));

        Assert.That(accountHtml, Does.Not.Contain(Page));
        Assert.That(page.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
        Assert.That(WebUtility.HtmlDecode(html), Does.Contain("Cette page est réservée au responsable du dossier"));
    }

    [Test]
    public async Task The_holder_finds_the_page_from_Mon_compte_and_must_answer_Oui_or_Non()
    {
        await using var host = JourneyHost.Start(kind);
        var jeanne = await SignedInAsync(host, HouseholdPeople.Allocataire);

        var (_, accountHtml) = await jeanne.GetAsync(new Uri("/mon-compte", UriKind.Relative));
        Assert.That(WebUtility.HtmlDecode(accountHtml), Does.Contain("Gérer Mon Compte").And.Contain($"href=\"{Page}\""));

        var empty = await jeanne.PostAsync(new Uri(Page, UriKind.Relative), new Dictionary<string, string> { ["FileNumber"] = "0260311" });
        Assert.That(empty.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(WebUtility.HtmlDecode(await empty.Content.ReadAsStringAsync()), Does.Contain("Choisissez « Oui » ou « Non »."));

        // Another file number (not hers as a couple): refused, nothing changed.
        var other = await jeanne.PostAsync(new Uri(Page, UriKind.Relative), new Dictionary<string, string> { ["FileNumber"] = "1234567", ["Delegate"] = "true" });
        Assert.That(other.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
    }

    [Test]
    public async Task The_page_needs_a_session_and_its_form_an_anti_forgery_token()
    {
        await using var host = JourneyHost.Start(kind);
        var anonymous = await host.Host.CreateBrowser().GetAsync(Page);
        Assert.That(anonymous.StatusCode, Is.EqualTo(HttpStatusCode.Redirect));
        Assert.That(anonymous.Headers.Location!.AbsolutePath, Is.EqualTo("/connexion"));

        var jeanne = await SignedInAsync(host, HouseholdPeople.Allocataire);
        var forged = await jeanne.Browser.PostAsync(Page, new FormUrlEncodedContent(new Dictionary<string, string> { ["FileNumber"] = "0260311", ["Delegate"] = "true" }));

        Assert.That(forged.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        using var scope = host.Host.Services.CreateScope();
        Assert.That(await scope.ServiceProvider.GetRequiredService<CafConnectDbContext>().Memberships.AnyAsync(m => m.Delegated), Is.False);
    }
}
