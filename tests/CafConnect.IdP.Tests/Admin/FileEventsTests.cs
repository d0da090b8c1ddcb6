using System.Net;
using System.Text.Json;
using CafConnect.Domain.Accounts;
using CafConnect.Domain.Households;
using CafConnect.Domain.Identity;
using CafConnect.IdP.Demo;
using CafConnect.IdP.Features.Login;
using CafConnect.IdP.Tests.Features.FirstLogin;
using CafConnect.IdP.Tests.Features.Recovery;
using CafConnect.IdP.Tests.Support;
using CafConnect.Infrastructure.Audit;
using CafConnect.Infrastructure.Notifications;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace CafConnect.IdP.Tests.Admin;

/// <summary>
/// <c>POST /admin/v1/file-events</c> over HTTP, each on a store of its own (the events change the demo files):
/// separation, mutation, NIR attached, death, person added / removed, file opened, and idempotency by event id.
/// </summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
public sealed class FileEventsTests(StoreKind kind)
{
    private const string Path = "/admin/v1/file-events";
    private const string AminaNir = "2900599350123";

    private static async Task<(AdminClient Admin, string Token)> AdminOf(JourneyHost host)
    {
        var admin = new AdminClient(host.Host.CreateClient());
        return (admin, await admin.TokenAsync());
    }

    private static async Task<JsonElement> AppliedAsync(HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), body);
        var json = JsonDocument.Parse(body).RootElement.Clone();
        Assert.That(json.GetProperty("status").GetString(), Is.EqualTo("applied"));
        return json;
    }

    private static async Task<List<string>> FileNumbersInUserInfoAsync(OidcDriver driver, string accessToken)
    {
        var response = await driver.UserInfoAsync(accessToken);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("caf_files")
            .EnumerateArray().Select(f => f.GetProperty("file_number").GetString()!).ToList();
    }

    private static Task<PersonAccount> PersonAsync(JourneyHost host, string nir) =>
        host.QueryAsync(db => db.Persons.AsNoTracking().Include(p => p.Memberships).ThenInclude(m => m.Household).SingleAsync(p => p.Nir == nir));

    [Test]
    public async Task Separation_ends_the_delegation_revokes_the_leaving_partners_tokens_and_gives_each_their_own_file()
    {
        await using var host = HostStore.Start(kind);
        // Jeanne delegated the file to Marc; Marc holds tokens of a relying party.
        await host.QueryAsync(async db =>
        {
            var marcOnFile = await db.Memberships.SingleAsync(m => m.Person!.Nir == DemoData.MarcDupont.Nir && m.Household!.FileNumber == "0260311");
            marcOnFile.Delegated = true;
            return await db.SaveChangesAsync();
        });
        var marc = new OidcDriver(host.Host.CreateBrowser());
        var before = await marc.SignInAndRedeemAsync(TestClient.CafFr, DemoData.MarcDupont.Nir!, DemoData.MarcDupont.Password);
        Assert.That(await FileNumbersInUserInfoAsync(marc, before.AccessToken), Is.EqualTo(new[] { "0260311" }));

        var (admin, token) = await AdminOf(host);
        var separation = new { event_id = "SEP-0001", type = "separation", file_number = "0260311", new_file_number = "0260399", person = new { nir = DemoData.MarcDupont.Nir } };
        var applied = await AppliedAsync(await admin.PostJsonAsync(Path, separation, token));
        Assert.That(applied.GetProperty("result").GetProperty("delegation_ended").GetBoolean(), Is.True);

        // Neither the refresh token nor the access token Marc kept gives him the file any more.
        var refresh = await marc.RefreshAsync(TestClient.CafFr, before.RefreshToken!);
        Assert.That(refresh.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That((await AdminClient.JsonOf(refresh)).GetProperty("error").GetString(), Is.EqualTo("invalid_grant"));
        var userinfo = await marc.UserInfoAsync(before.AccessToken);
        Assert.That(userinfo.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized), await userinfo.Content.ReadAsStringAsync());

        // Each keeps a personal account, on a file of their own.
        var marcAgain = new OidcDriver(host.Host.CreateBrowser());
        var after = await marcAgain.SignInAndRedeemAsync(TestClient.CafFr, DemoData.MarcDupont.Nir!, DemoData.MarcDupont.Password);
        Assert.That(await FileNumbersInUserInfoAsync(marcAgain, after.AccessToken), Is.EqualTo(new[] { "0260399" }));
        var jeanne = await PersonAsync(host, DemoData.JeanneDupont.Nir!);
        var marcAccount = await PersonAsync(host, DemoData.MarcDupont.Nir!);
        Assert.Multiple(() =>
        {
            Assert.That(jeanne.Memberships.Select(m => (m.Household!.FileNumber, m.Role)), Is.EqualTo(new[] { ("0260311", HouseholdRole.Allocataire) }));
            Assert.That(marcAccount.Memberships.Select(m => (m.Household!.FileNumber, m.Role, m.Delegated)), Is.EqualTo(new[] { ("0260399", HouseholdRole.Allocataire, false) }));
        });

        // Both are told: the end of the delegation (as « Mes autorisations ») and the separation.
        var jeanneMessages = await host.OutboxOfAsync(jeanne.Id);
        var marcMessages = await host.OutboxOfAsync(marcAccount.Id);
        Assert.Multiple(() =>
        {
            Assert.That(jeanneMessages.Select(m => m.Kind), Is.SupersetOf(new[] { NotificationKind.DelegationChanged, NotificationKind.SeparationRecorded }));
            Assert.That(marcMessages.Select(m => m.Kind), Is.SupersetOf(new[] { NotificationKind.DelegationChanged, NotificationKind.SeparationRecorded }));
        });

        var audit = await host.QueryAsync(db => db.AuditEvents.AsNoTracking().OrderBy(a => a.Id).ToListAsync());
        var applied_ = audit.Single(a => a.Type == AuditEventTypes.FileEventApplied);
        Assert.Multiple(() =>
        {
            Assert.That(applied_.Outcome, Is.EqualTo("separation"));
            Assert.That(applied_.PersonId, Is.EqualTo(marcAccount.Id));
            Assert.That(applied_.ClientId, Is.EqualTo(AdminClient.ClientId));
            Assert.That(applied_.Details, Does.Contain("event=SEP-0001").And.Not.Contain(DemoData.MarcDupont.Nir!));
            Assert.That(audit.Any(a => a.Type == AuditEventTypes.DelegationWithdrawn && a.PersonId == jeanne.Id), Is.True);
            Assert.That(audit.Any(a => a.Type == AuditEventTypes.GrantsRevoked && a.Outcome == "separation" && a.PersonId == marcAccount.Id), Is.True);
        });
    }

    [Test]
    public async Task Separation_resets_the_shared_legacy_code_and_sends_each_partner_a_provisional_password()
    {
        await using var host = HostStore.Start(kind);
        var (admin, token) = await AdminOf(host);
        var separation = new { event_id = "SEP-MARTIN", type = "separation", file_number = "0412345", new_file_number = "0412346", person = new { nir = DemoData.SophieMartin.Nir } };
        var applied = await AppliedAsync(await admin.PostJsonAsync(Path, separation, token));
        Assert.That(applied.GetProperty("result").GetProperty("provisional_passwords_sent").GetInt32(), Is.EqualTo(2));

        Assert.That(applied.GetProperty("result").GetProperty("file_codes_sent").GetInt32(), Is.EqualTo(2), "each resulting file gets a new code");
        var codes = await host.QueryAsync(db => db.Households.Where(h => h.FileNumber == "0412345" || h.FileNumber == "0412346").ToDictionaryAsync(h => h.FileNumber, h => h.LegacySecretHash));
        var hasher = host.Host.Services.GetRequiredService<CafConnect.Infrastructure.Security.ISecretHasher>();
        Assert.Multiple(() =>
        {
            Assert.That(codes.Values, Has.All.Not.Null, "issue 16 item 9: the household keeps its phone access, each file with a code of its own");
            Assert.That(codes["0412345"], Is.Not.EqualTo(codes["0412346"]));
            Assert.That(codes.Values.Select(hash => hasher.Verify(DemoData.MartinLegacyCode, hash!)), Has.All.EqualTo(CafConnect.Infrastructure.Security.SecretVerification.Failed), "seed 000: the shared code is changed on a separation");
        });
        // By letter to each file's holder: Paul keeps 0412345, Sophie holds 0412346.
        foreach (var (nir, file) in new[] { (DemoData.PaulMartin.Nir!, "0412345"), (DemoData.SophieMartin.Nir!, "0412346") })
        {
            var holder = await PersonAsync(host, nir);
            var letter = (await host.OutboxOfAsync(holder.Id)).Single(m => m.Kind == NotificationKind.FileCodeIssued);
            Assert.That(letter.Channel, Is.EqualTo(NotificationChannel.Letter));
            Assert.That(await host.WaitForFileTextAsync(letter.Id), Does.Contain(file).And.Contain("nouveau code confidentiel"));
        }
        foreach (var nir in new[] { DemoData.PaulMartin.Nir!, DemoData.SophieMartin.Nir! })
        {
            var person = await PersonAsync(host, nir);
            Assert.That(person.PendingProvisionalPasswordHash, Is.Not.Null);
            // Seed 000, through the contact-proof rule: « par SMS si un numéro de portable figure au dossier » — both
            // partners' records hold a mobile of their own (not verified yet: the records' contact is the person's own).
            Assert.That((await host.OutboxOfAsync(person.Id)).Where(m => m.Kind == NotificationKind.ProvisionalPassword).Select(m => (m.Channel, m.Recipient)),
                Is.EqualTo(new[] { (NotificationChannel.Sms, person.MobilePhone) }));
            var login = await new OidcDriver(host.Host.CreateBrowser()).SubmitLoginAsync(new Uri("/connexion", UriKind.Relative), nir, DemoData.MartinLegacyCode);
            Assert.That(await OidcDriver.ErrorsOf(login), Does.Contain(LoginHandler.WrongCredentialsMessage(LoginIdentifierKind.Nir)), "the old shared code no longer works");
        }
    }

    [Test]
    public async Task Mutation_changes_the_file_number_everywhere_and_tells_the_holder()
    {
        await using var host = HostStore.Start(kind);
        var louise = new OidcDriver(host.Host.CreateBrowser());
        var tokens = await louise.SignInAndRedeemAsync(TestClient.CafFr, DemoData.LouiseDubois.Nir!, DemoData.LouiseDubois.Password);
        var (admin, token) = await AdminOf(host);

        var applied = await AppliedAsync(await admin.PostJsonAsync(Path, new { event_id = "MUT-1", type = "mutation", file_number = "1234567", new_file_number = "7654321" }, token));
        Assert.That(applied.GetProperty("result").GetProperty("file_number").GetString(), Is.EqualTo("7654321"));

        Assert.That(await host.QueryAsync(db => db.Households.Select(h => h.FileNumber).ToListAsync()), Does.Contain("7654321").And.Not.Contain("1234567"));
        // Her account and tokens stay; caf_files says the new number at once.
        Assert.That(await FileNumbersInUserInfoAsync(louise, tokens.AccessToken), Is.EqualTo(new[] { "7654321" }));
        var refreshed = await OidcDriver.ReadTokensAsync(await louise.RefreshAsync(TestClient.CafFr, tokens.RefreshToken!));
        Assert.That(await FileNumbersInUserInfoAsync(louise, refreshed.AccessToken), Is.EqualTo(new[] { "7654321" }));
        var person = await PersonAsync(host, DemoData.LouiseDubois.Nir!);
        var message = (await host.OutboxOfAsync(person.Id)).Single(m => m.Kind == NotificationKind.FileTransferred);
        Assert.That(message.Channel, Is.EqualTo(NotificationChannel.Sms));
        Assert.That((await host.Sms.WaitForAsync(DemoData.LouiseDubois.Mobile!)).Text, Does.Contain("7654321"));

        var taken = await admin.PostJsonAsync(Path, new { event_id = "MUT-2", type = "mutation", file_number = "0260311", new_file_number = "7654321" }, token);
        Assert.That(taken.StatusCode, Is.EqualTo(HttpStatusCode.Conflict));
        Assert.That((await AdminClient.JsonOf(taken)).GetProperty("code").GetString(), Is.EqualTo("file_number_taken"));
    }

    [Test]
    public async Task Nir_attached_makes_the_nir_the_login_and_the_provisional_id_fails_like_a_wrong_password()
    {
        await using var host = HostStore.Start(kind);
        var (admin, token) = await AdminOf(host);
        var before = await host.QueryAsync(db => db.Persons.AsNoTracking().SingleAsync(p => p.ProvisionalId == DemoData.AminaDiallo.ProvisionalId));

        await AppliedAsync(await admin.PostJsonAsync(Path, new { event_id = "NIR-1", type = "nir_attached", person = new { provisional_id = DemoData.AminaDiallo.ProvisionalId }, nir = AminaNir }, token));

        var after = await host.QueryAsync(db => db.Persons.AsNoTracking().SingleAsync(p => p.Id == before.Id));
        Assert.Multiple(() =>
        {
            Assert.That(after.Nir, Is.EqualTo(AminaNir));
            Assert.That(after.ProvisionalId, Is.Null);
            Assert.That(after.Subject, Is.EqualTo(before.Subject), "same account, same history");
        });
        var withNir = await new OidcDriver(host.Host.CreateBrowser()).SubmitLoginAsync(new Uri("/connexion", UriKind.Relative), AminaNir, DemoData.AminaDiallo.Password);
        Assert.That(withNir.Headers.Location?.OriginalString, Is.EqualTo("/mon-compte"), await OidcDriver.ErrorsOf(withNir));
        var withProvisional = await new OidcDriver(host.Host.CreateBrowser()).SubmitLoginAsync(new Uri("/connexion?mode=provisoire", UriKind.Relative), DemoData.AminaDiallo.ProvisionalId!, DemoData.AminaDiallo.Password);
        Assert.That(withProvisional.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(await OidcDriver.ErrorsOf(withProvisional), Does.Contain(LoginHandler.WrongCredentialsMessage(LoginIdentifierKind.Provisional)));
        Assert.That((await host.OutboxOfAsync(before.Id)).Single().Kind, Is.EqualTo(NotificationKind.NirAttached));

        // A NIR already held by another account is a conflict, nothing changes.
        var taken = await admin.PostJsonAsync(Path, new { event_id = "NIR-2", type = "nir_attached", person = new { provisional_id = "P12345678" }, nir = DemoData.JeanneDupont.Nir }, token);
        Assert.That(taken.StatusCode, Is.EqualTo((HttpStatusCode)422), "unknown provisional identifier");
    }

    [Test]
    public async Task Death_closes_the_account_revokes_its_tokens_and_login_is_refused_like_a_wrong_password()
    {
        await using var host = HostStore.Start(kind);
        var louise = new OidcDriver(host.Host.CreateBrowser());
        var tokens = await louise.SignInAndRedeemAsync(TestClient.CafFr, DemoData.LouiseDubois.Nir!, DemoData.LouiseDubois.Password);
        var (admin, token) = await AdminOf(host);

        await AppliedAsync(await admin.PostJsonAsync(Path, new { event_id = "DEATH-1", type = "death", person = new { nir = DemoData.LouiseDubois.Nir } }, token));

        var person = await PersonAsync(host, DemoData.LouiseDubois.Nir!);
        Assert.That(person.IsClosed, Is.True);
        Assert.That((await louise.RefreshAsync(TestClient.CafFr, tokens.RefreshToken!)).StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That((await louise.UserInfoAsync(tokens.AccessToken)).StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        var login = await new OidcDriver(host.Host.CreateBrowser()).SubmitLoginAsync(new Uri("/connexion", UriKind.Relative), DemoData.LouiseDubois.Nir!, DemoData.LouiseDubois.Password);
        Assert.That(login.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(await OidcDriver.ErrorsOf(login), Does.Contain(LoginHandler.WrongCredentialsMessage(LoginIdentifierKind.Nir)));
        var audit = await host.QueryAsync(db => db.AuditEvents.AsNoTracking().Where(a => a.PersonId == person.Id).Select(a => a.Type + ":" + a.Outcome).ToListAsync());
        Assert.That(audit, Does.Contain("account.closed:death").And.Contain("grants.revoked:death").And.Contain("admin.file_event.applied:death"));
    }

    [Test]
    public async Task Person_added_then_removed_shows_in_the_claims_and_refusals_explain_why()
    {
        await using var host = HostStore.Start(kind);
        var (admin, token) = await AdminOf(host);
        const string childNir = "1150575112077";
        var added = new
        {
            event_id = "ADD-1", type = "person_added", file_number = "1234567", role = "enfant",
            person = new { nir = childNir, civility = "M", birth_name = "Dubois", given_names = "Hugo", birth_date = "2010-05-02" },
        };
        await AppliedAsync(await admin.PostJsonAsync(Path, added, token));
        var child = await PersonAsync(host, childNir);
        Assert.That(child.Memberships.Select(m => (m.Household!.FileNumber, m.Role)), Is.EqualTo(new[] { ("1234567", HouseholdRole.Enfant) }));
        Assert.That(child.BirthName, Is.EqualTo("DUBOIS"));

        var again = await admin.PostJsonAsync(Path, added with { }, token);
        Assert.That(again.Headers.GetValues("Idempotent-Replayed").Single(), Is.EqualTo("true"));

        var partnerTwice = await admin.PostJsonAsync(Path, new { event_id = "ADD-2", type = "person_added", file_number = "0260311", role = "conjoint", person = new { nir = DemoData.LouiseDubois.Nir, civility = "MME", birth_name = "Dubois", given_names = "Louise", birth_date = "1992-07-21" } }, token);
        Assert.That(partnerTwice.StatusCode, Is.EqualTo(HttpStatusCode.Conflict));
        Assert.That((await AdminClient.JsonOf(partnerTwice)).GetProperty("code").GetString(), Is.EqualTo("file_has_partner"));
        var unknown = await admin.PostJsonAsync(Path, new { event_id = "ADD-3", type = "person_added", file_number = "1234567", role = "autre", person = new { nir = "1150575112088" } }, token);
        Assert.That(unknown.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), "person_added always states who is added");
        Assert.That((await AdminClient.JsonOf(unknown)).GetProperty("errors").EnumerateObject().Select(p => p.Name),
            Is.SupersetOf(new[] { "person.civility", "person.birth_name", "person.given_names", "person.birth_date" }));

        await AppliedAsync(await admin.PostJsonAsync(Path, new { event_id = "REM-1", type = "person_removed", file_number = "1234567", person = new { nir = childNir } }, token));
        Assert.That((await PersonAsync(host, childNir)).Memberships, Is.Empty);
        var holder = await admin.PostJsonAsync(Path, new { event_id = "REM-2", type = "person_removed", file_number = "1234567", person = new { nir = DemoData.LouiseDubois.Nir } }, token);
        Assert.That((await AdminClient.JsonOf(holder)).GetProperty("code").GetString(), Is.EqualTo("allocataire_cannot_be_removed"));
    }

    [Test]
    public async Task Person_added_naming_an_account_by_NIR_with_another_civil_status_is_refused_audited_and_never_attached()
    {
        await using var host = HostStore.Start(kind);
        var (admin, token) = await AdminOf(host);
        // Louise's NIR with someone else's civil status: the benefits system's record and the account are not the same person.
        var stranger = new
        {
            event_id = "ADD-MISMATCH", type = "person_added", file_number = "0260311", role = "autre",
            person = new { nir = DemoData.LouiseDubois.Nir, civility = "MME", birth_name = "Lefebvre", given_names = "Claire", birth_date = "1992-07-21" },
        };
        var refused = await admin.PostJsonAsync(Path, stranger, token);
        var body = await refused.Content.ReadAsStringAsync();
        Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.Conflict), body);
        Assert.That(refused.Content.Headers.ContentType!.MediaType, Is.EqualTo("application/problem+json"));
        Assert.That((await AdminClient.JsonOf(refused)).GetProperty("code").GetString(), Is.EqualTo("civil_status_mismatch"));
        Assert.That(body, Does.Not.Contain(DemoData.LouiseDubois.Nir!).And.Not.Contain("DUBOIS").And.Not.Contain("Louise"));

        var louise = await PersonAsync(host, DemoData.LouiseDubois.Nir!);
        Assert.That(louise.Memberships.Select(m => m.Household!.FileNumber), Is.EqualTo(new[] { "1234567" }), "not attached to the other family's file");
        var audit = await host.QueryAsync(db => db.AuditEvents.AsNoTracking().SingleAsync(a => a.Type == AuditEventTypes.IdentityMismatchRefused));
        Assert.Multiple(() =>
        {
            Assert.That(audit.Outcome, Is.EqualTo("person_added"));
            Assert.That(audit.PersonId, Is.EqualTo(louise.Id));
            Assert.That(audit.Details, Does.Contain("event=ADD-MISMATCH").And.Contain("by=client:systeme-prestations").And.Not.Contain(DemoData.LouiseDubois.Nir!));
        });
        Assert.That(await host.QueryAsync(db => db.AuditEvents.CountAsync(a => a.Type == AuditEventTypes.FileEventApplied)), Is.Zero);

        // Refused, not recorded: the same id, corrected, is applied (the usual rule for a 4xx).
        var corrected = stranger with { person = new { nir = DemoData.LouiseDubois.Nir, civility = "MME", birth_name = "DUBOIS", given_names = "Louise", birth_date = "1992-07-21" } };
        await AppliedAsync(await admin.PostJsonAsync(Path, corrected, token));

        // Events that name a person to act on them check a civil status when they state one.
        var death = await admin.PostJsonAsync(Path, new
        {
            event_id = "DEATH-MISMATCH", type = "death",
            person = new { nir = DemoData.LouiseDubois.Nir, civility = "MME", birth_name = "Lefebvre", given_names = "Claire", birth_date = "1992-07-21" },
        }, token);
        Assert.That((await AdminClient.JsonOf(death)).GetProperty("code").GetString(), Is.EqualTo("civil_status_mismatch"));
        Assert.That((await PersonAsync(host, DemoData.LouiseDubois.Nir!)).ClosedAt, Is.Null);
    }

    [Test]
    public async Task The_same_event_id_is_applied_once_and_another_payload_under_it_is_a_409()
    {
        await using var host = HostStore.Start(kind);
        var (admin, token) = await AdminOf(host);
        var mutation = new { event_id = "MUT-IDEM", type = "mutation", file_number = "1234567", new_file_number = "7654321" };
        var first = await admin.PostJsonAsync(Path, mutation, token);
        var firstBody = await first.Content.ReadAsStringAsync();
        Assert.That(first.StatusCode, Is.EqualTo(HttpStatusCode.OK), firstBody);
        Assert.That(first.Headers.Contains("Idempotent-Replayed"), Is.False);

        // Field order and spacing do not matter: the parsed event is compared.
        var replay = await admin.PostRawAsync(Path, "{ \"new_file_number\": \"7654321\", \"type\": \"mutation\", \"file_number\": \"1234567\", \"event_id\": \"MUT-IDEM\" }", token);
        Assert.That(replay.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(await replay.Content.ReadAsStringAsync(), Is.EqualTo(firstBody));
        Assert.That(replay.Headers.GetValues("Idempotent-Replayed").Single(), Is.EqualTo("true"));

        var conflicting = await admin.PostJsonAsync(Path, mutation with { new_file_number = "7654322" }, token);
        Assert.That(conflicting.StatusCode, Is.EqualTo(HttpStatusCode.Conflict));
        Assert.That((await AdminClient.JsonOf(conflicting)).GetProperty("code").GetString(), Is.EqualTo("idempotency_conflict"));
        Assert.That(await host.QueryAsync(db => db.Households.CountAsync(h => h.FileNumber == "7654321" || h.FileNumber == "7654322")), Is.EqualTo(1));
        Assert.That(await host.QueryAsync(db => db.AuditEvents.CountAsync(a => a.Type == AuditEventTypes.FileEventApplied)), Is.EqualTo(1), "audited once");
    }

    /// <summary>Two children added to the MARTIN file (Paul allocataire, Sophie conjoint) for the separation tests.</summary>
    private static async Task AddMartinChildrenAsync(AdminClient admin, string token)
    {
        await AppliedAsync(await admin.PostJsonAsync(Path, new { event_id = "ADD-CHILD-1", type = "person_added", file_number = "0412345", role = "enfant",
            person = new { nir = "1150513055077", civility = "M", birth_name = "MARTIN", given_names = "Hugo", birth_date = "2015-05-02" } }, token));
        await AppliedAsync(await admin.PostJsonAsync(Path, new { event_id = "ADD-CHILD-2", type = "person_added", file_number = "0412345", role = "enfant",
            person = new { nir = "2180813055088", civility = "MME", birth_name = "MARTIN", given_names = "Inès", birth_date = "2018-08-21" } }, token));
    }

    [Test]
    public async Task Separation_moves_each_child_to_the_file_the_event_names_for_them()
    {
        await using var host = HostStore.Start(kind);
        var (admin, token) = await AdminOf(host);
        await AddMartinChildrenAsync(admin, token);

        var applied = await AppliedAsync(await admin.PostJsonAsync(Path, new
        {
            event_id = "SEP-CHILDREN", type = "separation", file_number = "0412345", new_file_number = "0412399", person = new { nir = DemoData.SophieMartin.Nir },
            children = new object[]
            {
                new { person = new { nir = "1150513055077" }, file_number = "0412345" },
                new { person = new { nir = "2180813055088" }, file_number = "0412399" },
            },
        }, token));

        Assert.That(applied.GetProperty("result").GetProperty("children_moved").GetInt32(), Is.EqualTo(1));
        var hugo = await PersonAsync(host, "1150513055077");
        var ines = await PersonAsync(host, "2180813055088");
        Assert.Multiple(() =>
        {
            Assert.That(hugo.Memberships.Select(m => (m.Household!.FileNumber, m.Role)), Is.EqualTo(new[] { ("0412345", HouseholdRole.Enfant) }), "stays with Paul");
            Assert.That(ines.Memberships.Select(m => (m.Household!.FileNumber, m.Role)), Is.EqualTo(new[] { ("0412399", HouseholdRole.Enfant) }), "moves with Sophie");
        });
        var audit = await host.QueryAsync(db => db.AuditEvents.AsNoTracking().SingleAsync(a => a.Type == AuditEventTypes.FileEventApplied && a.Outcome == "separation"));
        Assert.That(audit.Details, Does.Contain("children_moved=1").And.Not.Contain("1150513055077"));
    }

    [Test]
    public async Task Separation_that_leaves_a_child_unnamed_is_a_400_listing_them_and_changes_nothing()
    {
        await using var host = HostStore.Start(kind);
        var (admin, token) = await AdminOf(host);
        await AddMartinChildrenAsync(admin, token);

        var response = await admin.PostJsonAsync(Path, new
        {
            event_id = "SEP-MISSING", type = "separation", file_number = "0412345", new_file_number = "0412399", person = new { nir = DemoData.SophieMartin.Nir },
            children = new object[] { new { person = new { nir = "1150513055077" }, file_number = "0412399" } },
        }, token);
        var body = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), body);
        Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"));
        var problem = JsonDocument.Parse(body).RootElement;
        var errors = problem.GetProperty("errors").GetProperty("children").EnumerateArray().Select(e => e.GetString()).ToList();
        Assert.That(errors, Has.Some.Contains("Inès").And.Some.Contains("2018-08-21"), "the unnamed child is listed");
        Assert.That(errors, Has.None.Contains("Hugo"));
        Assert.That(body, Does.Not.Contain("2180813055088"), "no identifier echoed");
        Assert.That(await host.QueryAsync(db => db.Households.AnyAsync(h => h.FileNumber == "0412399")), Is.False, "nothing applied");

        var noneNamed = await admin.PostJsonAsync(Path, new { event_id = "SEP-NONE", type = "separation", file_number = "0412345", new_file_number = "0412399", person = new { nir = DemoData.SophieMartin.Nir } }, token);
        var noneErrors = JsonDocument.Parse(await noneNamed.Content.ReadAsStringAsync()).RootElement.GetProperty("errors").GetProperty("children").EnumerateArray().Select(e => e.GetString()).ToList();
        Assert.That(noneNamed.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(noneErrors, Has.Some.Contains("Hugo").And.Some.Contains("Inès"));
    }

    [Test]
    public async Task Separation_children_are_validated_file_number_and_who_they_are()
    {
        await using var host = HostStore.Start(kind);
        var (admin, token) = await AdminOf(host);
        await AddMartinChildrenAsync(admin, token);

        var otherFile = await admin.PostJsonAsync(Path, new
        {
            event_id = "SEP-BADFILE", type = "separation", file_number = "0412345", new_file_number = "0412399", person = new { nir = DemoData.SophieMartin.Nir },
            children = new object[] { new { person = new { nir = "1150513055077" }, file_number = "0260311" }, new { person = new { nir = "2180813055088" }, file_number = "0412345" } },
        }, token);
        Assert.That(otherFile.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(await otherFile.Content.ReadAsStringAsync(), Does.Contain("file_number or new_file_number"));

        var notAChild = await admin.PostJsonAsync(Path, new
        {
            event_id = "SEP-NOTCHILD", type = "separation", file_number = "0412345", new_file_number = "0412399", person = new { nir = DemoData.SophieMartin.Nir },
            children = new object[] { new { person = new { nir = DemoData.JeanneDupont.Nir }, file_number = "0412345" } },
        }, token);
        Assert.That(notAChild.StatusCode, Is.EqualTo(HttpStatusCode.UnprocessableEntity));
        Assert.That((await AdminClient.JsonOf(notAChild)).GetProperty("code").GetString(), Is.EqualTo("not_a_child"));

        var onMutation = await admin.PostJsonAsync(Path, new { event_id = "MUT-CHILD", type = "mutation", file_number = "0412345", new_file_number = "0412399",
            children = new object[] { new { person = new { nir = "1150513055077" }, file_number = "0412399" } } }, token);
        Assert.That(onMutation.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(await onMutation.Content.ReadAsStringAsync(), Does.Contain("only for a separation"));
    }

    [Test]
    public async Task Mutation_of_a_file_with_a_shared_code_sends_its_holder_a_new_code_by_letter()
    {
        await using var host = HostStore.Start(kind);
        var (admin, token) = await AdminOf(host);
        var applied = await AppliedAsync(await admin.PostJsonAsync(Path, new { event_id = "MUT-MARTIN", type = "mutation", file_number = "0412345", new_file_number = "0499999" }, token));
        Assert.That(applied.GetProperty("result").GetProperty("file_codes_sent").GetInt32(), Is.EqualTo(1));

        var paul = await PersonAsync(host, DemoData.PaulMartin.Nir!);
        var letter = (await host.OutboxOfAsync(paul.Id)).Single(m => m.Kind == NotificationKind.FileCodeIssued);
        Assert.That(letter.Channel, Is.EqualTo(NotificationChannel.Letter));
        var text = await host.WaitForFileTextAsync(letter.Id);
        var code = System.Text.RegularExpressions.Regex.Match(text, @"code confidentiel : (\d{8})").Groups[1].Value;
        Assert.That(code, Has.Length.EqualTo(8));
        var sophie = await PersonAsync(host, DemoData.SophieMartin.Nir!);
        Assert.That((await host.OutboxOfAsync(sophie.Id)).Where(m => m.Kind == NotificationKind.FileCodeIssued), Is.Empty, "to the holder only");

        var phone = await CafConnect.IdP.Tests.Features.PhoneChannel.LegacyCodeGrantTests.RequestPhoneGrantAsync(host.Host.CreateBrowser(),
            new Dictionary<string, string> { ["file_number"] = "0499999", ["legacy_code"] = code });
        Assert.That(phone.StatusCode, Is.EqualTo(HttpStatusCode.OK), "the household keeps its phone access with the new number and code");
        var old = await CafConnect.IdP.Tests.Features.PhoneChannel.LegacyCodeGrantTests.RequestPhoneGrantAsync(host.Host.CreateBrowser(),
            new Dictionary<string, string> { ["file_number"] = "0499999", ["legacy_code"] = DemoData.MartinLegacyCode });
        Assert.That(old.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), "the old code is void");
    }
}
