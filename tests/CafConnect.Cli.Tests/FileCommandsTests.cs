using CafConnect.Domain.Accounts;
using CafConnect.Domain.Households;
using CafConnect.Application.Admin;
using CafConnect.Infrastructure.Admin;
using CafConnect.Infrastructure.Audit;
using CafConnect.Infrastructure.Notifications;
using CafConnect.Infrastructure.Persistence;
using System.Text.RegularExpressions;
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
        if (_directory is not null)
        {
            Directory.Delete(_directory, recursive: true);
            _directory = null!;
        }
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
    public async Task A_separation_from_the_cli_must_name_each_child_and_moves_them_where_it_says()
    {
        const string child = """{"event_id":"CLI-ADD-CHILD","type":"person_added","file_number":"0260311","role":"enfant","person":{"nir":"1150575112077","civility":"M","birth_name":"DUPONT","given_names":"Hugo","birth_date":"2015-05-02"}}""";
        Assert.That((await EventAsync(child)).ExitCode, Is.EqualTo(0));

        var unnamed = await EventAsync("""{"event_id":"CLI-SEP-C1","type":"separation","file_number":"0260311","new_file_number":"0260399","person":{"nir":"1831175115230"}}""");
        Assert.That(unnamed.ExitCode, Is.Not.EqualTo(0), unnamed.ToString());
        Assert.That(unnamed.ToString(), Does.Contain("not named: Hugo, born 2015-05-02"));

        var named = await EventAsync("""{"event_id":"CLI-SEP-C2","type":"separation","file_number":"0260311","new_file_number":"0260399","person":{"nir":"1831175115230"},"children":[{"person":{"nir":"1150575112077"},"file_number":"0260399"}]}""");
        Assert.That(named.ExitCode, Is.EqualTo(0), named.ToString());
        Assert.That(named.Out, Does.Contain("\"children_moved\":1"));
        var hugo = await QueryAsync(db => db.Memberships.AsNoTracking().Where(m => m.Person!.Nir == "1150575112077").Select(m => m.Household!.FileNumber).ToListAsync());
        Assert.That(hugo, Is.EqualTo(new[] { "0260399" }));
    }

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

    private async Task<CliResult> RegisterApplicantAsync(string json)
    {
        var path = Path.Combine(_directory, Guid.NewGuid().ToString("N") + ".json");
        await File.WriteAllTextAsync(path, json);
        return await Cli.RunAsync("files", "register-applicant", "--json", path);
    }

    private const string OnlineApplication = """{"application_id":"CLI-DEM-1","channel":"en_ligne","benefit":"aide_logement","applicant":{"civility":"MME","birth_name":"Nguyen","given_names":"Linh","birth_date":"1996-02-11","postal_code":"75011","mobile":"06 98 76 54 32"}}""";

    [Test]
    public async Task A_first_time_applicant_registered_from_the_cli_gets_a_file_number_and_an_sms_password_that_is_never_printed()
    {
        var result = await RegisterApplicantAsync(OnlineApplication);

        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        var fileNumber = Regex.Match(result.Out, @"registered: file number (\d{7})").Groups[1].Value;
        Assert.That(fileNumber, Is.Not.Empty, result.Out);
        Assert.That(result.Out, Does.Contain($"\"file_number\":\"{fileNumber}\"").And.Contain("\"password_delivery\":\"sms\""));

        var (person, file, password, audit) = await Cli.WithServicesAsync(async services =>
        {
            var db = services.GetRequiredService<CafConnectDbContext>();
            var household = await db.Households.AsNoTracking().Include(h => h.Members).ThenInclude(m => m.Person).SingleAsync(h => h.FileNumber == fileNumber);
            var applicant = household.Members.Single().Person!;
            var sms = await db.OutboxMessages.AsNoTracking().SingleAsync(m => m.PersonId == applicant.Id && m.Kind == NotificationKind.ProvisionalPassword);
            Assert.That((sms.Channel, sms.Recipient), Is.EqualTo((NotificationChannel.Sms, "+33698765432")));
            var body = services.GetRequiredService<OutboxBodyProtector>().Unprotect(sms.ProtectedTextBody)!;
            var typed = Regex.Match(body, @"Mot de passe provisoire : (\S+),").Groups[1].Value;
            var row = await db.AuditEvents.AsNoTracking().SingleAsync(a => a.Type == AuditEventTypes.ApplicantRegistered);
            return (applicant, household, typed, row);
        });
        Assert.Multiple(() =>
        {
            Assert.That(file.Pending, Is.True, "a file still being processed: a primo-demandeur");
            Assert.That(file.Members.Single().Role, Is.EqualTo(HouseholdRole.Allocataire));
            Assert.That(person.ProvisionalId, Does.Match("^P[0-9]{8}$"), "no NIR given: a provisional identifier is the login");
            Assert.That(password, Is.Not.Empty, "the SMS carries the provisional password");
            Assert.That(result.Out + result.Err, Does.Not.Contain(password), "never printed");
            Assert.That(audit.Details, Does.Contain("by=cli:").And.Contain("application=CLI-DEM-1").And.Not.Contain(password));
            Assert.That(audit.Channel, Is.EqualTo("cli"));
        });

        // The same application again (through the API or the CLI): the same answer, nothing created or sent again.
        var replay = await RegisterApplicantAsync(OnlineApplication);
        Assert.That(replay.ExitCode, Is.EqualTo(0), replay.ToString());
        Assert.That(replay.Out, Does.Contain($"was already registered: file number {fileNumber}"));
        Assert.That(await QueryAsync(db => db.Households.CountAsync(h => h.Pending)), Is.EqualTo(1));
        Assert.That(await QueryAsync(db => db.OutboxMessages.CountAsync(m => m.Kind == NotificationKind.ProvisionalPassword)), Is.EqualTo(1));

        var conflict = await RegisterApplicantAsync(OnlineApplication.Replace("Linh", "Lan", StringComparison.Ordinal));
        Assert.That(conflict.ExitCode, Is.EqualTo(1), conflict.ToString());
        Assert.That(conflict.ErrorLines.Single(), Does.Contain("idempotency_conflict"));
    }

    [Test]
    public async Task An_application_id_and_an_event_id_already_applied_through_the_api_are_not_applied_again_from_the_cli()
    {
        var added = await Cli.RunAsync("clients", "add", "--id", "systeme-prestations", "--name", "Système de gestion des prestations",
            "--kind", "service", "--generate-secret", "--scope", "cafconnect.admin");
        Assert.That(added.ExitCode, Is.EqualTo(0), added.ToString());

        // The API's door: the service with the authenticated service client as caller (what AdminApi passes it).
        var apiCaller = new AdminCaller("systeme-prestations", null);
        var request = AdminJson.TryParse<ApplicantRegistrationRequest>(OnlineApplication, out var parsed, out _) ? parsed! : throw new InvalidOperationException();
        var fromApi = await Cli.WithServicesAsync(services => services.GetRequiredService<ApplicantRegistration>().RegisterAsync(request, apiCaller, CancellationToken.None));
        Assert.That(fromApi.Status, Is.EqualTo(201));
        var fileNumber = fromApi.Body!.Value.GetProperty("file_number").GetString()!;
        const string mutation = """{"event_id":"SGP-MUT-1","type":"mutation","file_number":"0260311","new_file_number":"0260377"}""";
        var eventRequest = AdminJson.TryParse<FileEventRequest>(mutation, out var parsedEvent, out _) ? parsedEvent! : throw new InvalidOperationException();
        var eventFromApi = await Cli.WithServicesAsync(services => services.GetRequiredService<FileEventService>().ApplyAsync(eventRequest, apiCaller, CancellationToken.None));
        Assert.That(eventFromApi.Status, Is.EqualTo(200));

        // The same JSON through the CLI door: the same answer, nothing created or sent again.
        var replay = await RegisterApplicantAsync(OnlineApplication);
        Assert.That(replay.ExitCode, Is.EqualTo(0), replay.ToString());
        Assert.That(replay.Out, Does.Contain($"was already registered: file number {fileNumber}"));
        Assert.That(await QueryAsync(db => db.Households.CountAsync(h => h.Pending)), Is.EqualTo(1), "one file for one application");
        Assert.That(await QueryAsync(db => db.OutboxMessages.CountAsync(m => m.Kind == NotificationKind.ProvisionalPassword)), Is.EqualTo(1),
            "no second provisional password voiding the first");
        var eventReplay = await EventAsync(mutation);
        Assert.That(eventReplay.ExitCode, Is.EqualTo(0), eventReplay.ToString());
        Assert.That(eventReplay.Out, Does.Contain("was already applied"));
        Assert.That(await QueryAsync(db => db.AuditEvents.CountAsync(a => a.Type == AuditEventTypes.FileEventApplied)), Is.EqualTo(1));

        // A new id from the CLI is recorded in the same namespace: the API then finds it.
        const string second = """{"application_id":"CLI-DEM-9","channel":"papier","benefit":"aide_logement","applicant":{"civility":"M","birth_name":"Petit","given_names":"Jules","birth_date":"1994-03-08","postal_code":"69003"}}""";
        var fromCli = await RegisterApplicantAsync(second);
        Assert.That(fromCli.ExitCode, Is.EqualTo(0), fromCli.ToString());
        var secondRequest = AdminJson.TryParse<ApplicantRegistrationRequest>(second, out var parsedSecond, out _) ? parsedSecond! : throw new InvalidOperationException();
        var apiReplay = await Cli.WithServicesAsync(services => services.GetRequiredService<ApplicantRegistration>().RegisterAsync(secondRequest, apiCaller, CancellationToken.None));
        Assert.That(apiReplay.Replayed, Is.True);
        var cliAudit = await QueryAsync(db => db.AuditEvents.AsNoTracking().Where(a => a.Type == AuditEventTypes.ApplicantRegistered).Select(a => a.Details!).ToListAsync());
        Assert.That(cliAudit, Has.Some.Contains("by=cli:").And.Some.Contains("for=client:systeme-prestations"));

        // Naming a client that is not a service client of the admin API is a usage error.
        var path = Path.Combine(_directory, "other.json");
        await File.WriteAllTextAsync(path, OnlineApplication);
        var wrongClient = await Cli.RunAsync("files", "register-applicant", "--json", path, "--client", "caf-fr");
        Assert.That(wrongClient.ExitCode, Is.EqualTo(2), wrongClient.ToString());
    }

    [Test]
    public async Task A_paper_application_from_the_cli_sends_the_identifier_and_the_password_in_two_letters()
    {
        var result = await RegisterApplicantAsync(
            """{"application_id":"CLI-DEM-2","channel":"papier","benefit":"prime_naissance","applicant":{"nir":"2900599350123","civility":"MME","birth_name":"Martin","given_names":"Claire","birth_date":"1990-05-02","postal_code":"69003"}}""");

        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        Assert.That(result.Out, Does.Contain("\"password_delivery\":\"courrier\"").And.Contain("\"letters\":2").And.Contain("\"login\":\"nir\""));
        Assert.That(result.Out, Does.Not.Contain("2900599350123"), "the NIR is not echoed");
        var letters = await QueryAsync(db => db.OutboxMessages.AsNoTracking().Where(m => m.Channel == NotificationChannel.Letter).Select(m => m.Kind).ToListAsync());
        Assert.That(letters, Is.EquivalentTo(new[] { NotificationKind.ApplicantIdentifier, NotificationKind.ProvisionalPassword }));
    }

    [TestCase("""{"application_id":"CLI-DEM-3","channel":"fax","benefit":"aide_logement","applicant":{"civility":"MME","birth_name":"Nguyen","given_names":"Linh","birth_date":"1996-02-11","postal_code":"75011"}}""", "channel", TestName = "An application with an unknown channel is a usage error naming it")]
    [TestCase("""{"application_id":"CLI-DEM-4","channel":"en_ligne","benefit":"aide_logement","applicant":{"civility":"MME","birth_name":"Nguyen","given_names":"Linh","birth_date":"1996-02-11","postal_code":"75011"},"nri":"x"}""", "--json:", TestName = "An application with an unknown field is a usage error")]
    public async Task Bad_applications_are_refused_with_exit_code_2_and_nothing_registered(string json, string expected)
    {
        var result = await RegisterApplicantAsync(json);
        Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
        Assert.That(result.Err, Does.Contain(expected).And.Not.Contain("Exception"));
        Assert.That(await QueryAsync(db => db.Households.CountAsync(h => h.Pending)), Is.Zero);
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
[PostgreSqlFixture]
public sealed class PostgreSqlFileCommandsTests : FileCommandsTests
{
    protected override async Task<ITestStore> CreateStoreAsync() => await TemporaryPostgreSqlDatabase.CreateAsync();
}
