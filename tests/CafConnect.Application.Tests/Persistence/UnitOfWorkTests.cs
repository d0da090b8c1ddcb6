using CafConnect.Application.Persistence;
using CafConnect.Domain.Accounts;
using CafConnect.Infrastructure.Audit;
using CafConnect.Infrastructure.Tests.Support;
using Microsoft.EntityFrameworkCore;

namespace CafConnect.Application.Tests.Persistence;

/// <summary>
/// The save point is explicit (docs/decisions.md #22): an audit line is appended to the use case's unit of work and
/// stored with it, never on its own — it used to save whatever else was pending, half-way through a use case.
/// </summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
public sealed class UnitOfWorkTests(StoreKind kind)
{
    private TestDatabase _database = null!;

    [SetUp]
    public async Task CreateStoreAsync() => _database = await TestDatabase.CreateAsync(kind);

    [TearDown]
    public async Task DropStoreAsync()
    {
        if (_database is not null)
        {
            await _database.DisposeAsync();
        }
    }

    [Test]
    public async Task An_audit_line_alone_does_not_commit_other_pending_changes()
    {
        await using var db = _database.NewContext();
        var person = new PersonAccount { Nir = "2850375112048", BirthName = "DUPONT", GivenNames = "Jeanne" };
        db.Persons.Add(person);
        var audit = new AuditTrail(db, new FixedAuditContextAccessor(AuditContext.None), TimeProvider.System);

        audit.Append(new AuditEntry(AuditEventTypes.AccountCreated, "test", person.Id));

        await using (var elsewhere = _database.NewContext())
        {
            Assert.That(await elsewhere.Persons.AnyAsync(p => p.Id == person.Id), Is.False, "the pending person was not stored by the audit line");
            Assert.That(await elsewhere.AuditEvents.AnyAsync(), Is.False, "nor was the audit line itself");
        }

        await new StoreUnitOfWork(db).CommitAsync();

        await using (var elsewhere = _database.NewContext())
        {
            Assert.That(await elsewhere.Persons.AnyAsync(p => p.Id == person.Id), Is.True);
            var line = await elsewhere.AuditEvents.SingleAsync();
            Assert.That((line.Type, line.PersonId), Is.EqualTo((AuditEventTypes.AccountCreated, (Guid?)person.Id)), "the change and its audit line, together");
        }
    }

    [Test]
    public async Task A_unit_of_work_that_fails_stores_neither_the_change_nor_its_audit_line()
    {
        await using (var seed = _database.NewContext())
        {
            seed.Persons.Add(new PersonAccount { Nir = "1831175115230", BirthName = "DUPONT", GivenNames = "Marc" });
            await seed.SaveChangesAsync();
        }

        await using var db = _database.NewContext();
        // Same NIR: the unique index refuses the person at the commit.
        var duplicate = new PersonAccount { Nir = "1831175115230", BirthName = "DUPONT", GivenNames = "Marc" };
        db.Persons.Add(duplicate);
        new AuditTrail(db, new FixedAuditContextAccessor(AuditContext.None), TimeProvider.System)
            .Append(new AuditEntry(AuditEventTypes.AccountCreated, "test", duplicate.Id));

        Assert.ThrowsAsync<DbUpdateException>(() => new StoreUnitOfWork(db).CommitAsync());

        await using var elsewhere = _database.NewContext();
        Assert.That(await elsewhere.AuditEvents.AnyAsync(), Is.False, "no audit line for a change that was not stored");
    }
}
