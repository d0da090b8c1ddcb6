using CafConnect.Cli.Commands;
using CafConnect.Domain.Households;
using CafConnect.Infrastructure.Persistence;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace CafConnect.Cli.Tests;

/// <summary><c>cafconnect accounts import FILE.csv [--dry-run]</c> on every store provider (fixtures below).</summary>
public abstract class ImportCommandTests
{
    private const string Header = "file_number,role,nir,provisional_id,civility,birth_name,usage_name,given_names,birth_date,birth_country,birth_city,postal_code,mobile,email,legacy_secret,legacy_secret_format";

    // File 0260311's child comes last, after another file; file 0888888 has a bad birth date on its second row.
    private const string Csv = Header + "\n" +
        "0260311,allocataire,2 85 03 75 112 048,,MME,DUPONT,,Jeanne,1985-03-14,FRANCE,PARIS,75011,06 15 00 00 01,,,none\n" +
        "0999999,allocataire,,P12345678,MME,MORVAN,,Anne,1962-09-09,ALGERIE,ORAN,06000,,anne@example.fr,,none\n" +
        "0888888,allocataire,1 70 01 75 101 001,,M,MARTIN,,Paul,1970-01-01,FRANCE,,,,,,none\n" +
        "0888888,enfant,2 05 01 75 101 003,,MME,MARTIN,,Lou,2005-02-30,FRANCE,,,,,,none\n" +
        "0260311,enfant,2 05 01 75 101 002,,MME,DUPONT,,\"Léa, Marie\",2005-01-01,FRANCE,PARIS,75011,,,,none\n";

    private ITestStore _store = null!;
    private string _file = null!;

    protected abstract Task<ITestStore> CreateStoreAsync();

    [SetUp]
    public async Task CreateStoreAndFile()
    {
        _store = await CreateStoreAsync();
        Assert.That((await _store.Cli.RunAsync("db", "migrate")).ExitCode, Is.EqualTo(0));
        _file = Path.Combine(Path.GetTempPath(), $"cafconnect-import-{Guid.NewGuid():N}.csv");
        await File.WriteAllTextAsync(_file, Csv);
    }

    [TearDown]
    public async Task DropStore()
    {
        if (_file is not null)
        {
            File.Delete(_file);
        }
        if (_store is not null)
        {
            await _store.DisposeAsync();
            _store = null!;
        }
    }

    private Task<List<(string File, int Members)>> FilesAsync() =>
        _store.Cli.WithServicesAsync(async services =>
            (await services.GetRequiredService<CafConnectDbContext>().Households.Select(h => new { h.FileNumber, Members = h.Members.Count }).ToListAsync())
            .Select(h => (h.FileNumber, h.Members)).OrderBy(h => h.FileNumber).ToList());

    [Test]
    public async Task An_import_writes_the_good_files_whole_reports_each_refusal_with_its_line_and_is_audited()
    {
        var result = await _store.Cli.RunAsync("accounts", "import", _file);

        Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
        Assert.That(result.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries), Is.EqualTo(new[]
        {
            "refused: line 4: dossier 0888888 non importé : sa ligne 5 est invalide",
            "refused: line 5: birth_date : date attendue au format AAAA-MM-JJ, entre 1900 et aujourd'hui",
        }), result.ToString());
        Assert.That(result.Out, Does.Contain("Imported: rows read=5; rows imported=3; files=2; refused=2"));
        Assert.That(await FilesAsync(), Is.EqualTo(new[] { ("0260311", 2), ("0999999", 1) }));
        var audit = await _store.Cli.WithServicesAsync(s => s.GetRequiredService<CafConnectDbContext>().AuditEvents.SingleAsync(e => e.Type == ImportCommands.ImportedEventType));
        Assert.That(audit.Outcome, Is.EqualTo("partial"));
        Assert.That(audit.Details, Does.Contain("rows imported=3"));
    }

    [Test]
    public async Task A_second_run_is_idempotent()
    {
        await _store.Cli.RunAsync("accounts", "import", _file);
        var second = await _store.Cli.RunAsync("accounts", "import", _file);

        Assert.That(second.Out, Does.Contain("rows imported=3"), second.ToString());
        Assert.That(await FilesAsync(), Is.EqualTo(new[] { ("0260311", 2), ("0999999", 1) }));
        Assert.That(await _store.Cli.WithServicesAsync(s => s.GetRequiredService<CafConnectDbContext>().Persons.CountAsync()), Is.EqualTo(3));
    }

    private const string JeanneNir = "2850375112048";
    private const string MarcNir = "1831175115230";

    private async Task<CliResult> ImportTextAsync(string csv)
    {
        var path = Path.Combine(Path.GetTempPath(), $"cafconnect-import-{Guid.NewGuid():N}.csv");
        await File.WriteAllTextAsync(path, csv);
        try
        {
            return await _store.Cli.RunAsync("accounts", "import", path);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public async Task A_reimport_never_lowers_what_the_store_knows_better()
    {
        // The export as it was: Jeanne and Marc on 0260311 with the shared code, Anne on 0999999.
        const string export = Header + "\n" +
            "0260311,allocataire,2850375112048,,MME,DUPONT,,Jeanne,1985-03-14,FRANCE,PARIS,75011,06 15 00 00 01,,40718253,plain\n" +
            "0260311,conjoint,1831175115230,,M,DUPONT,,Marc,1983-11-02,FRANCE,PARIS,75011,06 15 00 00 02,,,none\n" +
            "0999999,allocataire,,P12345678,MME,MORVAN,,Anne,1962-09-09,ALGERIE,ORAN,06000,,anne@example.fr,,none\n";
        var first = await ImportTextAsync(export);
        Assert.That(first.Out, Does.Contain("rows imported=3"), first.ToString());
        // Since then: Jeanne proved her mobile, and the separation moved Marc to his own file and replaced the shared code
        // (each resulting file gets a new code by letter, docs/decisions.md #25).
        await _store.Cli.WithServicesAsync(async services =>
        {
            var db = services.GetRequiredService<CafConnectDbContext>();
            var jeanne = await db.Persons.SingleAsync(p => p.Nir == JeanneNir);
            jeanne.MobilePhoneVerified = true;
            return await db.SaveChangesAsync();
        });
        var eventFile = Path.Combine(Path.GetTempPath(), $"cafconnect-event-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(eventFile, """{"event_id":"SEP-IMPORT-1","type":"separation","file_number":"0260311","new_file_number":"0260399","person":{"nir":"1831175115230"}}""");
        var separation = await _store.Cli.RunAsync("files", "event", "--json", eventFile);
        File.Delete(eventFile);
        Assert.That(separation.ExitCode, Is.EqualTo(0), separation.ToString());
        var codeAfterSeparation = await _store.Cli.WithServicesAsync(async services =>
            await services.GetRequiredService<CafConnectDbContext>().Households.AsNoTracking()
                .Where(h => h.FileNumber == "0260311").Select(h => h.LegacySecretHash).SingleAsync());
        Assert.That(codeAfterSeparation, Is.Not.Null, "the separation gave the file a new code");

        // An old or wrong export comes in again.
        const string stale = Header + "\n" +
            // line 2: the old code and another (unverified) mobile for Jeanne's file
            "0260311,allocataire,2850375112048,,MME,DUPONT,,Jeanne,1985-03-14,FRANCE,PARIS,75011,06 99 99 99 99,,40718253,plain\n" +
            // line 3: Jeanne's NIR under another civil status, holder of another file
            "0777777,allocataire,2850375112048,,MME,LEFEBVRE,,Claire,1990-01-01,FRANCE,LYON,69003,06 88 88 88 88,,,none\n" +
            // line 4: Marc back onto a file of the old export, away from the one the separation gave him
            "0555555,allocataire,1831175115230,,M,DUPONT,,Marc,1983-11-02,FRANCE,PARIS,75011,,,,none\n" +
            // lines 5-6: Anne's file, and Jeanne (already on 0260311 of this export) added to it
            "0999999,allocataire,,P12345678,MME,MORVAN,,Anne,1962-09-09,ALGERIE,ORAN,06000,,anne@example.fr,,none\n" +
            "0999999,autre,2850375112048,,MME,DUPONT,,Jeanne,1985-03-14,FRANCE,PARIS,75011,,,,none\n";
        var result = await ImportTextAsync(stale);

        Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
        var refused = result.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Where(l => l.StartsWith("refused:", StringComparison.Ordinal)).ToList();
        Assert.That(refused, Is.EquivalentTo(new[]
        {
            "refused: line 3: dossier 0777777 non importé : " + CafConnect.Domain.Imports.ImportReconciliation.CivilStatusConflict,
            "refused: line 4: dossier 0555555 non importé : " + CafConnect.Domain.Imports.ImportReconciliation.PersonOnAnotherFile,
        }), result.ToString());
        Assert.That(result.Err, Does.Contain("warning: line 2: " + CafConnect.Domain.Imports.ImportReconciliation.VerifiedMobileKept)
            .And.Contain("warning: line 2: " + CafConnect.Domain.Imports.ImportReconciliation.LegacyCodeKept));
        Assert.That(result.Out, Does.Contain("rows imported=3; files=2"), "0260311 and 0999999 written (an existing person joining an existing file on every store)");

        var (jeanne, marcFiles, code, files) = await _store.Cli.WithServicesAsync(async services =>
        {
            var db = services.GetRequiredService<CafConnectDbContext>();
            var person = await db.Persons.AsNoTracking().Include(p => p.Memberships).ThenInclude(m => m.Household).SingleAsync(p => p.Nir == JeanneNir);
            var marc = await db.Memberships.AsNoTracking().Where(m => m.Person!.Nir == MarcNir).Select(m => m.Household!.FileNumber).ToListAsync();
            var legacy = await db.Households.AsNoTracking().Where(h => h.FileNumber == "0260311").Select(h => h.LegacySecretHash).SingleAsync();
            var numbers = await db.Households.AsNoTracking().Select(h => h.FileNumber).OrderBy(f => f).ToListAsync();
            return (person, marc, legacy, numbers);
        });
        Assert.Multiple(() =>
        {
            Assert.That((jeanne.BirthName, jeanne.GivenNames), Is.EqualTo(("DUPONT", "Jeanne")), "not renamed");
            Assert.That((jeanne.MobilePhone, jeanne.MobilePhoneVerified), Is.EqualTo(("+33615000001", true)), "her verified mobile kept");
            Assert.That(jeanne.Memberships.Select(m => (m.Household!.FileNumber, m.Role)), Is.EquivalentTo(new[] { ("0260311", HouseholdRole.Allocataire), ("0999999", HouseholdRole.Autre) }));
            Assert.That(marcFiles, Is.EqualTo(new[] { "0260399" }), "Marc stays on the file the separation gave him");
            Assert.That(code, Is.EqualTo(codeAfterSeparation), "the old code the separation replaced is not restored");
            Assert.That(files, Is.EqualTo(new[] { "0260311", "0260399", "0999999" }));
        });
    }

    [Test]
    public async Task A_dry_run_reports_the_same_and_writes_nothing()
    {
        var result = await _store.Cli.RunAsync("accounts", "import", _file, "--dry-run");

        Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
        Assert.That(result.Out, Does.Contain("Dry run, nothing written: rows read=5; rows valid=3; files=2; refused=2"));
        Assert.That(await FilesAsync(), Is.Empty);
    }
}

[TestFixture]
public sealed class SqliteImportCommandTests : ImportCommandTests
{
    protected override Task<ITestStore> CreateStoreAsync() => Task.FromResult<ITestStore>(new TemporarySqliteStore());
}

[TestFixture]
[PostgreSqlFixture]
public sealed class PostgreSqlImportCommandTests : ImportCommandTests
{
    protected override async Task<ITestStore> CreateStoreAsync() => await TemporaryPostgreSqlDatabase.CreateAsync();
}
