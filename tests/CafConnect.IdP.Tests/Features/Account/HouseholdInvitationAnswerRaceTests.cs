using System.Data.Common;
using System.Net;
using CafConnect.Domain.Accounts;
using CafConnect.Domain.Households;
using CafConnect.IdP.Demo;
using CafConnect.IdP.Tests.Features.AccountCreation;
using CafConnect.IdP.Tests.Features.FirstLogin;
using CafConnect.IdP.Tests.Features.Recovery;
using CafConnect.IdP.Tests.Support;
using CafConnect.Infrastructure.Audit;
using CafConnect.Infrastructure.Households;
using CafConnect.Infrastructure.Persistence;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.DependencyInjection;

namespace CafConnect.IdP.Tests.Features.Account;

/// <summary>
/// « Rejoindre ce dossier » while something else changes the invitation between the answer's read and its commit
/// (docs/decisions.md #52): another answer accepts it, the holder's password recovery voids it, or its sender loses the
/// file. The answer used to check the invitation when it read it and then write the membership whatever had happened
/// since: two memberships from one invitation, or one from a voided invitation. Now exactly one outcome stands — the
/// other change — and the person is shown « Cette invitation n'est plus valable », never a 500.
/// </summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
public sealed class HouseholdInvitationAnswerRaceTests(StoreKind kind)
{
    public enum Competitor
    {
        /// <summary>Another answer (another account created with this civil status and contact) accepts it first.</summary>
        AcceptedElsewhere,

        /// <summary>The holder's password recovery voids it (PasswordSettingPolicy: its expiry set to now).</summary>
        VoidedByRecovery,

        /// <summary>Its sender loses the file (a separation deletes the leaving holder's membership).</summary>
        SenderLeftTheFile,
    }

    /// <param name="inFlight">
    /// False: the other change commits before the answer's transaction starts. True: it is still uncommitted then and
    /// commits half a second later, while the answer's transaction runs (on PostgreSQL the answer must wait for it: the
    /// row locks; a read alone would see the invitation and the sender's membership as they were).
    /// </param>
    [TestCase(Competitor.AcceptedElsewhere, false)]
    [TestCase(Competitor.VoidedByRecovery, false)]
    [TestCase(Competitor.SenderLeftTheFile, false)]
    [TestCase(Competitor.AcceptedElsewhere, true)]
    [TestCase(Competitor.VoidedByRecovery, true)]
    [TestCase(Competitor.SenderLeftTheFile, true)]
    public async Task An_answer_that_meets_a_concurrent_change_of_its_invitation_joins_nothing_and_says_so(Competitor competitor, bool inFlight)
    {
        var hook = BeforeTheAnswersCommit();
        var (host, nina, join, invitationId) = await ArrangeAnswerAsync(hook, "autre", "01/01/2008");
        await using var hostStoppedAtTheEnd = host;
        var louiseId = await host.QueryAsync(db => db.Persons.Where(p => p.Nir == DemoData.LouiseDubois.Nir).Select(p => p.Id).SingleAsync());
        var otherAnswerer = Guid.NewGuid();

        // The other change comes after the answer read the invitation, just before the answer's commit.
        var otherCommitted = Task.CompletedTask;
        hook.Arm(async () => otherCommitted = await host.CompeteAsync(inFlight, async db =>
        {
            var now = DateTimeOffset.UtcNow;
            switch (competitor)
            {
                case Competitor.AcceptedElsewhere:
                    await db.HouseholdInvitations.Where(i => i.Id == invitationId)
                        .ExecuteUpdateAsync(s => s.SetProperty(i => i.AcceptedAt, now).SetProperty(i => i.AcceptedByPersonId, otherAnswerer));
                    break;
                case Competitor.VoidedByRecovery:
                    await db.HouseholdInvitations.Where(i => i.Id == invitationId).ExecuteUpdateAsync(s => s.SetProperty(i => i.ExpiresAt, now));
                    break;
                case Competitor.SenderLeftTheFile:
                    await db.Memberships.Where(m => m.PersonId == louiseId && m.Household!.FileNumber == "1234567").ExecuteDeleteAsync();
                    break;
            }
        }));
        var answered = await nina.Pages.PostAsync(join, new Dictionary<string, string> { ["Invitation"] = invitationId.ToString() }, "Join");
        Assert.That(hook.Fired, Is.True, "set-up: the other change came between the answer's read and its commit");
        await otherCommitted;

        Assert.That(answered.StatusCode, Is.EqualTo(HttpStatusCode.Redirect), await OidcDriver.ErrorsOf(answered));
        var again = FirstLoginDriver.Next(answered);
        Assert.That(again.AbsolutePathOrOriginal(), Is.EqualTo("/creer-mon-compte/rejoindre-dossier"), "the page again, as the invitation now is");
        var (page, html) = await nina.Pages.GetAsync(again);
        var ninaId = await host.QueryAsync(db => db.Persons.Where(p => p.BirthDate == new DateOnly(2008, 1, 1) && p.ProvisionalId != null).Select(p => p.Id).SingleAsync());
        var invitation = await host.QueryAsync(db => db.HouseholdInvitations.AsNoTracking().SingleAsync(i => i.Id == invitationId));
        Assert.Multiple(async () =>
        {
            Assert.That(page.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(WebUtility.HtmlDecode(html), Does.Contain("Cette invitation n'est plus valable."));
            Assert.That(await host.QueryAsync(db => db.Memberships.CountAsync(m => m.PersonId == ninaId)), Is.Zero, "no membership from this answer");
            Assert.That(await host.QueryAsync(db => db.AuditEvents.CountAsync(e => e.Type == AuditEventTypes.HouseholdInvitationAccepted)), Is.Zero,
                "no acceptance recorded for it");
            Assert.That(invitation.AcceptedByPersonId, Is.EqualTo(competitor == Competitor.AcceptedElsewhere ? otherAnswerer : (Guid?)null),
                "the invitation is answered once: by the other answer, or not at all");
        });

        // « Continuer »: the creation goes on, without the file.
        var summary = FirstLoginDriver.Next(await nina.Pages.PostAsync(again, new Dictionary<string, string> { ["Invitation"] = invitationId.ToString() }, "Decline"));
        Assert.That(summary.AbsolutePathOrOriginal(), Is.EqualTo("/creer-mon-compte/recapitulatif"));
        Assert.That(await host.QueryAsync(db => db.Memberships.CountAsync(m => m.PersonId == ninaId)), Is.Zero);
    }

    /// <summary>
    /// Two partner (<c>conjoint</c>) invitations of one file, each answered « Rejoindre ce dossier » at the same time
    /// (docs/decisions.md #54): the other one is accepted, and its partner joins, between this answer's read and its
    /// commit. The one-partner rule read the members without a lock: both joined. Now the answer that comes second
    /// joins nothing; answered again, it is told the file has a partner.
    /// </summary>
    /// <param name="inFlight">As above: the other acceptance commits before this answer's transaction starts, or half a
    /// second into it (on PostgreSQL the answer must wait for it: the file's row lock).</param>
    [TestCase(false)]
    [TestCase(true)]
    public async Task Two_partner_invitations_of_one_file_accepted_at_once_give_it_one_partner(bool inFlight)
    {
        var hook = BeforeTheAnswersCommit();
        var (host, nina, join, invitationId) = await ArrangeAnswerAsync(hook, "conjoint", "01/01/1990");
        await using var hostStoppedAtTheEnd = host;

        // The other partner invitation of the file (the form refuses a second one while the first is open: two
        // invitations sent at the same instant, or a second sent once the first expired and reopened by nothing), and
        // the account of the person it invites.
        var (other, otherInvitation) = await host.QueryAsync(async db =>
        {
            var file = await db.Households.SingleAsync(h => h.FileNumber == "1234567");
            var louiseId = await db.Persons.Where(p => p.Nir == DemoData.LouiseDubois.Nir).Select(p => p.Id).SingleAsync();
            var person = new PersonAccount { BirthName = "MARTIN", GivenNames = "Hugo", BirthDate = new DateOnly(1988, 3, 4), ProvisionalId = "P98765432" };
            var invitation = new HouseholdInvitation
            {
                HouseholdId = file.Id, Role = HouseholdRole.Conjoint, BirthName = "Martin", GivenNames = "Hugo", BirthDate = new DateOnly(1988, 3, 4),
                Contact = "hugo.martin@example.fr", InvitedByPersonId = louiseId, CreatedAt = DateTimeOffset.UtcNow, ExpiresAt = DateTimeOffset.UtcNow + HouseholdInvitation.Lifetime,
            };
            db.Persons.Add(person);
            db.HouseholdInvitations.Add(invitation);
            await db.SaveChangesAsync();
            return (person.Id, invitation.Id);
        });

        // The other answer, as its own commit makes it: its invitation accepted, its partner's membership, one transaction.
        var otherCommitted = Task.CompletedTask;
        hook.Arm(async () => otherCommitted = await host.CompeteAsync(inFlight, async db =>
        {
            var now = DateTimeOffset.UtcNow;
            var asRead = InvitationAsRead.Of(await db.HouseholdInvitations.AsNoTracking().SingleAsync(i => i.Id == otherInvitation));
            Assert.That(await HouseholdInvitationAnswers.TryAcceptAsync(db, asRead, other, now, default), Is.True, "set-up: the other invitation is accepted");
            db.Memberships.Add(new HouseholdMembership { HouseholdId = asRead.HouseholdId, PersonId = other, Role = HouseholdRole.Conjoint, JoinedAt = now });
            await db.SaveChangesAsync();
        }));
        var answered = await nina.Pages.PostAsync(join, new Dictionary<string, string> { ["Invitation"] = invitationId.ToString() }, "Join");
        Assert.That(hook.Fired, Is.True, "set-up: the other acceptance came between the answer's read and its commit; answered " + answered.StatusCode + " " + answered.Headers.Location + " " + await OidcDriver.ErrorsOf(answered));
        await otherCommitted;

        Assert.That(answered.StatusCode, Is.EqualTo(HttpStatusCode.Redirect), await OidcDriver.ErrorsOf(answered));
        var again = FirstLoginDriver.Next(answered);
        Assert.That(again.AbsolutePathOrOriginal(), Is.EqualTo("/creer-mon-compte/rejoindre-dossier"), "the page again, as the file now is");
        var ninaId = await host.QueryAsync(db => db.Persons.Where(p => p.BirthDate == new DateOnly(1990, 1, 1) && p.ProvisionalId != null).Select(p => p.Id).SingleAsync());
        Assert.Multiple(async () =>
        {
            Assert.That(await host.QueryAsync(db => db.Memberships.Where(m => m.Household!.FileNumber == "1234567" && m.Role == HouseholdRole.Conjoint)
                .Select(m => m.PersonId).ToListAsync()), Is.EqualTo(new[] { other }), "one partner: the other answer's");
            Assert.That(await host.QueryAsync(db => db.Memberships.CountAsync(m => m.PersonId == ninaId)), Is.Zero, "no membership from this answer");
            Assert.That(await host.QueryAsync(db => db.HouseholdInvitations.Where(i => i.Id == invitationId).Select(i => i.AcceptedAt).SingleAsync()), Is.Null,
                "this invitation not accepted");
            Assert.That(await host.QueryAsync(db => db.AuditEvents.CountAsync(e => e.Type == AuditEventTypes.HouseholdInvitationAccepted)), Is.Zero,
                "no acceptance recorded for it");
        });

        // Answered again: the rule at the answer's read says why.
        var refused = await nina.Pages.PostAsync(again, new Dictionary<string, string> { ["Invitation"] = invitationId.ToString() }, "Join");
        var refusedHtml = WebUtility.HtmlDecode(await refused.Content.ReadAsStringAsync());
        Assert.That(refusedHtml, Does.Contain("Ce dossier compte déjà un(e) conjoint(e)"));
        Assert.That(await host.QueryAsync(db => db.Memberships.CountAsync(m => m.PersonId == ninaId)), Is.Zero);
    }

    /// <summary>
    /// The benefits system adds a partner to the file (admin API <c>person_added</c>, decision 54) while a partner
    /// invitation's acceptance is about to commit: the event must see that partner. It read the members without a lock
    /// and added a second partner once the answer committed.
    /// </summary>
    [Test]
    public async Task A_partner_added_by_a_file_event_while_a_partner_invitation_is_being_accepted_is_refused()
    {
        var hook = new AtTheAnswersCommit();
        var (host, nina, join, invitationId) = await ArrangeAnswerAsync(hook, "conjoint", "01/01/1990");
        await using var hostStoppedAtTheEnd = host;
        var admin = new Admin.AdminClient(host.Host.CreateClient());
        var token = await admin.TokenAsync();

        // The event is sent while the answer's transaction holds its membership, uncommitted; the answer commits half a
        // second later.
        var fileEvent = Task.FromResult<HttpResponseMessage>(null!);
        hook.Arm(async () =>
        {
            fileEvent = Task.Run(() => admin.PostJsonAsync("/admin/v1/file-events", new
            {
                event_id = "ADD-PARTNER-RACE", type = "person_added", file_number = "1234567", role = "conjoint",
                person = new { nir = "1150575112077", civility = "M", birth_name = "Dubois", given_names = "Hugo", birth_date = "2010-05-02" },
            }, token));
            await Task.Delay(500);
        });
        var answered = await nina.Pages.PostAsync(join, new Dictionary<string, string> { ["Invitation"] = invitationId.ToString() }, "Join");
        Assert.That(hook.Fired, Is.True, "set-up: the event came while the answer was committing");
        var refused = await fileEvent;

        Assert.That(answered.StatusCode, Is.EqualTo(HttpStatusCode.Redirect), await OidcDriver.ErrorsOf(answered));
        Assert.That(FirstLoginDriver.Next(answered).AbsolutePathOrOriginal(), Is.Not.EqualTo("/creer-mon-compte/rejoindre-dossier"), "the answer joined");
        var ninaId = await host.QueryAsync(db => db.Persons.Where(p => p.BirthDate == new DateOnly(1990, 1, 1) && p.ProvisionalId != null).Select(p => p.Id).SingleAsync());
        Assert.Multiple(async () =>
        {
            Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.Conflict), await refused.Content.ReadAsStringAsync());
            Assert.That(await host.QueryAsync(db => db.Memberships.Where(m => m.Household!.FileNumber == "1234567" && m.Role == HouseholdRole.Conjoint)
                .Select(m => m.PersonId).ToListAsync()), Is.EqualTo(new[] { ninaId }), "one partner: the answer's");
        });
        Assert.That((await Admin.AdminClient.JsonOf(refused)).GetProperty("code").GetString(), Is.EqualTo("file_has_partner"));
    }

    /// <summary>
    /// What every race above starts from: a host whose store contexts run <paramref name="hook"/>; Louise DUBOIS, holder
    /// of file 1234567, invites Nina DUBOIS (born <paramref name="birthDate"/>) as <paramref name="role"/>; Nina creates
    /// her account without a NIR, proves the invited contact and is shown « Rejoindre le dossier n° 1234567 ? ».
    /// </summary>
    /// <returns>The host (to dispose), Nina's journey, the page that offers the invitation and the invitation's id.</returns>
    private async Task<(JourneyHost Host, AccountCreationDriver Nina, Uri Join, Guid InvitationId)> ArrangeAnswerAsync(IInterceptor hook, string role, string birthDate)
    {
        var host = HostStore.Start(kind, configureServices: services => services.AddStoreInterceptor(hook));
        var louise = await HouseholdInvitationTests.SignInAsync(host, DemoData.LouiseDubois);
        var sent = await louise.PostAsync(new Uri("/mon-compte/foyer", UriKind.Relative), HouseholdInvitationTests.Nina(birthDate, role));
        Assert.That(FirstLoginDriver.Next(sent).OriginalString, Is.EqualTo("/mon-compte/foyer?invitation=envoyee"), await OidcDriver.ErrorsOf(sent));

        var nina = new AccountCreationDriver(host);
        await nina.StartAtRelyingPartyAsync();
        var fields = AccountCreationDriver.Morvan(contact: "nina.dubois@example.fr", birthDate: birthDate);
        fields["Civility"] = "MME";
        fields["BirthName"] = "DUBOIS";
        fields["GivenNames"] = "Nina";
        var verify = FirstLoginDriver.Next(await nina.SubmitWithoutNirAsync(fields));
        var join = FirstLoginDriver.Next(await nina.Pages.PostAsync(verify, new Dictionary<string, string> { ["Code"] = await nina.CodeSentToAsync("nina.dubois@example.fr") }));
        var (_, joinHtml) = await nina.Pages.GetAsync(join);
        Assert.That(WebUtility.HtmlDecode(joinHtml), Does.Contain("Rejoindre le dossier n° 1234567 ?"), "set-up: the invitation is offered");
        return (host, nina, join, Guid.Parse(HouseholdInvitationTests.InvitationOnPage(joinHtml)));
    }

    /// <summary>Runs an action once, when the answer's transaction (its membership written) is about to commit.</summary>
    private sealed class AtTheAnswersCommit : DbTransactionInterceptor
    {
        private Func<Task>? _action;

        public bool Fired { get; private set; }

        public void Arm(Func<Task> action) => Volatile.Write(ref _action, action);

        public override async ValueTask<InterceptionResult> TransactionCommittingAsync(DbTransaction transaction, TransactionEventData eventData,
            InterceptionResult result, CancellationToken cancellationToken = default)
        {
            // The answer saves without accepting its changes until the commit (StoreTransactions): its membership is still "Added".
            if (eventData.Context is { } context && context.ChangeTracker.Entries<HouseholdMembership>().Any(e => e.State == EntityState.Added)
                && Interlocked.Exchange(ref _action, null) is { } action)
            {
                await action();
                Fired = true;
            }
            return result;
        }
    }

    /// <summary>
    /// A hook run once, when the store is about to start the transaction that writes an answer's membership (the commit
    /// of « Rejoindre ce dossier »), from another scope — as another request or instance would commit meanwhile.
    /// </summary>
    private static BeforeTransactionStarts BeforeTheAnswersCommit() =>
        new(context => context.ChangeTracker.Entries<HouseholdMembership>().Any(e => e.State == EntityState.Added));
}
