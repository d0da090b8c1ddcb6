using CafConnect.Cli.Commands;
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
        File.Delete(_file);
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
public sealed class PostgreSqlImportCommandTests : ImportCommandTests
{
    protected override async Task<ITestStore> CreateStoreAsync() => await TemporaryPostgreSqlDatabase.CreateAsync();
}
