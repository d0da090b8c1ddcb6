using System.Net;
using CafConnect.Application.Identity;
using CafConnect.Domain.Accounts;
using CafConnect.Domain.Households;
using CafConnect.IdP.Demo;
using CafConnect.IdP.Tests.Features.AccountCreation;
using CafConnect.IdP.Tests.Features.FirstLogin;
using CafConnect.IdP.Tests.Features.Recovery;
using CafConnect.IdP.Tests.Support;
using CafConnect.Infrastructure.Audit;
using CafConnect.Infrastructure.Notifications;
using Microsoft.EntityFrameworkCore;

namespace CafConnect.IdP.Tests.Features.Account;

/// <summary>
/// « Mon foyer » over HTTP: the file holder invites a household member of 16 or more; the invitee creates their account
/// with « Créer Mon Compte » and joins the file with the role the holder chose, as userinfo shows.
/// </summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
public sealed class HouseholdInvitationTests(StoreKind kind)
{
    internal static Dictionary<string, string> Nina(string birthDate = "01/01/2008", string role = "autre", string contact = "nina.dubois@example.fr") => new()
    {
        ["FileNumber"] = "1234567",
        ["Role"] = role,
        ["BirthName"] = "Dubois",
        ["GivenNames"] = "Nina",
        ["BirthDate"] = birthDate,
        ["Contact"] = contact,
    };

    internal static async Task<FirstLoginDriver> SignInAsync(JourneyHost host, DemoPerson person)
    {
        var browser = new FirstLoginDriver(host.Host.CreateBrowser());
        var login = await browser.Oidc.SubmitLoginAsync(new Uri("/connexion", UriKind.Relative), person.Nir!, person.Password);
        Assert.That(login.Headers.Location?.OriginalString, Is.EqualTo("/mon-compte"), await OidcDriver.ErrorsOf(login));
        return browser;
    }

    /// <summary>The invitation « Rejoindre le dossier … ? » shows (the answer names it).</summary>
    internal static string InvitationOnPage(string html) =>
        System.Text.RegularExpressions.Regex.Match(html, "name=\"Invitation\" value=\"([^\"]*)\"").Groups[1].Value;

    /// <summary>« Rejoindre ce dossier » (Join) or « Ne pas rejoindre ce dossier » (Decline) on the page as shown.</summary>
    private static async Task<HttpResponseMessage> AnswerAsync(FirstLoginDriver pages, Uri page, string handler)
    {
        var (_, html) = await pages.GetAsync(page);
        return await pages.PostAsync(page, new Dictionary<string, string> { ["Invitation"] = InvitationOnPage(html) }, handler);
    }

    /// <summary>
    /// Nina DUBOIS (born 01/01/2008, no NIR) creates her account at the relying party with <paramref name="contact"/> and
    /// enters the code sent there: the driver and the page the code leads to.
    /// </summary>
    internal static async Task<(AccountCreationDriver Nina, Uri Next)> NinaCreatesHerAccountAsync(JourneyHost host, string contact)
    {
        var nina = new AccountCreationDriver(host);
        await nina.StartAtRelyingPartyAsync();
        var fields = AccountCreationDriver.Morvan(contact: contact, birthDate: "01/01/2008");
        fields["Civility"] = "MME";
        fields["BirthName"] = "DUBOIS";
        fields["GivenNames"] = "Nina";
        var verify = FirstLoginDriver.Next(await nina.SubmitWithoutNirAsync(fields));
        return (nina, FirstLoginDriver.Next(await nina.Pages.PostAsync(verify, new Dictionary<string, string> { ["Code"] = await nina.CodeSentToAsync(contact) })));
    }

    [Test]
    public async Task An_invited_member_creates_their_account_and_joins_the_file_with_the_role_chosen()
    {
        await using var host = HostStore.Start(kind);
        var louise = await SignInAsync(host, DemoData.LouiseDubois);
        var (_, accountHtml) = await louise.GetAsync(new Uri("/mon-compte", UriKind.Relative));
        Assert.That(accountHtml, Does.Contain("href=\"/mon-compte/foyer\""));
        var (_, before) = await louise.GetAsync(new Uri("/mon-compte/foyer", UriKind.Relative));
        Assert.That(WebUtility.HtmlDecode(before), Does.Contain("Léa DUBOIS").And.Contain("Pas encore créé"), "the file's members are listed");

        var sent = await louise.PostAsync(new Uri("/mon-compte/foyer", UriKind.Relative), Nina());
        Assert.That(FirstLoginDriver.Next(sent).OriginalString, Is.EqualTo("/mon-compte/foyer?invitation=envoyee"), await OidcDriver.ErrorsOf(sent));
        var message = await host.QueryAsync(db => db.OutboxMessages.AsNoTracking().SingleAsync(m => m.Kind == NotificationKind.HouseholdInvitation));
        Assert.That((message.Channel, message.Recipient), Is.EqualTo((NotificationChannel.Email, "nina.dubois@example.fr")));
        Assert.That(await host.WaitForFileTextAsync(message.Id), Does.Contain("Louise DUBOIS, responsable de votre dossier Caf, vous invite à créer votre propre Espace Mon Compte.").And.Contain("« Créer Mon Compte »"));
        var audit = await host.QueryAsync(db => db.AuditEvents.AsNoTracking().SingleAsync(e => e.Type == AuditEventTypes.HouseholdInvitationSent));
        Assert.That(audit.Outcome, Is.EqualTo("autre"));
        Assert.That(audit.Details, Does.Contain("file=1234567"));

        // Nina has no NIR: she creates her account without one, with the civil status and the contact of the invitation.
        var (nina, join) = await NinaCreatesHerAccountAsync(host, "nina.dubois@example.fr");
        Assert.That(join.AbsolutePathOrOriginal(), Is.EqualTo("/creer-mon-compte/rejoindre-dossier"), "the invitation is answered, not redeemed silently");
        var (_, joinHtml) = await nina.Pages.GetAsync(join);
        Assert.That(WebUtility.HtmlDecode(joinHtml), Does.Contain("Rejoindre le dossier n° 1234567 ?").And.Contain("Louise DUBOIS, responsable du dossier Caf n° 1234567"));
        Assert.That(await host.QueryAsync(db => db.HouseholdInvitations.CountAsync(i => i.AcceptedAt != null)), Is.Zero);
        var summary = FirstLoginDriver.Next(await AnswerAsync(nina.Pages, join, "Join"));
        var (_, summaryHtml) = await nina.Pages.GetAsync(summary);
        Assert.That(WebUtility.HtmlDecode(summaryHtml), Does.Contain("Votre compte est rattaché au dossier Caf n° 1234567."));
        var terms = FirstLoginDriver.Next(await nina.Pages.PostAsync(summary, new Dictionary<string, string>()));
        var (_, userInfo) = await nina.FinishAtRelyingPartyAsync(await nina.AcceptTermsAndChoosePasswordAsync(terms));

        var file = userInfo.GetProperty("caf_files").EnumerateArray().Single();
        Assert.That((file.GetProperty("file_number").GetString(), file.GetProperty("role").GetString()), Is.EqualTo(("1234567", "autre")));
        Assert.That(file.GetProperty("permissions").EnumerateArray().Select(p => p.GetString()), Is.EqualTo(new[] { "donnees_personnelles" }));
        var accepted = await host.QueryAsync(db => db.HouseholdInvitations.AsNoTracking().SingleAsync());
        Assert.That(accepted.AcceptedAt, Is.Not.Null);
        Assert.That(await host.QueryAsync(db => db.AuditEvents.CountAsync(e => e.Type == AuditEventTypes.HouseholdInvitationAccepted && e.Outcome == "joined")), Is.EqualTo(1));
    }

    [Test]
    public async Task An_invited_member_known_to_the_records_creates_their_account_with_their_NIR_and_joins_the_file_with_the_role_chosen()
    {
        await using var host = HostStore.Start(kind);
        // Hugo is in the agency's records (imported with his NIR and his e-mail, no account, on no file): « Créer Mon
        // Compte » with his NIR activates him; the invitation decides which file he joins and as what. (Without a contact
        // on record the code would go by letter: an invitation's contact, typed by someone else, proves nothing — #16.)
        const string hugoNir = "105057511234569";
        var hugoId = await host.QueryAsync(async db =>
        {
            var hugo = new PersonAccount
            {
                Nir = hugoNir[..13], Civility = Civility.Monsieur, BirthName = "DUBOIS", GivenNames = "Hugo", BirthDate = new DateOnly(2005, 5, 20),
                Email = "hugo.dubois@example.fr", CredentialKind = CredentialKind.None,
            };
            db.Persons.Add(hugo);
            await db.SaveChangesAsync();
            return hugo.Id;
        });
        var louise = await SignInAsync(host, DemoData.LouiseDubois);
        var invitation = new Dictionary<string, string>
        {
            ["FileNumber"] = "1234567", ["Role"] = "enfant", ["BirthName"] = "Dubois", ["GivenNames"] = "Hugo", ["BirthDate"] = "20/05/2005", ["Contact"] = "hugo.dubois@example.fr",
        };
        var sent = await louise.PostAsync(new Uri("/mon-compte/foyer", UriKind.Relative), invitation);
        Assert.That(FirstLoginDriver.Next(sent).OriginalString, Is.EqualTo("/mon-compte/foyer?invitation=envoyee"), await OidcDriver.ErrorsOf(sent));

        var hugo = new AccountCreationDriver(host);
        await hugo.StartAtRelyingPartyAsync();
        var choice = FirstLoginDriver.Next(await hugo.SubmitWithNirAsync(AccountCreationDriver.Lea(nir: hugoNir, birthName: "Dubois", givenNames: "hugo", birthDate: "20/05/2005")));
        var (_, choiceHtml) = await hugo.Pages.GetAsync(choice);
        Assert.That(WebUtility.HtmlDecode(choiceHtml), Does.Contain("Recevoir le code par mail à h***@example.fr").And.Not.Contain("hugo.dubois@"), "the records' e-mail, masked");
        var verify = await hugo.ChooseAsync(choice, "mail");
        Assert.That(verify.AbsolutePathOrOriginal(), Is.EqualTo("/creer-mon-compte/verification"));
        Assert.That(await host.QueryAsync(db => db.Memberships.CountAsync(m => m.PersonId == hugoId)), Is.Zero, "nothing is joined before the code");
        var join = FirstLoginDriver.Next(await hugo.Pages.PostAsync(verify, new Dictionary<string, string> { ["Code"] = await hugo.CodeSentToAsync("hugo.dubois@example.fr") }));
        Assert.That(join.AbsolutePathOrOriginal(), Is.EqualTo("/creer-mon-compte/rejoindre-dossier"));
        var terms = FirstLoginDriver.Next(await AnswerAsync(hugo.Pages, join, "Join"));
        var (_, userInfo) = await hugo.FinishAtRelyingPartyAsync(await hugo.AcceptTermsAndChoosePasswordAsync(terms));

        var file = userInfo.GetProperty("caf_files").EnumerateArray().Single();
        Assert.That((file.GetProperty("file_number").GetString(), file.GetProperty("role").GetString()), Is.EqualTo(("1234567", "enfant")), "the role Louise chose");
        var membership = await host.QueryAsync(db => db.Memberships.AsNoTracking().Include(m => m.Household).SingleAsync(m => m.PersonId == hugoId));
        var accepted = await host.QueryAsync(db => db.HouseholdInvitations.AsNoTracking().SingleAsync());
        var joinedRows = await host.QueryAsync(db => db.AuditEvents.CountAsync(e => e.Type == AuditEventTypes.HouseholdInvitationAccepted && e.Outcome == "joined" && e.PersonId == hugoId));
        var createdRows = await host.QueryAsync(db => db.AuditEvents.CountAsync(e => e.Type == AuditEventTypes.AccountCreated && e.Outcome == "with_nir" && e.PersonId == hugoId));
        Assert.Multiple(() =>
        {
            Assert.That((membership.Household!.FileNumber, membership.Role), Is.EqualTo(("1234567", HouseholdRole.Enfant)));
            Assert.That((accepted.AcceptedAt is not null, accepted.AcceptedByPersonId), Is.EqualTo((true, (Guid?)hugoId)));
            Assert.That(joinedRows, Is.EqualTo(1));
            Assert.That(createdRows, Is.EqualTo(1), "activated through the with-NIR path");
        });
    }

    [Test]
    public async Task An_invitation_does_not_attach_someone_who_proves_another_contact()
    {
        await using var host = HostStore.Start(kind);
        var louise = await SignInAsync(host, DemoData.LouiseDubois);
        FirstLoginDriver.Next(await louise.PostAsync(new Uri("/mon-compte/foyer", UriKind.Relative), Nina()));

        var impostor = new AccountCreationDriver(host);
        var fields = AccountCreationDriver.Morvan(contact: "06 15 00 00 71", birthDate: "01/01/2008");
        fields["BirthName"] = "Dubois";
        fields["GivenNames"] = "Nina";
        var verify = FirstLoginDriver.Next(await impostor.SubmitWithoutNirAsync(fields));
        FirstLoginDriver.Next(await impostor.Pages.PostAsync(verify, new Dictionary<string, string> { ["Code"] = await impostor.CodeSentToAsync("+33615000071") }));

        var person = await host.QueryAsync(db => db.Persons.AsNoTracking().Include(p => p.Memberships).SingleAsync(p => p.GivenNames == "NINA"));
        Assert.That(person.Memberships, Is.Empty, "the invitation went to another contact");
        Assert.That(await host.QueryAsync(db => db.HouseholdInvitations.AsNoTracking().SingleAsync()), Has.Property("AcceptedAt").Null);
    }

    [Test]
    public async Task Two_holders_inviting_the_same_person_each_invitation_is_answered_on_its_own_and_only_the_accepted_file_is_joined()
    {
        await using var host = HostStore.Start(kind);
        var louise = await SignInAsync(host, DemoData.LouiseDubois);
        Assert.That(FirstLoginDriver.Next(await louise.PostAsync(new Uri("/mon-compte/foyer", UriKind.Relative), Nina())).OriginalString, Is.EqualTo("/mon-compte/foyer?invitation=envoyee"));
        var jeanne = await SignInAsync(host, DemoData.JeanneDupont);
        var toJeannesFile = Nina();
        toJeannesFile["FileNumber"] = "0260311";
        var sent = await jeanne.PostAsync(new Uri("/mon-compte/foyer", UriKind.Relative), toJeannesFile);
        Assert.That(FirstLoginDriver.Next(sent).OriginalString, Is.EqualTo("/mon-compte/foyer?invitation=envoyee"), await OidcDriver.ErrorsOf(sent));

        var (nina, first) = await NinaCreatesHerAccountAsync(host, "nina.dubois@example.fr");
        var (_, firstHtml) = await nina.Pages.GetAsync(first);
        Assert.That(WebUtility.HtmlDecode(firstHtml), Does.Contain("Rejoindre le dossier n° 1234567 ?"), "the oldest invitation first");
        var firstInvitation = InvitationOnPage(firstHtml);

        // « Ne pas rejoindre ce dossier »: the next invitation, on its own page.
        var second = FirstLoginDriver.Next(await AnswerAsync(nina.Pages, first, "Decline"));
        Assert.That(second.AbsolutePathOrOriginal(), Is.EqualTo("/creer-mon-compte/rejoindre-dossier"));
        var (_, secondHtml) = await nina.Pages.GetAsync(second);
        Assert.That(WebUtility.HtmlDecode(secondHtml), Does.Contain("Rejoindre le dossier n° 0260311 ?").And.Contain("Jeanne DUPONT"));
        // A second click on the first page (its answer names the first invitation) never joins the second file.
        var stale = await nina.Pages.PostAsync(second, new Dictionary<string, string> { ["Invitation"] = firstInvitation }, handler: "Join");
        Assert.That(FirstLoginDriver.Next(stale).AbsolutePathOrOriginal(), Is.EqualTo("/creer-mon-compte/rejoindre-dossier"));
        Assert.That(await host.QueryAsync(db => db.HouseholdInvitations.CountAsync(i => i.AcceptedAt != null)), Is.Zero);
        var summary = FirstLoginDriver.Next(await AnswerAsync(nina.Pages, second, "Join"));
        Assert.That(summary.AbsolutePathOrOriginal(), Is.EqualTo("/creer-mon-compte/recapitulatif"));
        var (_, summaryHtml) = await nina.Pages.GetAsync(summary);
        Assert.That(WebUtility.HtmlDecode(summaryHtml), Does.Contain("Votre compte est rattaché au dossier Caf n° 0260311."));

        var ninaId = await host.QueryAsync(db => db.Persons.Where(p => p.BirthDate == new DateOnly(2008, 1, 1) && p.ProvisionalId != null).Select(p => p.Id).SingleAsync());
        var files = await host.QueryAsync(db => db.Memberships.AsNoTracking().Where(m => m.PersonId == ninaId).Select(m => m.Household!.FileNumber).ToListAsync());
        Assert.That(files, Is.EqualTo(new[] { "0260311" }), "only the file she accepted");
        var invitations = await host.QueryAsync(db => db.HouseholdInvitations.AsNoTracking().Include(i => i.Household).ToListAsync());
        Assert.That(invitations.Single(i => i.Household!.FileNumber == "1234567").AcceptedAt, Is.Null);
        Assert.That(await host.QueryAsync(db => db.AuditEvents.CountAsync(e => e.Type == AuditEventTypes.HouseholdInvitationDeclined && e.PersonId == ninaId)), Is.EqualTo(1));
    }

    [Test]
    public async Task An_invitation_sent_by_a_holder_who_has_since_left_the_file_joins_nobody_to_it()
    {
        // Adversarial review (5 December 2026, fourth session): Jeanne, still the holder, invites a made-up member onto
        // the DUPONT file with a contact of her own; the separation then leaves the file to Marc. Her open invitation must
        // not let her plant someone on the file of the ex-partner she left (before the fix: « Rejoindre le dossier
        // n° 0260311 ? », and the account joined Marc's file).
        await using var host = HostStore.Start(kind);
        var jeanne = await SignInAsync(host, DemoData.JeanneDupont);
        var planted = Nina(contact: "jeanne.autre@example.fr");
        planted["FileNumber"] = "0260311";
        var sent = await jeanne.PostAsync(new Uri("/mon-compte/foyer", UriKind.Relative), planted);
        Assert.That(FirstLoginDriver.Next(sent).OriginalString, Is.EqualTo("/mon-compte/foyer?invitation=envoyee"), await OidcDriver.ErrorsOf(sent));

        var admin = new CafConnect.IdP.Tests.Admin.AdminClient(host.Host.CreateClient());
        var separation = new { event_id = "SEP-INVITE", type = "separation", file_number = "0260311", new_file_number = "0260399", person = new { nir = DemoData.JeanneDupont.Nir } };
        var applied = await admin.PostJsonAsync("/admin/v1/file-events", separation, await admin.TokenAsync());
        Assert.That(applied.StatusCode, Is.EqualTo(HttpStatusCode.OK), await applied.Content.ReadAsStringAsync());

        var (nina, next) = await NinaCreatesHerAccountAsync(host, "jeanne.autre@example.fr");
        Assert.That(next.AbsolutePathOrOriginal(), Is.EqualTo("/creer-mon-compte/recapitulatif"), "no invitation to answer: its sender no longer holds the file");

        var ninaId = await host.QueryAsync(db => db.Persons.Where(p => p.BirthDate == new DateOnly(2008, 1, 1) && p.ProvisionalId != null).Select(p => p.Id).SingleAsync());
        Assert.That(await host.QueryAsync(db => db.Memberships.CountAsync(m => m.PersonId == ninaId)), Is.Zero, "nobody joined the file Jeanne left");
        Assert.That(await host.QueryAsync(db => db.HouseholdInvitations.AsNoTracking().SingleAsync()), Has.Property("AcceptedAt").Null);
        // Marc, the holder now, is not shown his ex-partner's invitation as one of his own, and it does not count as his.
        var marc = await SignInAsync(host, DemoData.MarcDupont);
        var (page, html) = await marc.GetAsync(new Uri("/mon-compte/foyer", UriKind.Relative));
        Assert.That(page.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(WebUtility.HtmlDecode(html), Does.Not.Contain("Invitation envoyée le"));
    }

    [Test]
    public async Task An_invitation_offered_before_its_sender_left_the_file_is_not_joined_at_the_answer()
    {
        // The answer is checked again: the separation comes while « Rejoindre le dossier n° 0260311 ? » is on the screen.
        await using var host = HostStore.Start(kind);
        var jeanne = await SignInAsync(host, DemoData.JeanneDupont);
        var planted = Nina(contact: "jeanne.autre@example.fr");
        planted["FileNumber"] = "0260311";
        FirstLoginDriver.Next(await jeanne.PostAsync(new Uri("/mon-compte/foyer", UriKind.Relative), planted));

        var (nina, join) = await NinaCreatesHerAccountAsync(host, "jeanne.autre@example.fr");
        var (_, joinHtml) = await nina.Pages.GetAsync(join);
        Assert.That(WebUtility.HtmlDecode(joinHtml), Does.Contain("Rejoindre le dossier n° 0260311 ?"), "offered while Jeanne holds the file");

        var admin = new CafConnect.IdP.Tests.Admin.AdminClient(host.Host.CreateClient());
        var separation = new { event_id = "SEP-ANSWER", type = "separation", file_number = "0260311", new_file_number = "0260399", person = new { nir = DemoData.JeanneDupont.Nir } };
        Assert.That((await admin.PostJsonAsync("/admin/v1/file-events", separation, await admin.TokenAsync())).StatusCode, Is.EqualTo(HttpStatusCode.OK));

        var answered = await nina.Pages.PostAsync(join, new Dictionary<string, string> { ["Invitation"] = InvitationOnPage(joinHtml) }, "Join");
        Assert.That(FirstLoginDriver.Next(answered).AbsolutePathOrOriginal(), Is.EqualTo("/creer-mon-compte/recapitulatif"));
        var ninaId = await host.QueryAsync(db => db.Persons.Where(p => p.BirthDate == new DateOnly(2008, 1, 1) && p.ProvisionalId != null).Select(p => p.Id).SingleAsync());
        Assert.That(await host.QueryAsync(db => db.Memberships.CountAsync(m => m.PersonId == ninaId)), Is.Zero, "nobody joined the file Jeanne left");
        Assert.That(await host.QueryAsync(db => db.HouseholdInvitations.AsNoTracking().SingleAsync()), Has.Property("AcceptedAt").Null);
    }

    [Test]
    public async Task An_invitation_sent_before_the_holders_password_was_recovered_joins_nobody_and_changing_it_keeps_them()
    {
        // Adversarial review (5 December 2026, fourth session): someone who had Jeanne's password invites a made-up member
        // with a contact of their own; Jeanne takes her account back with « Mot de passe oublié ? ». Like the phone code,
        // what was sent with the old password ends with it (before the fix: « Rejoindre le dossier n° 0260311 ? »).
        await using var host = HostStore.Start(kind);
        var thief = await SignInAsync(host, DemoData.JeanneDupont);
        var planted = Nina(contact: "complice@example.fr");
        planted["FileNumber"] = "0260311";
        Assert.That(FirstLoginDriver.Next(await thief.PostAsync(new Uri("/mon-compte/foyer", UriKind.Relative), planted)).OriginalString,
            Is.EqualTo("/mon-compte/foyer?invitation=envoyee"));

        var jeanne = new RecoveryDriver(host.Host.CreateBrowser());
        var codePage = await jeanne.RequestCodePageAsync(DemoData.JeanneDupont.Nir!);
        var code = SmsGatewaySink.CodeIn((await host.Sms.WaitForAsync(DemoData.JeanneDupont.Mobile!)).Text);
        var passwordPage = FirstLoginDriver.Next(await jeanne.Pages.PostAsync(codePage, new Dictionary<string, string> { ["Code"] = code }));
        var done = FirstLoginDriver.Next(await jeanne.Pages.PostAsync(passwordPage, new Dictionary<string, string> { ["Password"] = "Marguerite7Jardin", ["Confirmation"] = "Marguerite7Jardin" }));
        Assert.That(done.OriginalString, Is.EqualTo("/connexion?motdepasse=modifie"));

        var (nina, next) = await NinaCreatesHerAccountAsync(host, "complice@example.fr");
        Assert.That(next.AbsolutePathOrOriginal(), Is.EqualTo("/creer-mon-compte/recapitulatif"), "the invitation ended with the old password");
        Assert.That(await host.QueryAsync(db => db.Memberships.CountAsync(m => m.Household!.FileNumber == "0260311")), Is.EqualTo(2), "Jeanne and Marc only");
        var jeanneId = await host.QueryAsync(db => db.Persons.Where(p => p.Nir == DemoData.JeanneDupont.Nir).Select(p => p.Id).SingleAsync());
        var voided = await host.QueryAsync(db => db.AuditEvents.AsNoTracking().Where(e => e.Type == AuditEventTypes.HouseholdInvitationVoided).ToListAsync());
        Assert.That(voided.Select(e => (e.Outcome, e.PersonId)), Is.EqualTo(new[] { ("password_replaced", (Guid?)jeanneId) }));

        // « Changer mon mot de passe », from her own session with her current password, keeps what she sent.
        var owner = new FirstLoginDriver(host.Host.CreateBrowser());
        Assert.That((await owner.Oidc.SubmitLoginAsync(new Uri("/connexion", UriKind.Relative), DemoData.JeanneDupont.Nir!, "Marguerite7Jardin")).Headers.Location?.OriginalString,
            Is.EqualTo("/mon-compte"));
        var again = Nina(contact: "nina.dubois@example.fr");
        again["FileNumber"] = "0260311";
        Assert.That(FirstLoginDriver.Next(await owner.PostAsync(new Uri("/mon-compte/foyer", UriKind.Relative), again)).OriginalString, Is.EqualTo("/mon-compte/foyer?invitation=envoyee"));
        var changed = await owner.PostAsync(new Uri("/mon-compte/mot-de-passe", UriKind.Relative),
            new Dictionary<string, string> { ["Current"] = "Marguerite7Jardin", ["Password"] = "Coquelicot8Champ", ["Confirmation"] = "Coquelicot8Champ" });
        Assert.That(changed.StatusCode, Is.EqualTo(HttpStatusCode.Redirect), await OidcDriver.ErrorsOf(changed));
        var (_, foyer) = await owner.GetAsync(new Uri("/mon-compte/foyer", UriKind.Relative));
        Assert.That(WebUtility.HtmlDecode(foyer), Does.Contain("Invitation envoyée le"), "the invitation sent from her own session stands");
    }

    [Test]
    public async Task A_holder_cannot_invite_a_second_partner_while_a_partners_invitation_is_open()
    {
        await using var host = HostStore.Start(kind);
        var louise = await SignInAsync(host, DemoData.LouiseDubois);
        var first = Nina(birthDate: "01/01/1990", role: "conjoint", contact: "partenaire.un@example.fr");
        first["GivenNames"] = "Alex";
        Assert.That(FirstLoginDriver.Next(await louise.PostAsync(new Uri("/mon-compte/foyer", UriKind.Relative), first)).OriginalString, Is.EqualTo("/mon-compte/foyer?invitation=envoyee"));

        var second = Nina(birthDate: "02/02/1991", role: "conjoint", contact: "partenaire.deux@example.fr");
        second["GivenNames"] = "Sam";
        var refused = await louise.PostAsync(new Uri("/mon-compte/foyer", UriKind.Relative), second);
        Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(await OidcDriver.ErrorsOf(refused), Does.Contain("Vous avez déjà invité un(e) conjoint(e) sur ce dossier."));
        Assert.That(await host.QueryAsync(db => db.HouseholdInvitations.CountAsync(i => i.Role == HouseholdRole.Conjoint)), Is.EqualTo(1));
    }

    [Test]
    public async Task An_invitation_to_a_contact_a_member_of_the_file_verified_is_refused_and_sends_nothing()
    {
        // Seeds 003/004, ContactProof's rule: the invitee's codes and recovery must not reach the holder or a member. Louise
        // verified her e-mail and her mobile; neither may be the one her invitee proves.
        await using var host = HostStore.Start(kind);
        var louise = await SignInAsync(host, DemoData.LouiseDubois);

        foreach (var contact in new[] { "louise.dubois@example.fr", "Louise.Dubois@Example.fr", "06 15 00 00 03", "+33 6 15 00 00 03" })
        {
            var refused = await louise.PostAsync(new Uri("/mon-compte/foyer", UriKind.Relative), Nina(contact: contact));
            Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), contact);
            Assert.That(await OidcDriver.ErrorsOf(refused), Does.Contain(
                "Indiquez une adresse mail ou un numéro de portable personnels de la personne invitée, différents de ceux des membres de votre foyer."), contact);
        }

        Assert.That(await host.QueryAsync(db => db.HouseholdInvitations.CountAsync()), Is.Zero);
        Assert.That(await host.QueryAsync(db => db.OutboxMessages.CountAsync(m => m.Kind == NotificationKind.HouseholdInvitation)), Is.Zero);
        var sent = await louise.PostAsync(new Uri("/mon-compte/foyer", UriKind.Relative), Nina());
        Assert.That(FirstLoginDriver.Next(sent).OriginalString, Is.EqualTo("/mon-compte/foyer?invitation=envoyee"), "Nina's own contact is accepted");
    }

    [Test]
    public async Task A_members_verified_address_with_needless_quotes_is_refused_as_the_address_itself()
    {
        // Adversarial review, 5 December 2026 (fifth session): "louise.dubois"@example.fr is Louise's mailbox (RFC 5321:
        // the quotes change nothing), but compared as written it was another contact: the invitation was stored and sent,
        // and the invitee's codes and recovery would have gone to Louise.
        await using var host = HostStore.Start(kind);
        var louise = await SignInAsync(host, DemoData.LouiseDubois);

        var refused = await louise.PostAsync(new Uri("/mon-compte/foyer", UriKind.Relative), Nina(contact: "\"louise.dubois\"@example.fr"));

        Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(await OidcDriver.ErrorsOf(refused), Does.Contain(ContactProof.NotPersonalForInviteeMessage));
        Assert.That(await host.QueryAsync(db => db.HouseholdInvitations.CountAsync()), Is.Zero);
        Assert.That(await host.QueryAsync(db => db.OutboxMessages.CountAsync(m => m.Kind == NotificationKind.HouseholdInvitation)), Is.Zero);
    }

    [Test]
    public async Task An_invitation_whose_contact_a_member_of_the_file_verified_is_neither_offered_nor_joined()
    {
        // An invitation stored before the form refused such contacts (or whose contact a member verified since): Louise's
        // own e-mail. Whoever creates the account with it — Louise herself, who receives the code — joins nothing.
        await using var host = HostStore.Start(kind);
        var louise = await SignInAsync(host, DemoData.LouiseDubois);
        FirstLoginDriver.Next(await louise.PostAsync(new Uri("/mon-compte/foyer", UriKind.Relative), Nina(contact: "nina.dubois@example.fr")));
        await host.QueryAsync(db => db.HouseholdInvitations.ExecuteUpdateAsync(s => s.SetProperty(i => i.Contact, "louise.dubois@example.fr")));

        var (nina, next) = await NinaCreatesHerAccountAsync(host, "louise.dubois@example.fr");

        Assert.That(next.AbsolutePathOrOriginal(), Is.Not.EqualTo("/creer-mon-compte/rejoindre-dossier"), "no « Rejoindre le dossier » offered");
        Assert.That(await host.QueryAsync(db => db.Memberships.CountAsync(m => m.Household!.FileNumber == "1234567" && m.Person!.BirthDate == new DateOnly(2008, 1, 1))),
            Is.Zero, "nobody joined Louise's file");
        Assert.That(await host.QueryAsync(db => db.HouseholdInvitations.AsNoTracking().SingleAsync()), Has.Property("AcceptedAt").Null);
        Assert.That(await host.QueryAsync(db => db.AuditEvents.CountAsync(e => e.Type == AuditEventTypes.HouseholdInvitationDeclined && e.Outcome == "contact_not_personal")),
            Is.EqualTo(1));
    }

    [Test]
    public async Task An_invitation_whose_contact_a_member_verified_while_it_was_on_screen_is_not_joined_at_the_answer()
    {
        await using var host = HostStore.Start(kind);
        var louise = await SignInAsync(host, DemoData.LouiseDubois);
        FirstLoginDriver.Next(await louise.PostAsync(new Uri("/mon-compte/foyer", UriKind.Relative), Nina(contact: "nina.dubois@example.fr")));
        var (nina, join) = await NinaCreatesHerAccountAsync(host, "nina.dubois@example.fr");
        var (_, joinHtml) = await nina.Pages.GetAsync(join);
        Assert.That(WebUtility.HtmlDecode(joinHtml), Does.Contain("Rejoindre le dossier n° 1234567 ?"));

        // Meanwhile a member of the file (Léa) has that address as her verified one.
        await host.QueryAsync(db => db.Persons.Where(p => p.Nir == DemoData.LeaDubois.Nir)
            .ExecuteUpdateAsync(s => s.SetProperty(p => p.Email, "nina.dubois@example.fr").SetProperty(p => p.EmailVerified, true)));
        var answered = await nina.Pages.PostAsync(join, new Dictionary<string, string> { ["Invitation"] = InvitationOnPage(joinHtml) }, "Join");

        Assert.That(FirstLoginDriver.Next(answered).AbsolutePathOrOriginal(), Is.EqualTo("/creer-mon-compte/recapitulatif"));
        Assert.That(await host.QueryAsync(db => db.Memberships.CountAsync(m => m.Household!.FileNumber == "1234567" && m.Person!.BirthDate == new DateOnly(2008, 1, 1))),
            Is.Zero);
    }

    [Test]
    public async Task Inviting_someone_under_16_is_refused_with_a_clear_message()
    {
        await using var host = HostStore.Start(kind);
        var louise = await SignInAsync(host, DemoData.LouiseDubois);
        var fifteen = DateTime.UtcNow.AddYears(-15).ToString("dd/MM/yyyy");

        var refused = await louise.PostAsync(new Uri("/mon-compte/foyer", UriKind.Relative), Nina(birthDate: fifteen, role: "enfant"));

        Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(await OidcDriver.ErrorsOf(refused), Does.Contain("La personne invitée doit avoir au moins 16 ans pour créer son compte Caf."));
        Assert.That(await host.QueryAsync(db => db.HouseholdInvitations.CountAsync()), Is.Zero);
        Assert.That(await host.QueryAsync(db => db.OutboxMessages.CountAsync(m => m.Kind == NotificationKind.HouseholdInvitation)), Is.Zero);
        Assert.That(await host.QueryAsync(db => db.AuditEvents.CountAsync(e => e.Type == AuditEventTypes.HouseholdInvitationRefused && e.Outcome == "under_16")), Is.EqualTo(1));
    }

    [Test]
    public async Task A_file_number_that_is_not_one_of_the_holders_files_is_refused_instead_of_falling_back_to_another()
    {
        await using var host = HostStore.Start(kind);
        // Louise holds a second file: a default file would be a guess between two.
        await host.QueryAsync(async db =>
        {
            var louise = await db.Persons.SingleAsync(p => p.Nir == DemoData.LouiseDubois.Nir);
            var second = new Household { FileNumber = "7654321" };
            second.Members.Add(new HouseholdMembership { PersonId = louise.Id, Role = HouseholdRole.Allocataire, JoinedAt = DateTimeOffset.UtcNow });
            db.Households.Add(second);
            return await db.SaveChangesAsync();
        });
        var holder = await SignInAsync(host, DemoData.LouiseDubois);
        var (_, page) = await holder.GetAsync(new Uri("/mon-compte/foyer", UriKind.Relative));
        Assert.That(page, Does.Contain("name=\"FileNumber\"").And.Contain("value=\"7654321\""), "both files are offered");

        foreach (var fileNumber in new[] { "123456", "0260311", "" })
        {
            var fields = Nina();
            fields["FileNumber"] = fileNumber;
            var refused = await holder.PostAsync(new Uri("/mon-compte/foyer", UriKind.Relative), fields);
            Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), $"file number « {fileNumber} »");
            Assert.That(await OidcDriver.ErrorsOf(refused), Does.Contain("Choisissez un de vos dossiers."), $"file number « {fileNumber} »");
        }
        Assert.That(await host.QueryAsync(db => db.HouseholdInvitations.CountAsync()), Is.Zero, "nobody was invited onto a file the holder did not choose");
        Assert.That(await host.QueryAsync(db => db.OutboxMessages.CountAsync(m => m.Kind == NotificationKind.HouseholdInvitation)), Is.Zero);

        var chosen = Nina();
        chosen["FileNumber"] = "7654321";
        var sent = await holder.PostAsync(new Uri("/mon-compte/foyer", UriKind.Relative), chosen);
        Assert.That(FirstLoginDriver.Next(sent).OriginalString, Is.EqualTo("/mon-compte/foyer?invitation=envoyee"), await OidcDriver.ErrorsOf(sent));
        var invitation = await host.QueryAsync(db => db.HouseholdInvitations.AsNoTracking().Include(i => i.Household).SingleAsync());
        Assert.That(invitation.Household!.FileNumber, Is.EqualTo("7654321"), "the invitation is on the file chosen");
    }

    [Test]
    public async Task Only_the_file_holder_may_invite()
    {
        await using var host = HostStore.Start(kind);
        var marc = await SignInAsync(host, DemoData.MarcDupont);

        var (page, html) = await marc.GetAsync(new Uri("/mon-compte/foyer", UriKind.Relative));
        Assert.That(page.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
        Assert.That(WebUtility.HtmlDecode(html), Does.Contain("Seul le responsable du dossier (l'allocataire) peut inviter"));

        var anonymous = await host.Host.CreateBrowser().GetAsync("/mon-compte/foyer");
        Assert.That(anonymous.StatusCode, Is.EqualTo(HttpStatusCode.Redirect), "signed-out people go to the login");
    }
}
