using System.Data.Common;
using CafConnect.Domain.Accounts;
using CafConnect.Domain.Households;
using CafConnect.Domain.Imports;
using CafConnect.Infrastructure.Households;
using CafConnect.Infrastructure.Imports;
using CafConnect.Infrastructure.Persistence;
using CafConnect.Infrastructure.Security;
using CafConnect.Infrastructure.Tests.Support;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.EntityFrameworkCore.Storage;

namespace CafConnect.Infrastructure.Tests.Imports;

/// <summary>
/// The import adds a partner to an existing file while a partner invitation of that file is being accepted
/// (docs/decisions.md #57). The import checked the one-partner rule against the store before its batch's transaction,
/// without a lock, and wrote whatever had committed since: the file ended with two partners. It now checks again in
/// the transaction, after locking the batch's existing files.
/// </summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
public sealed class ImportRaceTests(StoreKind kind)
{
    private const string Header = "file_number,role,nir,provisional_id,civility,birth_name,usage_name,given_names,birth_date,birth_country,birth_city,postal_code,mobile,email,legacy_secret,legacy_secret_format";
    private const string Holder = "0260311,allocataire,2 85 03 75 112 048,,MME,DUPONT,,Jeanne,1985-03-14,FRANCE,PARIS,75011,,,,none";
    private const string Partner = "0260311,conjoint,1831175115230,,M,DUPONT,,Marc,1983-11-02,FRANCE,LYON,75011,,,,none";

    private static readonly Argon2idSecretHasher Hasher = new(new Argon2idOptions { MemoryKiB = 8192, Iterations = 1 });
    private TestDatabase _database = null!;

    [SetUp]
    public async Task CreateStore() => _database = await TestDatabase.CreateAsync(kind);

    [TearDown]
    public async Task DropStore() => await _database.DisposeAsync();

    /// <param name="inFlight">
    /// False: the acceptance commits when the import's batch transaction is about to start (after the import's first
    /// check). True: it commits half a second later, while the batch's transaction waits (PostgreSQL: the file's row
    /// lock; SQLite: the write lock).
    /// </param>
    [TestCase(false)]
    [TestCase(true)]
    public async Task A_partner_imported_while_a_partner_invitation_of_the_file_is_accepted_leaves_the_file_one_partner(bool inFlight)
    {
        await ImportAsync(Header + "\n" + Holder + "\n");
        Guid invitee;
        Guid invitationId;
        await using (var db = _database.NewContext())
        {
            var file = await db.Households.Include(h => h.Members).SingleAsync(h => h.FileNumber == "0260311");
            var person = new PersonAccount { BirthName = "MARTIN", GivenNames = "Hugo", BirthDate = new DateOnly(1988, 3, 4), ProvisionalId = "P98765432" };
            var invited = new HouseholdInvitation
            {
                HouseholdId = file.Id, Role = HouseholdRole.Conjoint, BirthName = "Martin", GivenNames = "Hugo", BirthDate = new DateOnly(1988, 3, 4),
                Contact = "hugo.martin@example.fr", InvitedByPersonId = file.Members.Single().PersonId, CreatedAt = DateTimeOffset.UtcNow,
                ExpiresAt = DateTimeOffset.UtcNow + HouseholdInvitation.Lifetime,
            };
            db.Persons.Add(person);
            db.HouseholdInvitations.Add(invited);
            await db.SaveChangesAsync();
            (invitee, invitationId) = (person.Id, invited.Id);
        }

        // The acceptance, as its answer's transaction makes it (decision 54): the file's row locked, the invitation
        // accepted, the partner's membership written — not committed before the import has made its first check.
        await using var answer = _database.NewContext();
        IDbContextTransaction? transaction = null;
        await answer.Database.CreateExecutionStrategy().ExecuteAsync(async () =>
        {
            transaction = await answer.Database.BeginTransactionAsync();
            var now = DateTimeOffset.UtcNow;
            var invitation = InvitationAsRead.Of(await answer.HouseholdInvitations.AsNoTracking().SingleAsync(i => i.Id == invitationId));
            Assert.That(await HouseholdInvitationAnswers.TryAcceptAsync(answer, invitation, invitee, now, default), Is.True, "set-up: the invitation is accepted");
            answer.Memberships.Add(new HouseholdMembership { HouseholdId = invitation.HouseholdId, PersonId = invitee, Role = HouseholdRole.Conjoint, JoinedAt = now });
            await answer.SaveChangesAsync();
        });
        var answerCommitted = Task.CompletedTask;
        var hook = new BeforeTheBatchTransaction(async () =>
        {
            answerCommitted = inFlight ? Task.Run(async () => { await Task.Delay(500); await transaction!.CommitAsync(); }) : transaction!.CommitAsync();
            await (inFlight ? Task.CompletedTask : answerCommitted);
        });

        ImportReport report;
        await using (var db = _database.NewContext(hook))
        {
            var importer = new AccountImporter(db, Hasher, new StorageSettings(_database.Provider, _database.ConnectionString), TimeProvider.System);
            report = await importer.ImportAsync(new StringReader(Header + "\n" + Holder + "\n" + Partner + "\n"), new ImportOptions());
        }
        await answerCommitted;
        await transaction!.DisposeAsync();

        Assert.That(hook.Fired, Is.True, "set-up: the acceptance committed between the import's first check and its write");
        await using var check = _database.NewContext();
        Assert.Multiple(async () =>
        {
            Assert.That(await check.Memberships.Where(m => m.Household!.FileNumber == "0260311" && m.Role == HouseholdRole.Conjoint).Select(m => m.PersonId).ToListAsync(),
                Is.EqualTo(new[] { invitee }), "one partner: the invitation's");
            Assert.That(await check.Persons.AnyAsync(p => p.Nir == "1831175115230"), Is.False, "nothing of the refused file is written");
            Assert.That(report.Problems.Select(p => $"{p.Line}: {p.Reason}"),
                Does.Contain($"3: dossier 0260311 non importé : {ImportReconciliation.FileHasPartner}"), "refused, with its line and reason");
            Assert.That(report.RowsImported, Is.Zero);
        });
    }

    private async Task ImportAsync(string csv)
    {
        await using var db = _database.NewContext();
        var report = await new AccountImporter(db, Hasher, new StorageSettings(_database.Provider, _database.ConnectionString), TimeProvider.System)
            .ImportAsync(new StringReader(csv), new ImportOptions());
        Assert.That(report.Problems, Is.Empty, "set-up: imported");
    }

    /// <summary>Runs an action once, when the import is about to start a batch's write transaction (after its first check).</summary>
    private sealed class BeforeTheBatchTransaction(Func<Task> action) : DbTransactionInterceptor
    {
        private Func<Task>? _action = action;

        public bool Fired { get; private set; }

        public override async ValueTask<InterceptionResult<DbTransaction>> TransactionStartingAsync(DbConnection connection, TransactionStartingEventData eventData,
            InterceptionResult<DbTransaction> result, CancellationToken cancellationToken = default)
        {
            if (Interlocked.Exchange(ref _action, null) is { } armed)
            {
                await armed();
                Fired = true;
            }
            return result;
        }
    }
}
