using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using CafConnect.Domain.Accounts;
using CafConnect.IdP.Demo;
using CafConnect.IdP.Tests.Features.FirstLogin;
using CafConnect.IdP.Tests.Features.Recovery;
using CafConnect.IdP.Tests.Support;
using CafConnect.Infrastructure.Audit;
using CafConnect.Infrastructure.Notifications;
using Microsoft.EntityFrameworkCore;

namespace CafConnect.IdP.Tests.Admin;

/// <summary>
/// <c>POST /admin/v1/applicants</c> (seed 000: first-time applicants registered by the benefits system) and
/// <c>POST /admin/v1/persons/provisional-password</c> (an agent's provisional password), over HTTP on both stores.
/// </summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
public sealed partial class ApplicantsAndAgentsTests(StoreKind kind)
{
    private const string ApplicantsPath = "/admin/v1/applicants";
    private const string Mobile = "+33698765432";

    private static object Application(string id, string channel, string? mobile, string? nir = null) => new
    {
        application_id = id,
        channel,
        benefit = "aide_logement",
        applicant = new { nir, civility = "MME", birth_name = "Nguyen", given_names = "Linh", birth_date = "1996-02-11", postal_code = "75011", mobile },
    };

    private static async Task<JsonElement> CreatedAsync(HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Created), body);
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    private static async Task<(PersonAccount Person, List<OutboxMessage> Messages)> RegisteredAsync(JourneyHost host, JsonElement answer)
    {
        var fileNumber = answer.GetProperty("file_number").GetString()!;
        var person = await host.QueryAsync(db => db.Persons.AsNoTracking().Include(p => p.Memberships).ThenInclude(m => m.Household)
            .SingleAsync(p => p.Memberships.Any(m => m.Household!.FileNumber == fileNumber)));
        return (person, (await host.OutboxOfAsync(person.Id)).OrderBy(m => m.CreatedAt).ToList());
    }

    [Test]
    public async Task An_online_application_with_a_mobile_gets_a_file_number_and_a_provisional_password_by_SMS_that_must_be_changed()
    {
        await using var host = HostStore.Start(kind);
        var admin = new AdminClient(host.Host.CreateClient());
        var token = await admin.TokenAsync();

        var answer = await CreatedAsync(await admin.PostJsonAsync(ApplicantsPath, Application("DEM-LOG-001", "en_ligne", "06 98 76 54 32"), token));
        var fileNumber = answer.GetProperty("file_number").GetString()!;
        var provisionalId = answer.GetProperty("provisional_id").GetString()!;
        Assert.Multiple(() =>
        {
            Assert.That(fileNumber, Does.Match("^[0-9]{7}$"));
            Assert.That(provisionalId, Does.Match("^P[0-9]{8}$"), "no NIR given: a provisional identifier is the login");
            Assert.That(answer.GetProperty("password_delivery").GetString(), Is.EqualTo("sms"));
        });

        var (person, messages) = await RegisteredAsync(host, answer);
        var file = person.Memberships.Single().Household!;
        Assert.Multiple(() =>
        {
            Assert.That(file.Pending, Is.True, "a file still being processed: the person is a primo-demandeur");
            Assert.That(person.PendingProvisionalPasswordHash, Is.Not.Null, "a provisional password, used at the first login (docs/decisions.md #17)");
            Assert.That(person.MobilePhone, Is.EqualTo(Mobile));
            Assert.That(messages.Single().Kind, Is.EqualTo(NotificationKind.ProvisionalPassword));
            Assert.That(messages.Single().Channel, Is.EqualTo(NotificationChannel.Sms));
        });
        var sms = await host.Sms.WaitForAsync(Mobile);
        var password = EightDigits().Match(sms.Text).Value;
        Assert.That(sms.Text, Does.Contain(fileNumber));

        // The provisional password opens the « choose your password » steps, not a session.
        var browser = new OidcDriver(host.Host.CreateBrowser());
        var login = await browser.SubmitLoginAsync(new Uri("/connexion?mode=provisoire", UriKind.Relative), provisionalId, password);
        Assert.That(login.StatusCode, Is.EqualTo(HttpStatusCode.Redirect), await OidcDriver.ErrorsOf(login));
        Assert.That(login.Headers.Location!.AbsolutePathOrOriginal(), Does.StartWith("/premiere-connexion"));
        var driver = new FirstLoginDriver(browser.Browser);
        var step = login.Headers.Location!;
        if (step.AbsolutePathOrOriginal() == "/premiere-connexion")
        {
            step = FirstLoginDriver.Next(await driver.PostAsync(step, new Dictionary<string, string>()));
        }
        Assert.That(step.AbsolutePathOrOriginal(), Is.EqualTo("/premiere-connexion/conditions"));
        step = FirstLoginDriver.Next(await driver.PostAsync(step, new Dictionary<string, string> { ["Accepted"] = "true" }));
        Assert.That(step.AbsolutePathOrOriginal(), Is.EqualTo("/premiere-connexion/mot-de-passe"), "the provisional password must be replaced");
        var next = FirstLoginDriver.Next(await driver.PostAsync(step, new Dictionary<string, string> { ["Password"] = FirstLoginDriver.NewPassword, ["Confirmation"] = FirstLoginDriver.NewPassword }));
        Assert.That(next.AbsolutePathOrOriginal(), Is.EqualTo("/premiere-connexion/coordonnees"));
        // Once replaced, the provisional password no longer works.
        var again = await new OidcDriver(host.Host.CreateBrowser()).SubmitLoginAsync(new Uri("/connexion?mode=provisoire", UriKind.Relative), provisionalId, password);
        Assert.That(again.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(await OidcDriver.ErrorsOf(again), Does.Contain("incorrect"));

        // The same application sent again: the same answer, nothing new.
        var replay = await admin.PostJsonAsync(ApplicantsPath, Application("DEM-LOG-001", "en_ligne", "06 98 76 54 32"), token);
        Assert.That(replay.StatusCode, Is.EqualTo(HttpStatusCode.Created));
        Assert.That((await AdminClient.JsonOf(replay)).GetProperty("file_number").GetString(), Is.EqualTo(fileNumber));
        Assert.That(await host.QueryAsync(db => db.Persons.CountAsync(p => p.BirthName == "NGUYEN")), Is.EqualTo(1));
        var audit = await host.QueryAsync(db => db.AuditEvents.AsNoTracking().SingleAsync(a => a.Type == AuditEventTypes.ApplicantRegistered));
        Assert.That(audit.Details, Does.Contain("application=DEM-LOG-001").And.Not.Contain(password));
    }

    [Test]
    public async Task Without_a_mobile_the_password_goes_by_one_letter_and_a_paper_application_gets_two_separate_letters()
    {
        await using var host = HostStore.Start(kind);
        var admin = new AdminClient(host.Host.CreateClient());
        var token = await admin.TokenAsync();

        var online = await CreatedAsync(await admin.PostJsonAsync(ApplicantsPath, Application("DEM-LOG-002", "en_ligne", null, nir: "2960275111222"), token));
        Assert.That(online.GetProperty("password_delivery").GetString(), Is.EqualTo("courrier"));
        Assert.That(online.GetProperty("login").GetString(), Is.EqualTo("nir"));
        var (_, onlineMessages) = await RegisteredAsync(host, online);
        Assert.That(onlineMessages.Select(m => (m.Kind, m.Channel)), Is.EqualTo(new[] { (NotificationKind.ProvisionalPassword, NotificationChannel.Letter) }));

        // Paper: the identifier and the password in two letters, even with a mobile.
        var paper = await CreatedAsync(await admin.PostJsonAsync(ApplicantsPath, Application("DEM-PAP-003", "papier", "0611223344"), token));
        Assert.That(paper.GetProperty("letters").GetInt32(), Is.EqualTo(2));
        var (person, paperMessages) = await RegisteredAsync(host, paper);
        Assert.That(paperMessages.Select(m => m.Kind), Is.EquivalentTo(new[] { NotificationKind.ApplicantIdentifier, NotificationKind.ProvisionalPassword }));
        Assert.That(paperMessages.Select(m => m.Channel), Is.All.EqualTo(NotificationChannel.Letter));
        var identifierLetter = await host.WaitForFileTextAsync(paperMessages.Single(m => m.Kind == NotificationKind.ApplicantIdentifier).Id);
        var passwordLetter = await host.WaitForFileTextAsync(paperMessages.Single(m => m.Kind == NotificationKind.ProvisionalPassword).Id);
        var password = EightDigits().Match(passwordLetter.Split("provisoire :")[1]).Value;
        Assert.Multiple(() =>
        {
            Assert.That(identifierLetter, Does.Contain(person.ProvisionalId!).And.Not.Contain(password));
            Assert.That(passwordLetter, Does.Contain(password).And.Not.Contain(person.ProvisionalId!));
        });
    }

    [Test]
    public async Task A_bad_application_is_a_400_naming_each_field()
    {
        await using var host = HostStore.Start(kind);
        var admin = new AdminClient(host.Host.CreateClient());
        var response = await admin.PostJsonAsync(ApplicantsPath, new
        {
            application_id = "X1", channel = "fax", benefit = "rsa",
            applicant = new { civility = "DR", birth_name = "", given_names = "Linh", birth_date = "11/02/1996", mobile = "0123" },
        }, await admin.TokenAsync());
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        var errors = (await AdminClient.JsonOf(response)).GetProperty("errors").EnumerateObject().Select(p => p.Name).ToList();
        Assert.That(errors, Is.EquivalentTo(new[] { "channel", "benefit", "applicant.civility", "applicant.birth_name", "applicant.birth_date", "applicant.mobile" }));
        Assert.That(await host.QueryAsync(db => db.Households.CountAsync(h => h.Pending)), Is.Zero);
    }

    [Test]
    public async Task An_agents_provisional_password_through_the_api_is_sent_and_audited_with_the_agent_and_the_client()
    {
        await using var host = HostStore.Start(kind);
        var admin = new AdminClient(host.Host.CreateClient());
        var response = await admin.PostJsonAsync("/admin/v1/persons/provisional-password",
            new { person = new { nir = DemoData.LouiseDubois.Nir }, agent_id = "agent.caf69-007", request_id = "PP-1" }, await admin.TokenAsync());
        var body = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), body);
        Assert.That(body, Does.Not.Contain(DemoData.LouiseDubois.Nir!));
        Assert.That((await AdminClient.JsonOf(response)).GetProperty("channel").GetString(), Is.EqualTo("sms"));

        var louise = await host.QueryAsync(db => db.Persons.AsNoTracking().SingleAsync(p => p.Nir == DemoData.LouiseDubois.Nir));
        Assert.That((louise.CredentialKind, louise.PendingProvisionalPasswordHash is not null), Is.EqualTo((CredentialKind.Personal, true)), "pending beside her password (docs/decisions.md #17)");
        var sms = await host.Sms.WaitForAsync(DemoData.LouiseDubois.Mobile!);
        var password = EightDigits().Match(sms.Text).Value;
        var audit = await host.QueryAsync(db => db.AuditEvents.AsNoTracking().SingleAsync(a => a.Type == AuditEventTypes.ProvisionalPasswordIssued));
        Assert.Multiple(() =>
        {
            Assert.That(audit.PersonId, Is.EqualTo(louise.Id));
            Assert.That(audit.ClientId, Is.EqualTo(AdminClient.ClientId));
            Assert.That(audit.Details, Does.Contain("agent=agent.caf69-007").And.Contain("by=client:systeme-prestations").And.Not.Contain(password));
        });
        var old = await new OidcDriver(host.Host.CreateBrowser()).SubmitLoginAsync(new Uri("/connexion", UriKind.Relative), DemoData.LouiseDubois.Nir!, DemoData.LouiseDubois.Password);
        Assert.That(old.Headers.Location?.OriginalString, Is.EqualTo("/mon-compte"), "her password keeps working until the provisional one is used (docs/decisions.md #17)");

        var badAgent = await admin.PostJsonAsync("/admin/v1/persons/provisional-password", new { person = new { nir = DemoData.LouiseDubois.Nir }, agent_id = "a b" }, await admin.TokenAsync());
        Assert.That(badAgent.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        var unknown = await admin.PostJsonAsync("/admin/v1/persons/provisional-password", new { person = new { nir = "1850575112099" }, agent_id = "A1" }, await admin.TokenAsync());
        Assert.That((await AdminClient.JsonOf(unknown)).GetProperty("code").GetString(), Is.EqualTo("unknown_person"));
    }

    [Test]
    public async Task An_application_naming_an_existing_persons_NIR_never_sends_anything_to_the_mobile_it_gives()
    {
        await using var host = HostStore.Start(kind);
        var admin = new AdminClient(host.Host.CreateClient());
        var token = await admin.TokenAsync();
        const string nir = "2960175112345";
        const string otherMobile = "+33698700011";

        // The person exists (first application, their own unverified mobile); a second application gives another mobile.
        var first = await CreatedAsync(await admin.PostJsonAsync(ApplicantsPath, Application("DEM-NIR-001", "en_ligne", "06 98 76 54 32", nir), token));
        var second = await CreatedAsync(await admin.PostJsonAsync(ApplicantsPath, Application("DEM-NIR-002", "en_ligne", "06 98 70 00 11", nir), token));

        var messages = await host.QueryAsync(db => db.OutboxMessages.AsNoTracking().ToListAsync());
        var (person, _) = await RegisteredAsync(host, first);
        Assert.Multiple(() =>
        {
            Assert.That(first.GetProperty("account_created").GetBoolean(), Is.True);
            Assert.That(second.GetProperty("account_created").GetBoolean(), Is.False);
            Assert.That(messages.Where(m => m.Recipient == otherMobile), Is.Empty, "the application's unverified mobile gets nothing for an existing account");
            Assert.That(second.GetProperty("password_delivery").GetString(), Is.EqualTo("courrier"), "no verified contact on record: by letter");
            Assert.That(person.MobilePhone, Is.Null, "neither application's unverified mobile becomes the account's contact (decision 19)");
        });
        Assert.That(host.Sms.CountTo(otherMobile), Is.Zero);
    }

    [Test]
    public async Task An_application_whose_NIR_belongs_to_an_account_with_another_civil_status_is_refused_audited_and_never_merged()
    {
        await using var host = HostStore.Start(kind);
        var admin = new AdminClient(host.Host.CreateClient());
        var token = await admin.TokenAsync();
        const string nir = "2960175112345";
        const string claimantMobile = "+33698700022";
        const string ownerMobile = "+33698700033";

        // A first application names the NIR with the claimant's own civil status and mobile.
        var claim = new
        {
            application_id = "DEM-CLAIM-1", channel = "en_ligne", benefit = "aide_logement",
            applicant = new { nir, civility = "MME", birth_name = "Lefebvre", given_names = "Claire", birth_date = "1990-01-01", postal_code = "75011", mobile = "06 98 70 00 22" },
        };
        var claimed = await CreatedAsync(await admin.PostJsonAsync(ApplicantsPath, claim, token));
        Assert.That(claimed.GetProperty("account_created").GetBoolean(), Is.True);
        var claimant = await host.QueryAsync(db => db.Persons.AsNoTracking().SingleAsync(p => p.Nir == nir));

        // The NIR's owner applies: her civil status is not the account's, so the account is not hers.
        var owner = await admin.PostJsonAsync(ApplicantsPath, Application("DEM-OWNER-1", "en_ligne", "06 98 70 00 33", nir), token);
        var body = await owner.Content.ReadAsStringAsync();
        Assert.That(owner.StatusCode, Is.EqualTo(HttpStatusCode.Conflict), body);
        Assert.That((await AdminClient.JsonOf(owner)).GetProperty("code").GetString(), Is.EqualTo("civil_status_mismatch"));
        Assert.That((await AdminClient.JsonOf(owner)).GetProperty("type").GetString(), Is.EqualTo("urn:cafconnect:admin:problem:civil_status_mismatch"));
        Assert.That(body, Does.Not.Contain(nir));

        var audit = await host.QueryAsync(db => db.AuditEvents.AsNoTracking().SingleAsync(a => a.Type == AuditEventTypes.IdentityMismatchRefused));
        Assert.Multiple(() =>
        {
            Assert.That(audit.Outcome, Is.EqualTo("applicant"));
            Assert.That(audit.PersonId, Is.EqualTo(claimant.Id));
            Assert.That(audit.Details, Does.Contain("application=DEM-OWNER-1").And.Not.Contain(nir));
        });
        var files = await host.QueryAsync(db => db.Memberships.AsNoTracking().Where(m => m.PersonId == claimant.Id).CountAsync());
        Assert.That(files, Is.EqualTo(1), "the owner's application attached no file to the claimant's account");
        Assert.That(await host.QueryAsync(db => db.OutboxMessages.AsNoTracking().CountAsync(m => m.Recipient == ownerMobile || m.Recipient == claimantMobile)), Is.Zero);
        Assert.That(host.Sms.CountTo(claimantMobile) + host.Sms.CountTo(ownerMobile), Is.Zero);
        // Refused, not recorded: it may be sent again once an agent has sorted the identities out.
        Assert.That(await host.QueryAsync(db => db.Set<CafConnect.Infrastructure.Admin.ProcessedAdminRequest>().CountAsync(r => r.Key.EndsWith(":DEM-OWNER-1"))), Is.Zero);
    }

    [Test]
    public async Task A_new_account_with_a_NIR_gets_its_provisional_password_by_letter_and_never_keeps_the_applications_contact()
    {
        await using var host = HostStore.Start(kind);
        var admin = new AdminClient(host.Host.CreateClient());
        var token = await admin.TokenAsync();
        const string nir = "2960175112345";

        // Decision 19: NIR, names and birth date are no secret, so the application's mobile is only the applicant's claim.
        var answer = await CreatedAsync(await admin.PostJsonAsync(ApplicantsPath, Application("DEM-NIR-LETTER", "en_ligne", "06 98 76 54 32", nir), token));
        var (person, messages) = await RegisteredAsync(host, answer);
        Assert.Multiple(() =>
        {
            Assert.That(answer.GetProperty("account_created").GetBoolean(), Is.True);
            Assert.That(answer.GetProperty("password_delivery").GetString(), Is.EqualTo("courrier"));
            Assert.That(messages.Select(m => (m.Kind, m.Channel)), Is.EqualTo(new[] { (NotificationKind.ProvisionalPassword, NotificationChannel.Letter) }));
            Assert.That(person.MobilePhone, Is.Null, "the applicant's claim is not stored as the records' contact");
            Assert.That(person.Email, Is.Null);
        });
        Assert.That(host.Sms.CountTo(Mobile), Is.Zero);
    }

    [Test]
    public void Request_ids_are_scoped_to_the_calling_client()
    {
        var a = new CafConnect.Application.Admin.AdminCaller("systeme-a", null).IdempotencyKey("file-event", "EVT-1");
        var b = new CafConnect.Application.Admin.AdminCaller("systeme-b", null).IdempotencyKey("file-event", "EVT-1");
        var cli = new CafConnect.Application.Admin.AdminCaller(null, "operator").IdempotencyKey("file-event", "EVT-1");
        Assert.That(new[] { a, b, cli }.Distinct().Count(), Is.EqualTo(3));
        Assert.That(new CafConnect.Application.Admin.AdminCaller(new string('x', 500), null).IdempotencyKey("provisional-password:api", new string('y', 100)).Length, Is.LessThanOrEqualTo(160));
    }

    [GeneratedRegex(@"(?<![0-9])[0-9]{8}(?![0-9])")]
    private static partial Regex EightDigits();
}
