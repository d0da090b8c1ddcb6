using CafConnect.Domain.Accounts;
using CafConnect.Domain.Households;
using CafConnect.Infrastructure.Admin;
using CafConnect.Infrastructure.Audit;
using CafConnect.Infrastructure.Notifications;
using CafConnect.Infrastructure.Persistence;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace CafConnect.Cli.Tests;

/// <summary><c>cafconnect files event --json FILE</c>: the admin API's file events from the command line, on every store.</summary>
public abstract class FileCommandsTests
{
    private const string HolderNir = "2850375112048";
    private const string PartnerNir = "1831175115230";
    private const string ProvisionalId = "P33392250";
    private const string NewNir = "2900599350123";

    private ITestStore _store = null!;
    private string _directory = null!;

    protected CliRunner Cli => _store.Cli;

    protected abstract Task<ITestStore> CreateStoreAsync();

    [SetUp]
    public async Task CreateStoreWithACouple()
    {
        _store = await CreateStoreAsync();
        _directory = Directory.CreateTempSubdirectory("cafconnect-file-events-").FullName;
        Assert.That((await Cli.RunAsync("db", "migrate")).ExitCode, Is.EqualTo(0));
        await Cli.WithServicesAsync(async services =>
        {
            var db = services.GetRequiredService<CafConnectDbContext>();
            PersonAccount Person(string? nir, string? provisionalId, string given, string mobile) => new()
            {
                Nir = nir, ProvisionalId = provisionalId, Civility = Civility.Madame, GivenNames = given, BirthName = "DUPONT", BirthDate = new DateOnly(1985, 3, 14),
                MobilePhone = mobile, MobilePhoneVerified = true, PasswordHash = "x", CredentialKind = CredentialKind.Personal, PasswordSetAt = DateTimeOffset.UtcNow,
            };
            var file = new Household { FileNumber = "0260311" };
            file.Members.Add(new HouseholdMembership { Person = Person(HolderNir, null, "Jeanne", "+33615000001"), Role = HouseholdRole.Allocataire });
            file.Members.Add(new HouseholdMembership { Person = Person(PartnerNir, null, "Marc", "+33615000002"), Role = HouseholdRole.Conjoint, Delegated = true });
            db.Households.Add(file);
            db.Persons.Add(Person(null, ProvisionalId, "Amina", "+33615000003"));
            return await db.SaveChangesAsync();
        });
    }

    [TearDown]
    public async Task DropStore()
    {
        if (_store is not null)
        {
            await _store.DisposeAsync();
            _store = null!;
        }
        Directory.Delete(_directory, recursive: true);
    }

    private async Task<CliResult> EventAsync(string json)
    {
        var path = Path.Combine(_directory, Guid.NewGuid().ToString("N") + ".json");
        await File.WriteAllTextAsync(path, json);
        return await Cli.RunAsync("files", "event", "--json", path);
    }

    private Task<T> QueryAsync<T>(Func<CafConnectDbContext, Task<T>> query) =>
        Cli.WithServicesAsync(services => query(services.GetRequiredService<CafConnectDbContext>()));

    [Test]
    public async Task A_separation_from_the_cli_splits_the_file_ends_the_delegation_and_is_applied_once()
    {
        const string separation = """{"event_id":"CLI-SEP-1","type":"separation","file_number":"0260311","new_file_number":"0260399","person":{"nir":"1831175115230"}}""";
        var result = await EventAsync(separation);

        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        Assert.That(result.Out, Does.Contain("CLI-SEP-1").And.Contain("applied").And.Contain("\"delegation_ended\":true"));
        var files = await QueryAsync(db => db.Memberships.AsNoTracking().Select(m => new { m.Person!.Nir, m.Household!.FileNumber, m.Role, m.Delegated }).ToListAsync());
        Assert.That(files.Select(f => (f.Nir, f.FileNumber, f.Role, f.Delegated)), Is.EquivalentTo(new[]
        {
            (HolderNir, "0260311", HouseholdRole.Allocataire, false),
            (PartnerNir, "0260399", HouseholdRole.Allocataire, false),
        }));
        var kinds = await QueryAsync(db => db.OutboxMessages.AsNoTracking().Select(m => m.Kind).ToListAsync());
        Assert.That(kinds.Count(k => k == NotificationKind.DelegationChanged), Is.EqualTo(2));
        Assert.That(kinds.Count(k => k == NotificationKind.SeparationRecorded), Is.EqualTo(2));
        var audit = await QueryAsync(db => db.AuditEvents.AsNoTracking().SingleAsync(a => a.Type == AuditEventTypes.FileEventApplied));
        Assert.That(audit.Details, Does.Contain("by=cli:").And.Contain("event=CLI-SEP-1"));
        Assert.That(audit.Channel, Is.EqualTo("cli"));

        // Replayed: nothing changes. Another payload under the same id: refused.
        var replay = await EventAsync(separation);
        Assert.That(replay.ExitCode, Is.EqualTo(0), replay.ToString());
        Assert.That(replay.Out, Does.Contain("already applied"));
        var conflict = await EventAsync(separation.Replace("0260399", "0260398", StringComparison.Ordinal));
        Assert.That(conflict.ExitCode, Is.EqualTo(1), conflict.ToString());
        Assert.That(conflict.ErrorLines.Single(), Does.Contain("idempotency_conflict"));
        Assert.That(await QueryAsync(db => db.AuditEvents.CountAsync(a => a.Type == AuditEventTypes.FileEventApplied)), Is.EqualTo(1));
    }

    [Test]
    public async Task Mutation_nir_attached_and_death_from_the_cli()
    {
        var mutation = await EventAsync("""{"event_id":"CLI-MUT-1","type":"mutation","file_number":"0260311","new_file_number":"0330311"}""");
        Assert.That(mutation.ExitCode, Is.EqualTo(0), mutation.ToString());
        Assert.That(await QueryAsync(db => db.Households.Select(h => h.FileNumber).ToListAsync()), Is.EqualTo(new[] { "0330311" }));

        var nir = await EventAsync("{\"event_id\":\"CLI-NIR-1\",\"type\":\"nir_attached\",\"person\":{\"provisional_id\":\"" + ProvisionalId + "\"},\"nir\":\"" + NewNir + "\"}");
        Assert.That(nir.ExitCode, Is.EqualTo(0), nir.ToString());
        var amina = await QueryAsync(db => db.Persons.AsNoTracking().SingleAsync(p => p.GivenNames == "Amina"));
        Assert.That((amina.Nir, amina.ProvisionalId), Is.EqualTo((NewNir, (string?)null)));

        var death = await EventAsync("{\"event_id\":\"CLI-DEATH-1\",\"type\":\"death\",\"person\":{\"nir\":\"" + NewNir + "\"}}");
        Assert.That(death.ExitCode, Is.EqualTo(0), death.ToString());
        Assert.That(await QueryAsync(db => db.Persons.AsNoTracking().Where(p => p.Nir == NewNir).Select(p => p.ClosedAt).SingleAsync()), Is.Not.Null);
    }

    [Test]
    public async Task A_person_added_then_removed_from_the_cli()
    {
        var added = await EventAsync("""{"event_id":"CLI-ADD-1","type":"person_added","file_number":"0260311","role":"enfant","person":{"nir":"1150575112077","civility":"M","birth_name":"Dupont","given_names":"Hugo","birth_date":"2010-05-02"}}""");
        Assert.That(added.ExitCode, Is.EqualTo(0), added.ToString());
        Assert.That(await QueryAsync(db => db.Memberships.CountAsync(m => m.Household!.FileNumber == "0260311")), Is.EqualTo(3));
        var removed = await EventAsync("""{"event_id":"CLI-REM-1","type":"person_removed","file_number":"0260311","person":{"nir":"1150575112077"}}""");
        Assert.That(removed.ExitCode, Is.EqualTo(0), removed.ToString());
        Assert.That(await QueryAsync(db => db.Memberships.CountAsync(m => m.Household!.FileNumber == "0260311")), Is.EqualTo(2));
    }

    [TestCase("{", "--json:", TestName = "Malformed JSON is a usage error")]
    [TestCase("""{"event_id":"x","type":"separation"}""", "file_number", TestName = "Missing fields are a usage error naming them")]
    public async Task Bad_files_are_refused_with_exit_code_2_and_nothing_applied(string json, string expected)
    {
        var result = await EventAsync(json);
        Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
        Assert.That(result.Err, Does.Contain(expected).And.Not.Contain("Exception"));
        Assert.That(await QueryAsync(db => db.Set<ProcessedAdminRequest>().CountAsync()), Is.Zero);
    }

    [Test]
    public async Task A_missing_file_is_a_usage_error()
    {
        var result = await Cli.RunAsync("files", "event", "--json", Path.Combine(_directory, "absent.json"));
        Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
        Assert.That(result.ErrorLines.Single(), Does.Contain("not found"));
    }
}

[TestFixture]
public sealed class SqliteFileCommandsTests : FileCommandsTests
{
    protected override Task<ITestStore> CreateStoreAsync() => Task.FromResult<ITestStore>(new TemporarySqliteStore());
}

[TestFixture]
public sealed class PostgreSqlFileCommandsTests : FileCommandsTests
{
    protected override async Task<ITestStore> CreateStoreAsync() => await TemporaryPostgreSqlDatabase.CreateAsync();
}
