using System.Data.Common;
using System.Net;
using CafConnect.Domain.Households;
using CafConnect.IdP.Demo;
using CafConnect.IdP.Tests.Features.FirstLogin;
using CafConnect.IdP.Tests.Features.Recovery;
using CafConnect.IdP.Tests.Support;
using CafConnect.Infrastructure.Audit;
using CafConnect.Infrastructure.Persistence;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.Extensions.DependencyInjection;

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
        var hook = new BeforeTheInvitationIsStored();
        await using var host = HostStore.Start(kind, configureServices: services =>
        {
            services.ConfigureDbContext<SqliteCafConnectDbContext>(o => o.AddInterceptors(hook));
            services.ConfigureDbContext<PostgreSqlCafConnectDbContext>(o => o.AddInterceptors(hook));
        });
        var louise = await HouseholdInvitationTests.SignInAsync(host, DemoData.LouiseDubois);
        var (fileId, louiseId) = await host.QueryAsync(async db => (
            await db.Households.Where(h => h.FileNumber == "1234567").Select(h => h.Id).SingleAsync(),
            await db.Persons.Where(p => p.Nir == DemoData.LouiseDubois.Nir).Select(p => p.Id).SingleAsync()));

        // The other form's commit, as it makes it: the file's row locked, its partner invitation stored.
        var other = Guid.Empty;
        var otherCommitted = Task.CompletedTask;
        hook.Arm(async () =>
        {
            var scope = host.Host.Services.CreateScope();
            var db = scope.ServiceProvider.GetRequiredService<CafConnectDbContext>();
            IDbContextTransaction? transaction = null;
            await db.Database.CreateExecutionStrategy().ExecuteAsync(async () =>
            {
                transaction = await db.Database.BeginTransactionAsync();
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
            });
            async Task CommitAsync()
            {
                await transaction!.CommitAsync();
                await transaction.DisposeAsync();
                scope.Dispose();
            }
            otherCommitted = inFlight ? Task.Run(async () => { await Task.Delay(500); await CommitAsync(); }) : CommitAsync();
            await (inFlight ? Task.CompletedTask : otherCommitted);
        });
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

    /// <summary>
    /// Runs an action once, when the form is about to start the transaction that stores its invitation (its check made,
    /// nothing pending yet, the holder's file tracked), from another scope — as another request would commit meanwhile.
    /// </summary>
    private sealed class BeforeTheInvitationIsStored : DbTransactionInterceptor
    {
        private Func<Task>? _action;

        public bool Fired { get; private set; }

        public void Arm(Func<Task> action) => Volatile.Write(ref _action, action);

        public override async ValueTask<InterceptionResult<DbTransaction>> TransactionStartingAsync(DbConnection connection, TransactionStartingEventData eventData,
            InterceptionResult<DbTransaction> result, CancellationToken cancellationToken = default)
        {
            if (eventData.Context is { } context && context.ChangeTracker.Entries<Household>().Any(e => e.Entity.FileNumber == "1234567")
                && !context.ChangeTracker.Entries().Any(e => e.State is EntityState.Added or EntityState.Modified or EntityState.Deleted)
                && Interlocked.Exchange(ref _action, null) is { } action)
            {
                await action();
                Fired = true;
            }
            return result;
        }
    }
}
