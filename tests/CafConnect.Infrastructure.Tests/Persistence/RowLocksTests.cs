using CafConnect.Domain.Accounts;
using CafConnect.Domain.Households;
using CafConnect.Infrastructure.Persistence;
using CafConnect.Infrastructure.Tests.Support;
using Microsoft.EntityFrameworkCore;

namespace CafConnect.Infrastructure.Tests.Persistence;

/// <summary><see cref="RowLocks"/> finds its rows by values of the model's types (a Guid as each store keeps it).</summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
public sealed class RowLocksTests(StoreKind kind)
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

    [TestCase(RowLockMode.Share)]
    [TestCase(RowLockMode.Update)]
    public async Task The_rows_matching_every_pair_are_found_and_none_when_one_value_differs(RowLockMode mode)
    {
        var person = new PersonAccount { Nir = "2850375112048", BirthName = "DUPONT", GivenNames = "Jeanne" };
        var household = new Household { FileNumber = "0260311" };
        household.Members.Add(new HouseholdMembership { Person = person, Role = HouseholdRole.Allocataire });
        await using (var seed = _database.NewContext())
        {
            seed.Households.Add(household);
            await seed.SaveChangesAsync();
        }

        await using var db = _database.NewContext();
        var found = await db.InTransactionAsync(async ct => (
            Both: await RowLocks.LockAsync(db, typeof(HouseholdMembership),
                [(nameof(HouseholdMembership.HouseholdId), household.Id), (nameof(HouseholdMembership.PersonId), person.Id)], mode, ct),
            OneDiffers: await RowLocks.LockAsync(db, typeof(HouseholdMembership),
                [(nameof(HouseholdMembership.HouseholdId), household.Id), (nameof(HouseholdMembership.PersonId), Guid.NewGuid())], mode, ct),
            ByFileNumber: await RowLocks.LockAsync(db, typeof(Household), [(nameof(Household.FileNumber), "0260311")], mode, ct)), CancellationToken.None);
        Assert.That(found, Is.EqualTo((true, false, true)));
    }

    /// <summary>The import's lock of a batch's files (decision 57): the values found among many, more than one statement's worth outside PostgreSQL.</summary>
    [Test]
    public async Task Locking_each_row_of_a_list_of_values_counts_the_rows_found()
    {
        await using (var seed = _database.NewContext())
        {
            seed.Households.AddRange(new Household { FileNumber = "0260311" }, new Household { FileNumber = "1234567" });
            await seed.SaveChangesAsync();
        }
        var numbers = Enumerable.Range(0, RowLocks.ValuesPerStatement + 500).Select(i => $"9{i:000000}").Append("1234567").Append("0260311").ToList();

        await using var db = _database.NewContext();
        var found = await db.InTransactionAsync(ct => RowLocks.LockEachAsync(db, typeof(Household), nameof(Household.FileNumber), numbers, RowLockMode.Update, ct),
            CancellationToken.None);
        Assert.That(found, Is.EqualTo(2));
    }

    [Test]
    public async Task Outside_a_transaction_it_refuses_since_the_lock_would_end_with_its_statement()
    {
        await using var db = _database.NewContext();
        Assert.That(async () => await RowLocks.LockAsync(db, typeof(Household), [(nameof(Household.FileNumber), "0260311")], RowLockMode.Update, CancellationToken.None),
            Throws.InvalidOperationException);
    }
}
