using System.Data.Common;
using CafConnect.Domain.Accounts;
using CafConnect.Domain.Households;
using CafConnect.Infrastructure.Accounts;
using CafConnect.Infrastructure.Persistence;
using CafConnect.Infrastructure.Terms;
using CafConnect.Infrastructure.Tests.Support;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace CafConnect.Infrastructure.Tests.Accounts;

/// <summary>
/// What every login POST reads from the store before its one commit (bench/README.md, "Login POST: where the CPU goes"):
/// the person with their files, the files' members and their pending actions in one command, and the current terms'
/// version alone. Each round trip the login saved was CPU of the provider at every login.
/// </summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
public sealed class LoginReadsTests(StoreKind kind)
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

    /// <summary>Counts the commands a context sends (reads and writes alike).</summary>
    private sealed class CommandCounter : DbCommandInterceptor
    {
        public List<string> Commands { get; } = [];

        public override ValueTask<InterceptionResult<DbDataReader>> ReaderExecutingAsync(DbCommand command, CommandEventData eventData,
            InterceptionResult<DbDataReader> result, CancellationToken cancellationToken = default)
        {
            Commands.Add(command.CommandText);
            return base.ReaderExecutingAsync(command, eventData, result, cancellationToken);
        }

        public override ValueTask<InterceptionResult<object>> ScalarExecutingAsync(DbCommand command, CommandEventData eventData,
            InterceptionResult<object> result, CancellationToken cancellationToken = default)
        {
            Commands.Add(command.CommandText);
            return base.ScalarExecutingAsync(command, eventData, result, cancellationToken);
        }
    }

    /// <summary>A couple on one file, a child on it too, and a second file of hers; two steps pending for her.</summary>
    private async Task<PersonAccount> SeedCoupleAsync()
    {
        await using var db = _database.NewContext();
        var her = new PersonAccount { Nir = "2850375112048", BirthName = "DUPONT", GivenNames = "Jeanne", PasswordHash = "$argon2id$stand-in", CredentialKind = CredentialKind.Personal };
        var him = new PersonAccount { Nir = "1840375112099", BirthName = "DUPONT", GivenNames = "Marc" };
        var child = new PersonAccount { BirthName = "DUPONT", GivenNames = "Léa" };
        var file = new Household { FileNumber = "0260311" };
        var other = new Household { FileNumber = "0777001" };
        db.AddRange(her, him, child, file, other);
        db.AddRange(
            new HouseholdMembership { Person = her, Household = file, Role = HouseholdRole.Allocataire },
            new HouseholdMembership { Person = him, Household = file, Role = HouseholdRole.Conjoint },
            new HouseholdMembership { Person = child, Household = file, Role = HouseholdRole.Enfant },
            new HouseholdMembership { Person = her, Household = other, Role = HouseholdRole.Allocataire });
        db.RequiredActions.AddRange(
            new PendingRequiredAction { PersonId = her.Id, Action = RequiredAction.ChooseNewPassword, Reason = "agent" },
            new PendingRequiredAction { PersonId = her.Id, Action = RequiredAction.VerifyContact, Reason = "agent" });
        await db.SaveChangesAsync();
        return her;
    }

    [Test]
    public async Task The_login_reads_the_person_with_files_members_and_pending_actions_in_one_command()
    {
        var her = await SeedCoupleAsync();
        var counter = new CommandCounter();
        await using var db = _database.NewContext(counter);

        var found = await new PersonDirectory(db).FindByNirAsync("2850375112048");

        Assert.That(counter.Commands, Has.Count.EqualTo(1), "one round trip (was four: a split query)");
        Assert.That(found, Is.Not.Null);
        Assert.That(found!.Id, Is.EqualTo(her.Id));
        Assert.That(found.Memberships.Select(m => m.Household!.FileNumber).Order(), Is.EqualTo(new[] { "0260311", "0777001" }));
        var shared = found.Memberships.Single(m => m.Household!.FileNumber == "0260311").Household!;
        Assert.That(shared.Members.Select(m => m.Role).Order(), Is.EqualTo(new[] { HouseholdRole.Allocataire, HouseholdRole.Conjoint, HouseholdRole.Enfant }.Order()),
            "who lives as a couple on the file: the login's required actions read it");
        Assert.That(found.RequiredActions.Select(a => a.Action).Order(), Is.EqualTo(new[] { RequiredAction.ChooseNewPassword, RequiredAction.VerifyContact }.Order()),
            "each pending action once, whatever the number of members joined beside them");
    }

    [Test]
    public async Task The_login_reads_the_current_terms_version_alone_and_tracks_nothing()
    {
        await using (var db = _database.NewContext())
        {
            Assert.That(await new TermsOfUseCatalog(db, TimeProvider.System).CurrentVersionAsync(), Is.Null, "none published yet");
            var catalog = new TermsOfUseCatalog(db, TimeProvider.System);
            await catalog.EnsurePublishedAsync();
            await catalog.PublishAsync("Conditions générales d'utilisation", "Nouvelle version.");
        }

        var counter = new CommandCounter();
        await using var counted = _database.NewContext(counter);
        var version = await new TermsOfUseCatalog(counted, TimeProvider.System).CurrentVersionAsync();

        Assert.That(version, Is.EqualTo(2), "the latest published version");
        Assert.That(counter.Commands, Has.Count.EqualTo(1));
        Assert.That(counter.Commands[0], Does.Not.Contain("\"Text\""), "the text of the terms is not read at every login");
        Assert.That(counted.ChangeTracker.Entries(), Is.Empty, "no terms row tracked for the login's commit to scan");
    }
}
