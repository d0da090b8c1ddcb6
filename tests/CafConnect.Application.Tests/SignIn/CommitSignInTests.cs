using CafConnect.Application.Persistence;
using CafConnect.Application.SignIn;
using CafConnect.Domain.Accounts;
using CafConnect.Infrastructure.Audit;
using CafConnect.Infrastructure.Persistence;
using CafConnect.Infrastructure.Tests.Support;
using Microsoft.EntityFrameworkCore;

namespace CafConnect.Application.Tests.SignIn;

/// <summary>
/// The one commit of every sign-in (password login, FranceConnect, end of the first-login steps), without HTTP: two
/// sign-ins of the same person racing are merged; a sign-in checked against a secret or an account state that changed
/// meanwhile stores nothing.
/// </summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
public sealed class CommitSignInTests(StoreKind kind)
{
    private TestDatabase _database = null!;
    private Guid _personId;

    [SetUp]
    public async Task CreateStoreAsync()
    {
        _database = await TestDatabase.CreateAsync(kind);
        await using var db = _database.NewContext();
        var person = new PersonAccount
        {
            Nir = "2850375112048", BirthName = "DUPONT", GivenNames = "Jeanne", CredentialKind = CredentialKind.Personal,
            PasswordHash = "hash", PasswordSetAt = DateTimeOffset.UtcNow.AddDays(-10), CreatedAt = DateTimeOffset.UtcNow.AddYears(-1),
        };
        db.Persons.Add(person);
        await db.SaveChangesAsync();
        _personId = person.Id;
    }

    [TearDown]
    public async Task DropStoreAsync()
    {
        if (_database is not null)
        {
            await _database.DisposeAsync();
        }
    }

    /// <summary>A sign-in in its own context: the person loaded, the last login written, the audit line appended.</summary>
    private async Task<(CafConnectDbContext Db, PersonAccount Person)> BeginSignInAsync(DateTimeOffset at, string outcome)
    {
        var db = _database.NewContext();
        var person = await db.Persons.SingleAsync(p => p.Id == _personId);
        person.LastLoginAt = at;
        new AuditTrail(db, new FixedAuditContextAccessor(AuditContext.None), TimeProvider.System)
            .Append(new AuditEntry(AuditEventTypes.LoginSucceeded, outcome, person.Id));
        return (db, person);
    }

    private static Task<CommitSignInResult> CommitAsync(CafConnectDbContext db, PersonAccount person) =>
        new CommitSignIn(new StoreUnitOfWork(db)).ExecuteAsync(new CommitSignInRequest(person));

    [Test]
    public async Task Two_sign_ins_of_the_same_person_racing_both_commit_and_the_later_fields_win()
    {
        var early = DateTimeOffset.UtcNow.AddMinutes(-1);
        var late = DateTimeOffset.UtcNow;
        var (first, firstPerson) = await BeginSignInAsync(late, "first");
        await using var _ = first;
        // The other sign-in loads the same row and commits first: the first now holds a stale concurrency stamp.
        var (other, otherPerson) = await BeginSignInAsync(early, "other");
        await using (other)
        {
            Assert.That((await CommitAsync(other, otherPerson)).Committed, Is.True);
        }

        var result = await CommitAsync(first, firstPerson);

        await using var check = _database.NewContext();
        var stored = await check.Persons.AsNoTracking().SingleAsync(p => p.Id == _personId);
        Assert.Multiple(async () =>
        {
            Assert.That(result.Committed, Is.True, "merged, not refused (it used to be a 500 outside the password login)");
            Assert.That(stored.LastLoginAt, Is.EqualTo(late).Within(TimeSpan.FromMilliseconds(1)), "this sign-in's fields win");
            Assert.That(await check.AuditEvents.Where(e => e.Type == AuditEventTypes.LoginSucceeded).Select(e => e.Outcome).ToListAsync(),
                Is.EquivalentTo(new[] { "other", "first" }));
        });
    }

    [TestCase("password")]
    [TestCase("closed")]
    public async Task A_sign_in_checked_against_a_secret_or_state_changed_meanwhile_stores_nothing(string change)
    {
        var (signIn, person) = await BeginSignInAsync(DateTimeOffset.UtcNow, "stale");
        await using var _ = signIn;
        await using (var elsewhere = _database.NewContext())
        {
            var stored = await elsewhere.Persons.SingleAsync(p => p.Id == _personId);
            if (change == "password")
            {
                stored.PasswordSetAt = DateTimeOffset.UtcNow;
            }
            else
            {
                stored.ClosedAt = DateTimeOffset.UtcNow;
            }
            stored.ConcurrencyStamp = Guid.NewGuid();
            await elsewhere.SaveChangesAsync();
        }

        var result = await CommitAsync(signIn, person);

        await using var check = _database.NewContext();
        Assert.That(result.Committed, Is.False);
        Assert.That(await check.AuditEvents.AnyAsync(e => e.Outcome == "stale"), Is.False, "nothing of the refused sign-in is stored");
        Assert.That((await check.Persons.AsNoTracking().SingleAsync(p => p.Id == _personId)).LastLoginAt, Is.Null);
    }
}
