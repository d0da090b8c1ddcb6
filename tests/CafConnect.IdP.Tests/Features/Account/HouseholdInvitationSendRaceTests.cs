using System.Net;
using CafConnect.Domain.Households;
using CafConnect.IdP.Demo;
using CafConnect.IdP.Tests.Features.FirstLogin;
using CafConnect.IdP.Tests.Features.Recovery;
using CafConnect.IdP.Tests.Support;
using CafConnect.Infrastructure.Audit;
using CafConnect.Infrastructure.Persistence;
using Microsoft.EntityFrameworkCore;

namespace CafConnect.IdP.Tests.Features.Account;

/// <summary>
/// « Mon foyer »: two partner (<c>conjoint</c>) invitations of one file sent at the same instant (docs/decisions.md #57).
/// The form refused a second partner invitation while one was open, but read the open invitations without a lock: both
/// were stored, and both could be answered (decision 54 then let one partner join). Now the invitation is stored in a
/// transaction that locks the file's row and asks the rule again: the second is refused with the form's own message.
/// </summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
public sealed class HouseholdInvitationSendRaceTests(StoreKind kind)
{
    /// <param name="inFlight">
    /// False: the other invitation commits just before this one's transaction starts (after the form's check). True: it
    /// is still uncommitted then and commits half a second later (PostgreSQL: this one waits for the file's row lock;
    /// SQLite: for the write lock).
    /// </param>
    [TestCase(false)]
    [TestCase(true)]
    public async Task Two_partner_invitations_sent_at_once_for_one_file_store_only_one(bool inFlight)
    {
        // Before the transaction that stores this invitation (its form checked, nothing pending yet) — or, as the code before
        // decision 57 stored it, before its save's own transaction.
        var hook = new BeforeTransactionStarts(context => context.ChangeTracker.Entries<Household>().Any(e => e.Entity.FileNumber == "1234567")
            && (context.ChangeTracker.Entries().All(e => e.State is EntityState.Unchanged or EntityState.Detached)
                || context.ChangeTracker.Entries<HouseholdInvitation>().Any(e => e.State == EntityState.Added)));
        await using var host = HostStore.Start(kind, configureServices: services => services.AddStoreInterceptor(hook));
        var louise = await HouseholdInvitationTests.SignInAsync(host, DemoData.LouiseDubois);
        var (fileId, louiseId) = await host.QueryAsync(async db => (
            await db.Households.Where(h => h.FileNumber == "1234567").Select(h => h.Id).SingleAsync(),
            await db.Persons.Where(p => p.Nir == DemoData.LouiseDubois.Nir).Select(p => p.Id).SingleAsync()));

        // The other form's commit, as it makes it: the file's row locked, its partner invitation stored.
        var other = Guid.Empty;
        var otherCommitted = Task.CompletedTask;
        hook.Arm(async () => otherCommitted = await host.CompeteAsync(inFlight, async db =>
        {
            await RowLocks.LockAsync(db, typeof(Household), [(nameof(Household.Id), fileId)], RowLockMode.Update, default);
            var invitation = new HouseholdInvitation
            {
                HouseholdId = fileId, Role = HouseholdRole.Conjoint, BirthName = "Martin", GivenNames = "Hugo", BirthDate = new DateOnly(1988, 3, 4),
                Contact = "hugo.martin@example.fr", InvitedByPersonId = louiseId, CreatedAt = DateTimeOffset.UtcNow,
                ExpiresAt = DateTimeOffset.UtcNow + HouseholdInvitation.Lifetime,
            };
            db.HouseholdInvitations.Add(invitation);
            await db.SaveChangesAsync();
            other = invitation.Id;
        }));
        var refused = await louise.PostAsync(new Uri("/mon-compte/foyer", UriKind.Relative), HouseholdInvitationTests.Nina("01/01/1990", "conjoint"));
        Assert.That(hook.Fired, Is.True, "set-up: the other invitation came between the form's check and this one's commit");
        await otherCommitted;

        Assert.Multiple(async () =>
        {
            Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
            Assert.That(await OidcDriver.ErrorsOf(refused), Does.Contain("Vous avez déjà invité un(e) conjoint(e) sur ce dossier."));
            Assert.That(await host.QueryAsync(db => db.HouseholdInvitations.Where(i => i.HouseholdId == fileId && i.Role == HouseholdRole.Conjoint).Select(i => i.Id).ToListAsync()),
                Is.EqualTo(new[] { other }), "one partner invitation: the other one");
            Assert.That(await host.QueryAsync(db => db.AuditEvents.CountAsync(e => e.Type == AuditEventTypes.HouseholdInvitationSent)), Is.Zero,
                "nothing sent for the refused one");
        });
    }
}
