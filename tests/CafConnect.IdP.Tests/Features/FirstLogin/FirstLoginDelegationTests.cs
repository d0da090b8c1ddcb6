using System.Net;
using CafConnect.IdP.Tests.Support;
using CafConnect.Infrastructure.Audit;
using CafConnect.Infrastructure.Persistence;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace CafConnect.IdP.Tests.Features.FirstLogin;

/// <summary>
/// « Mes autorisations » at the end of the first login (seed 003): Paul MARTIN holds file 0412345 with Sophie (conjoint);
/// he is asked last, after the contact step; Sophie never is.
/// </summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
public sealed class FirstLoginDelegationTests(StoreKind kind)
{
    private JourneyHost? _host;

    private const string SophieNir = "2800913055456";

    private async Task<Uri> ToDelegationStepAsync(FirstLoginDriver person)
    {
        // No contact on record: the contact step may be skipped (with one, it must be proven: FirstLoginRecordsContactTests).
        await FirstLoginDriver.ForgetRecordsContactsAsync(_host!, FirstLoginDriver.PaulNir);
        var contact = await person.AcceptTermsAndChoosePasswordAsync(await person.LoginWithLegacyCodeAsync());
        return FirstLoginDriver.Next(await person.PostAsync(contact, new Dictionary<string, string>(), handler: "Skip"));
    }

    private static async Task<(bool Delegated, DateTimeOffset? ChoiceAt)> SophiesDelegationAsync(JourneyHost host)
    {
        using var scope = host.Host.Services.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<CafConnectDbContext>();
        var sophie = await db.Memberships.Include(m => m.Person).SingleAsync(m => m.Person!.Nir == SophieNir);
        var paul = await db.Memberships.Include(m => m.Person).SingleAsync(m => m.Person!.Nir == FirstLoginDriver.PaulNir);
        return (sophie.Delegated, paul.DelegationChoiceAt);
    }

    [Test]
    public async Task A_holder_in_a_couple_answers_last_and_the_answer_holds()
    {
        await using var host = JourneyHost.Start(kind);
        _host = host;
        var paul = new FirstLoginDriver(host.Host.CreateBrowser());
        var intro = await paul.LoginWithLegacyCodeAsync();
        var (_, introHtml) = await paul.GetAsync(intro);
        Assert.That(WebUtility.HtmlDecode(introHtml), Does.Contain("4 étapes"));

        var delegation = await ToDelegationStepAsync(paul);
        var (page, html) = await paul.GetAsync(delegation);
        Assert.That(page.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(WebUtility.HtmlDecode(html), Does.Contain("Étape 4 sur 4")
            .And.Contain("Vous êtes le responsable de votre dossier Caf.")
            .And.Contain("Aujourd'hui, vous êtes seul à pouvoir consulter les données du dossier.")
            .And.Contain("J'autorise Sophie MARTIN à consulter les données du dossier et à réaliser les démarches.")
            .And.Contain("Passer").And.Contain("Continuer"));
        Assert.That((await paul.Browser.GetAsync("/mon-compte")).StatusCode, Is.EqualTo(HttpStatusCode.Redirect), "no session before the last step");

        var end = await paul.AnswerDelegationAsync(delegation, "true");

        Assert.That(end.OriginalString, Is.EqualTo("/mon-compte"));
        Assert.That((await paul.Browser.GetAsync("/mon-compte")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        var (delegated, choiceAt) = await SophiesDelegationAsync(host);
        Assert.That(delegated, Is.True);
        Assert.That(choiceAt, Is.Not.Null);
        var again = await new OidcDriver(host.Host.CreateBrowser()).SubmitLoginAsync(new Uri("/connexion", UriKind.Relative), FirstLoginDriver.PaulNir, FirstLoginDriver.NewPassword);
        Assert.That(again.Headers.Location!.OriginalString, Is.EqualTo("/mon-compte"), "answered: not asked again");
        using var scope = host.Host.Services.CreateScope();
        var audit = await scope.ServiceProvider.GetRequiredService<CafConnectDbContext>().AuditEvents.Where(e => e.Type == AuditEventTypes.DelegationGranted).ToListAsync();
        Assert.That(audit, Has.Count.EqualTo(1));
    }

    [Test]
    public async Task Continuer_without_an_answer_is_refused_with_a_French_message()
    {
        await using var host = JourneyHost.Start(kind);
        _host = host;
        var paul = new FirstLoginDriver(host.Host.CreateBrowser());
        var delegation = await ToDelegationStepAsync(paul);

        var refused = await paul.PostAsync(delegation, new Dictionary<string, string> { ["FileNumber"] = "0412345" });

        Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(WebUtility.HtmlDecode(await refused.Content.ReadAsStringAsync()), Does.Contain("Choisissez « Oui » ou « Non », ou passez cette étape."));
    }

    [Test]
    public async Task Passer_decides_nothing_and_is_not_asked_again_within_the_reminder_interval()
    {
        await using var host = JourneyHost.Start(kind);
        _host = host;
        var paul = new FirstLoginDriver(host.Host.CreateBrowser());

        var end = await paul.AnswerDelegationAsync(await ToDelegationStepAsync(paul), answer: null);

        Assert.That(end.OriginalString, Is.EqualTo("/mon-compte"));
        Assert.That(await SophiesDelegationAsync(host), Is.EqualTo((false, (DateTimeOffset?)null)), "nothing decided");
        var later = await new OidcDriver(host.Host.CreateBrowser()).SubmitLoginAsync(new Uri("/connexion", UriKind.Relative), FirstLoginDriver.PaulNir, FirstLoginDriver.NewPassword);
        Assert.That(later.Headers.Location!.OriginalString, Is.EqualTo("/mon-compte"));
    }

    [Test]
    public async Task After_Passer_the_question_comes_back_once_the_reminder_interval_is_over()
    {
        await using var host = JourneyHost.Start(kind, new Dictionary<string, string?> { ["Accounts:DelegationReminderInterval"] = "00:00:00" });
        _host = host;
        var paul = new FirstLoginDriver(host.Host.CreateBrowser());
        await paul.AnswerDelegationAsync(await ToDelegationStepAsync(paul), answer: null);

        var later = new FirstLoginDriver(host.Host.CreateBrowser());
        var login = await later.Oidc.SubmitLoginAsync(new Uri("/connexion", UriKind.Relative), FirstLoginDriver.PaulNir, FirstLoginDriver.NewPassword);

        var step = FirstLoginDriver.Next(login);
        Assert.That(step.AbsolutePathOrOriginal(), Is.EqualTo(FirstLoginDriver.DelegationPath), "asked again, alone");
        Assert.That((await later.AnswerDelegationAsync(step, "false")).OriginalString, Is.EqualTo("/mon-compte"));
        Assert.That((await SophiesDelegationAsync(host)).ChoiceAt, Is.Not.Null);
    }

    [Test]
    public async Task The_partner_is_never_asked()
    {
        await using var host = JourneyHost.Start(kind);
        _host = host;
        var sophie = new FirstLoginDriver(host.Host.CreateBrowser());
        await FirstLoginDriver.ForgetRecordsContactsAsync(host, SophieNir);
        var contact = await sophie.AcceptTermsAndChoosePasswordAsync(await sophie.LoginWithLegacyCodeAsync(nir: SophieNir));

        var skipped = await sophie.PostAsync(contact, new Dictionary<string, string>(), handler: "Skip");

        Assert.That(FirstLoginDriver.Next(skipped).OriginalString, Is.EqualTo("/mon-compte"));
        var (page, _) = await sophie.GetAsync(new Uri("/mon-compte/autorisations", UriKind.Relative));
        Assert.That(page.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
    }
}
