using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using CafConnect.Domain.Households;
using CafConnect.IdP.Demo;
using CafConnect.IdP.Protocol;
using CafConnect.IdP.Tests.Features.FirstLogin;
using CafConnect.IdP.Tests.Features.Recovery;
using CafConnect.IdP.Tests.Support;
using CafConnect.Infrastructure.Audit;
using CafConnect.Infrastructure.Notifications;
using CafConnect.Infrastructure.Security;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace CafConnect.IdP.Tests.Features.PhoneChannel;

/// <summary>
/// Issue 16, item 8: the personal phone code chosen in « Mon compte » (the page, over HTTP), the phone grant with NIR +
/// that code (the person's own rights), the shared file code's narrower token and its retirement
/// (<c>PhoneChannel:LegacyCodeUntil</c>).
/// </summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
public sealed class PersonalPhoneCodeTests(StoreKind kind)
{
    private static readonly Uri Page = new("/mon-compte/code-telephone", UriKind.Relative);
    private const string MarcCode = "47302918";

    private static async Task<FirstLoginDriver> SignedInAsync(JourneyHost host, DemoPerson person)
    {
        var browser = new FirstLoginDriver(host.Host.CreateBrowser());
        var login = await browser.Oidc.SubmitLoginAsync(new Uri("/connexion", UriKind.Relative), person.Nir!, person.Password);
        Assert.That(login.Headers.Location?.OriginalString, Is.EqualTo("/mon-compte"), "set-up: signed in");
        return browser;
    }

    private static Task<HttpResponseMessage> ChooseAsync(FirstLoginDriver browser, string current, string code, string? confirmation = null) =>
        browser.PostAsync(Page, new Dictionary<string, string> { ["Current"] = current, ["Code"] = code, ["Confirmation"] = confirmation ?? code });

    private static Task<HttpResponseMessage> PhoneAsync(JourneyHost host, IDictionary<string, string> parameters, TestClient? client = null) =>
        LegacyCodeGrantTests.RequestPhoneGrantAsync(host.Host.CreateBrowser(), parameters, client);

    private static Task<HttpResponseMessage> PersonalAsync(JourneyHost host, string nir, string code) =>
        PhoneAsync(host, new Dictionary<string, string> { ["nir"] = nir, ["phone_code"] = code });

    private static async Task<JsonElement> UserInfoOfAsync(JourneyHost host, HttpResponseMessage tokenResponse)
    {
        var body = await tokenResponse.Content.ReadAsStringAsync();
        Assert.That(tokenResponse.StatusCode, Is.EqualTo(HttpStatusCode.OK), body);
        var token = JsonDocument.Parse(body).RootElement.GetProperty("access_token").GetString()!;
        var userinfo = await new OidcDriver(host.Host.CreateBrowser()).UserInfoAsync(token);
        var json = await userinfo.Content.ReadAsStringAsync();
        Assert.That(userinfo.StatusCode, Is.EqualTo(HttpStatusCode.OK), json);
        return JsonDocument.Parse(json).RootElement;
    }

    private static List<string> PermissionsOn(JsonElement userinfo, string fileNumber) =>
        userinfo.GetProperty("caf_files").EnumerateArray().Single(f => f.GetProperty("file_number").GetString() == fileNumber)
            .GetProperty("permissions").EnumerateArray().Select(p => p.GetString()!).ToList();

    private static async Task SetCodeDirectlyAsync(JourneyHost host, string nir, string code)
    {
        using var scope = host.Host.Services.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<CafConnect.Infrastructure.Persistence.CafConnectDbContext>();
        var person = await db.Persons.SingleAsync(p => p.Nir == nir);
        person.PhoneCodeHash = scope.ServiceProvider.GetRequiredService<ISecretHasher>().Hash(code);
        await db.SaveChangesAsync();
    }

    [Test]
    public async Task Choosing_a_phone_code_needs_the_current_password_follows_the_legacy_code_rules_and_is_hashed_and_audited()
    {
        await using var host = HostStore.Start(kind);
        var marc = await SignedInAsync(host, DemoData.MarcDupont);
        var (account, accountHtml) = await marc.GetAsync(new Uri("/mon-compte", UriKind.Relative));
        Assert.That(WebUtility.HtmlDecode(accountHtml), Does.Contain("Mon code confidentiel pour le téléphone"));
        var (form, formHtml) = await marc.GetAsync(Page);
        Assert.That(form.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(formHtml, Does.Contain("__RequestVerificationToken"), "CSRF token in the form");

        var wrong = await ChooseAsync(marc, "Mauvais1Passe", MarcCode);
        Assert.That(wrong.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(await OidcDriver.ErrorsOf(wrong), Does.Contain("Le mot de passe actuel est incorrect."));
        var sequential = await ChooseAsync(marc, DemoData.MarcDupont.Password, "12345678");
        Assert.That(await OidcDriver.ErrorsOf(sequential), Does.Contain("8 chiffres successifs"));
        var birthDate = await ChooseAsync(marc, DemoData.MarcDupont.Password, "02111983");
        Assert.That(await OidcDriver.ErrorsOf(birthDate), Does.Contain("date de naissance"));
        var shortCode = await ChooseAsync(marc, DemoData.MarcDupont.Password, "4730291");
        Assert.That(await OidcDriver.ErrorsOf(shortCode), Does.Contain("exactement 8 chiffres"));
        var mismatch = await ChooseAsync(marc, DemoData.MarcDupont.Password, MarcCode, "47302919");
        Assert.That(await OidcDriver.ErrorsOf(mismatch), Does.Contain("Les deux codes saisis ne sont pas identiques."));
        Assert.That(await mismatch.Content.ReadAsStringAsync(), Does.Not.Contain(MarcCode), "a code typed is never sent back");

        var done = await ChooseAsync(marc, DemoData.MarcDupont.Password, MarcCode);
        Assert.That(FirstLoginDriver.Next(done).OriginalString, Is.EqualTo("/mon-compte/code-telephone?enregistre=true"));
        var (_, savedHtml) = await marc.GetAsync(FirstLoginDriver.Next(done));
        Assert.That(WebUtility.HtmlDecode(savedHtml), Does.Contain("Votre code confidentiel est enregistré"));

        var stored = await host.QueryAsync(db => db.Persons.Where(p => p.Nir == DemoData.MarcDupont.Nir).Select(p => p.PhoneCodeHash).SingleAsync());
        Assert.That(stored, Does.StartWith("$argon2id$"), "hashed with Argon2id like every secret");
        Assert.That(await host.QueryAsync(db => db.AuditEvents.CountAsync(e => e.Type == AuditEventTypes.PhoneCodeSet && e.Outcome == "chosen")), Is.EqualTo(1));
        Assert.That(await host.QueryAsync(db => db.AuditEvents.CountAsync(e => e.Type == AuditEventTypes.LoginFailed && e.Details == "step=phone_code")), Is.EqualTo(1),
            "the wrong current password spent the account's budget and was audited");
        Assert.That((await host.Sms.WaitForAsync(DemoData.MarcDupont.Mobile!)).Text, Does.Contain("code confidentiel"), "the verified contact is told");
    }

    [Test]
    public async Task The_page_needs_a_session_and_refuses_a_post_without_its_anti_forgery_token()
    {
        await using var host = HostStore.Start(kind);
        var anonymous = await host.Host.CreateBrowser().GetAsync(Page);
        Assert.That(anonymous.StatusCode, Is.EqualTo(HttpStatusCode.Redirect));
        Assert.That(anonymous.Headers.Location!.AbsolutePath, Is.EqualTo("/connexion"));

        var marc = await SignedInAsync(host, DemoData.MarcDupont);
        var forged = await marc.Browser.PostAsync(Page, new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["Current"] = DemoData.MarcDupont.Password, ["Code"] = MarcCode, ["Confirmation"] = MarcCode,
        }));
        Assert.That(forged.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(await host.QueryAsync(db => db.Persons.Where(p => p.Nir == DemoData.MarcDupont.Nir).Select(p => p.PhoneCodeHash).SingleAsync()), Is.Null);
    }

    /// <summary>The attack of seed 003: the partner without delegation tries to reach the holder's file data by phone.</summary>
    [Test]
    public async Task A_partner_without_delegation_gets_only_their_own_data_by_phone_with_their_personal_code()
    {
        await using var host = HostStore.Start(kind);
        var marc = await SignedInAsync(host, DemoData.MarcDupont);
        Assert.That(FirstLoginDriver.Next(await ChooseAsync(marc, DemoData.MarcDupont.Password, MarcCode)).OriginalString, Does.EndWith("enregistre=true"));

        var response = await PersonalAsync(host, DemoData.MarcDupont.Nir!, MarcCode);
        var tokenJson = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.That(tokenJson.TryGetProperty("id_token", out _) || tokenJson.TryGetProperty("refresh_token", out _), Is.False, "a call, not a session");
        var userinfo = await UserInfoOfAsync(host, response);
        var marcSubject = await host.QueryAsync(db => db.Persons.Where(p => p.Nir == DemoData.MarcDupont.Nir).Select(p => p.Subject).SingleAsync());
        var file = userinfo.GetProperty("caf_files").EnumerateArray().Single();
        Assert.Multiple(() =>
        {
            Assert.That(userinfo.GetProperty("sub").GetString(), Is.EqualTo(marcSubject), "the token is Marc's, not the holder's");
            Assert.That(file.GetProperty("role").GetString(), Is.EqualTo("conjoint"));
            Assert.That(PermissionsOn(userinfo, "0260311"), Is.EqualTo(HouseholdPermissions.For(HouseholdRole.Conjoint, delegated: false)));
            Assert.That(PermissionsOn(userinfo, "0260311"), Does.Not.Contain(HouseholdPermission.ConsulterDroitsPaiements), "no rights or payments of the file");
            Assert.That(userinfo.TryGetProperty("family_name", out _) || userinfo.TryGetProperty("nir", out _), Is.False, "no identity claims by phone");
        });
        var audit = await host.QueryAsync(db => db.AuditEvents.Where(e => e.Type == AuditEventTypes.LoginSucceeded && e.Outcome == "caf_code_personnel").ToListAsync());
        Assert.That(audit.Select(e => e.Channel), Is.EqualTo(new[] { "telephone" }));

        // Marc's personal code with Jeanne's NIR, or with the file number: nothing.
        var withHolderNir = await PersonalAsync(host, DemoData.JeanneDupont.Nir!, MarcCode);
        var withFile = await PhoneAsync(host, new Dictionary<string, string> { ["file_number"] = "0260311", ["legacy_code"] = MarcCode });
        Assert.That(withHolderNir.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(await withHolderNir.Content.ReadAsStringAsync(), Does.Contain("invalid_grant"));
        Assert.That(await withFile.Content.ReadAsStringAsync(), Does.Contain("invalid_grant"));
    }

    [Test]
    public async Task Wrong_code_unknown_nir_and_a_person_without_a_code_get_the_same_whole_answer()
    {
        await using var host = HostStore.Start(kind);
        await SetCodeDirectlyAsync(host, DemoData.LouiseDubois.Nir!, "61830274");
        var answers = new List<(string Branch, string Snapshot)>
        {
            ("mauvais code", await ResponseSnapshot.OfAsync(await PersonalAsync(host, DemoData.LouiseDubois.Nir!, "61830275"))),
            ("NIR inconnu", await ResponseSnapshot.OfAsync(await PersonalAsync(host, "1850175112345", "61830274"))),
            ("sans code", await ResponseSnapshot.OfAsync(await PersonalAsync(host, DemoData.KarimBenali.Nir!, "61830274"))),
        };
        ResponseSnapshot.AssertAllEqual("personal phone code", answers);
        Assert.That(answers[0].Snapshot, Does.StartWith("status: 400\n").And.Contain("invalid_grant"));

    }

    [Test]
    public async Task Ten_wrong_personal_codes_lock_that_persons_phone_code_tell_them_and_leave_their_web_login_alone()
    {
        var clock = new ManualClock();
        await using var host = JourneyHost.Start(kind, new Dictionary<string, string?>
        {
            ["Notifications:FileSink:Directory"] = Path.Combine(Path.GetTempPath(), "cafconnect-tests", "outbox-" + Guid.NewGuid().ToString("N")),
        }, services => services.AddSingleton<TimeProvider>(clock));
        await SetCodeDirectlyAsync(host, DemoData.LouiseDubois.Nir!, "61830274");
        for (var attempt = 0; attempt < 10; attempt++)
        {
            var wrong = await PersonalAsync(host, DemoData.LouiseDubois.Nir!, "10000000");
            Assert.That(await wrong.Content.ReadAsStringAsync(), Does.Contain("invalid_grant"), $"failure {attempt + 1}");
            clock.Advance(TimeSpan.FromMinutes(2)); // past every progressive delay: only the lock stops the 10th
        }
        var locked = await PersonalAsync(host, DemoData.LouiseDubois.Nir!, "61830274");
        Assert.That(await locked.Content.ReadAsStringAsync(), Does.Contain("invalid_grant"), "the right code on a locked phone code");

        var louise = await host.QueryAsync(db => db.Persons.Where(p => p.Nir == DemoData.LouiseDubois.Nir).Select(p => p.Id).SingleAsync());
        var audit = await host.QueryAsync(db => db.AuditEvents.Where(e => e.PersonId == louise).ToListAsync());
        Assert.Multiple(() =>
        {
            Assert.That(audit.Count(e => e.Type == AuditEventTypes.LoginFailed && e.Outcome == "wrong_code"), Is.EqualTo(10));
            Assert.That(audit.Single(e => e.Type == AuditEventTypes.AccountLocked).Details, Does.StartWith("scope=file;"), "the phone channel's lock, not the account's");
            Assert.That(audit.Count(e => e.Type == AuditEventTypes.LoginFailed && e.Outcome == "locked"), Is.EqualTo(1));
        });
        Assert.That((await host.Sms.WaitForAsync(DemoData.LouiseDubois.Mobile!)).Text, Does.Contain("par téléphone a été temporairement bloqué"));

        // The web login is another budget: Louise still signs in with her password.
        var web = await new OidcDriver(host.Host.CreateBrowser()).SubmitLoginAsync(new Uri("/connexion", UriKind.Relative), DemoData.LouiseDubois.Nir!, DemoData.LouiseDubois.Password);
        Assert.That(web.Headers.Location?.OriginalString, Is.EqualTo("/mon-compte"));
        clock.Advance(TimeSpan.FromMinutes(16));
        Assert.That((await PersonalAsync(host, DemoData.LouiseDubois.Nir!, "61830274")).StatusCode, Is.EqualTo(HttpStatusCode.OK), "after the 15-minute lock");
    }

    [Test]
    public async Task The_shared_file_code_gives_only_what_every_adult_of_the_file_may_do()
    {
        await using var host = HostStore.Start(kind);
        // MARTIN: Paul (allocataire) and Sophie (conjoint, no delegation) share the code.
        var response = await PhoneAsync(host, new Dictionary<string, string> { ["file_number"] = "0412345", ["legacy_code"] = DemoData.MartinLegacyCode });
        var userinfo = await UserInfoOfAsync(host, response);
        Assert.That(PermissionsOn(userinfo, "0412345"), Is.EqualTo(new[]
        {
            HouseholdPermission.DonneesPersonnelles, HouseholdPermission.ModifierCoordonnees, HouseholdPermission.DeclarerSeparation,
        }), "the intersection of the holder's and the partner's rights");
        Assert.That(PermissionsOn(userinfo, "0412345"), Does.Not.Contain(HouseholdPermission.ConsulterDroitsPaiements));

        // Once Sophie leaves the file, Paul is the only adult: the code gives his rights (computed at every call).
        await host.QueryAsync(async db =>
        {
            var sophie = await db.Memberships.SingleAsync(m => m.Person!.Nir == DemoData.SophieMartin.Nir);
            db.Memberships.Remove(sophie);
            return await db.SaveChangesAsync();
        });
        var alone = await UserInfoOfAsync(host, await PhoneAsync(host, new Dictionary<string, string> { ["file_number"] = "0412345", ["legacy_code"] = DemoData.MartinLegacyCode }));
        Assert.That(PermissionsOn(alone, "0412345"), Is.EqualTo(HouseholdPermissions.For(HouseholdRole.Allocataire, delegated: false)));
    }

    [Test]
    public async Task After_LegacyCodeUntil_the_shared_code_is_refused_with_legacy_code_retired_and_the_personal_code_still_works()
    {
        await using var host = HostStore.Start(kind, new Dictionary<string, string?> { ["PhoneChannel:LegacyCodeUntil"] = "2020-01-01T00:00:00Z" });
        var retired = await PhoneAsync(host, new Dictionary<string, string> { ["file_number"] = "0412345", ["legacy_code"] = DemoData.MartinLegacyCode });
        var body = await retired.Content.ReadAsStringAsync();
        Assert.That(retired.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), body);
        var json = JsonDocument.Parse(body).RootElement;
        Assert.That(json.GetProperty("error").GetString(), Is.EqualTo("invalid_grant"));
        Assert.That(json.GetProperty(GrantRefusals.CafConnectErrorParameter).GetString(), Is.EqualTo("legacy_code_retired"));
        var unknownFile = await PhoneAsync(host, new Dictionary<string, string> { ["file_number"] = "9999990", ["legacy_code"] = DemoData.MartinLegacyCode });
        Assert.That(await unknownFile.Content.ReadAsStringAsync(), Is.EqualTo(body), "the same answer for every file: a date, not a fact about the file");

        await SetCodeDirectlyAsync(host, DemoData.LouiseDubois.Nir!, "61830274");
        Assert.That((await PersonalAsync(host, DemoData.LouiseDubois.Nir!, "61830274")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    [TestCase("1831175115230", null, TestName = "Personal code missing is invalid_request")]
    [TestCase("183117511523", "47302918", TestName = "NIR of 12 characters is invalid_request")]
    [TestCase("1 83 11 75 115 230", "47302918", TestName = "NIR with spaces is invalid_request")]
    [TestCase("1831175115230", "4730291a", TestName = "Personal code with a letter is invalid_request")]
    public async Task Malformed_personal_parameters_are_invalid_request(string nir, string? code)
    {
        await using var host = HostStore.Start(kind);
        var form = new Dictionary<string, string> { ["nir"] = nir };
        if (code is not null) form["phone_code"] = code;
        var response = await PhoneAsync(host, form);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(await response.Content.ReadAsStringAsync(), Does.Contain("invalid_request"));
    }

    [Test]
    public async Task Both_ways_at_once_is_invalid_request()
    {
        await using var host = HostStore.Start(kind);
        var response = await PhoneAsync(host, new Dictionary<string, string>
        {
            ["file_number"] = "0412345", ["legacy_code"] = DemoData.MartinLegacyCode, ["nir"] = DemoData.PaulMartin.Nir!, ["phone_code"] = "47302918",
        });
        Assert.That(await response.Content.ReadAsStringAsync(), Does.Contain("invalid_request"));
    }

    /// <summary>
    /// Whoever held the old password must not keep the phone channel: a recovery (or a provisional password first used)
    /// voids the personal phone code chosen with it (PasswordSettingPolicy, docs/decisions.md #25).
    /// </summary>
    [Test]
    public async Task A_password_recovery_voids_the_personal_phone_code()
    {
        await using var host = HostStore.Start(kind);
        await SetCodeDirectlyAsync(host, DemoData.JeanneDupont.Nir!, "61830274");
        Assert.That((await PersonalAsync(host, DemoData.JeanneDupont.Nir!, "61830274")).StatusCode, Is.EqualTo(HttpStatusCode.OK), "set-up: the code works");

        var person = new RecoveryDriver(host.Host.CreateBrowser());
        var codePage = await person.RequestCodePageAsync("2 85 03 75 112 048");
        var code = SmsGatewaySink.CodeIn((await host.Sms.WaitForAsync(DemoData.JeanneDupont.Mobile!)).Text);
        var passwordPage = FirstLoginDriver.Next(await person.Pages.PostAsync(codePage, new Dictionary<string, string> { ["Code"] = code }));
        FirstLoginDriver.Next(await person.Pages.PostAsync(passwordPage, new Dictionary<string, string> { ["Password"] = "Lavande6Arles", ["Confirmation"] = "Lavande6Arles" }));

        var after = await PersonalAsync(host, DemoData.JeanneDupont.Nir!, "61830274");
        Assert.That(await after.Content.ReadAsStringAsync(), Does.Contain("invalid_grant"), "the phone code chosen with the old password is void");
        Assert.That(await host.QueryAsync(db => db.AuditEvents.CountAsync(e => e.Type == AuditEventTypes.PhoneCodeSet && e.Outcome == "revoked")), Is.EqualTo(1));
    }
}
