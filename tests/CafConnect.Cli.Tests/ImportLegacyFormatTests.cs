using CafConnect.Infrastructure.Persistence;
using CafConnect.Infrastructure.Security;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace CafConnect.Cli.Tests;

/// <summary><c>cafconnect accounts import</c> accepts <c>legacy_secret_format</c> names of registered legacy verifiers (docs/import.md).</summary>
public abstract class ImportLegacyFormatTests
{
    private const string Header = "file_number,role,nir,provisional_id,civility,birth_name,usage_name,given_names,birth_date,birth_country,birth_city,postal_code,mobile,email,legacy_secret,legacy_secret_format";

    private ITestStore _store = null!;
    private string _csv = null!;

    protected abstract Task<ITestStore> CreateStoreAsync();

    [SetUp]
    public async Task MigratedStore()
    {
        _store = await CreateStoreAsync();
        _csv = Path.Combine(Path.GetTempPath(), $"cafconnect-import-{Guid.NewGuid():N}.csv");
        Assert.That((await _store.Cli.RunAsync("db", "migrate")).ExitCode, Is.EqualTo(0));
    }

    [TearDown]
    public async Task DropStore()
    {
        if (_store is not null)
        {
            await _store.DisposeAsync();
        }
        if (_csv is not null)
        {
            File.Delete(_csv);
        }
    }

    [Test]
    public async Task A_pbkdf2_legacy_code_is_imported_as_it_is_and_an_unknown_format_is_refused_naming_the_known_ones()
    {
        var stored = Pbkdf2Sha256LegacySecretVerifier.Create("58231947", iterations: 1000);
        await File.WriteAllTextAsync(_csv, $"{Header}\n0999001,allocataire,1790575112044,,M,ROUSSEAU,,Alain,1979-05-03,FRANCE,Paris,75011,,,{stored},pbkdf2-sha256\n");
        var imported = await _store.Cli.RunAsync("accounts", "import", _csv);
        Assert.That(imported.ExitCode, Is.EqualTo(0), imported.ToString());
        var hash = await _store.Cli.WithServicesAsync(s => s.GetRequiredService<CafConnectDbContext>().Households.Where(h => h.FileNumber == "0999001").Select(h => h.LegacySecretHash).SingleAsync());
        Assert.That(hash, Is.EqualTo("$legacy$pbkdf2-sha256$" + stored));

        await File.WriteAllTextAsync(_csv, $"{Header}\n0999002,allocataire,1790575112055,,M,MOREAU,,Luc,1979-05-03,FRANCE,Paris,75011,,,{stored},md5-crypt\n"
            + $"0999003,allocataire,1790575112066,,M,PETIT,,Paul,1979-05-03,FRANCE,Paris,75011,,,$pbkdf2-sha256$12$abc$def,pbkdf2-sha256\n");
        var refused = await _store.Cli.RunAsync("accounts", "import", _csv);
        Assert.That(refused.ExitCode, Is.EqualTo(2), refused.ToString());
        Assert.That(refused.Out + refused.Err, Does.Contain("plain, argon2id, pbkdf2-sha256 ou none").And.Contain("valeur illisible pour le format pbkdf2-sha256"));
        Assert.That(await _store.Cli.WithServicesAsync(s => s.GetRequiredService<CafConnectDbContext>().Households.CountAsync()), Is.EqualTo(1));
    }
}

[TestFixture]
public sealed class SqliteImportLegacyFormatTests : ImportLegacyFormatTests
{
    protected override Task<ITestStore> CreateStoreAsync() => Task.FromResult<ITestStore>(new TemporarySqliteStore());
}

[TestFixture]
[PostgreSqlFixture]
public sealed class PostgreSqlImportLegacyFormatTests : ImportLegacyFormatTests
{
    protected override async Task<ITestStore> CreateStoreAsync() => await TemporaryPostgreSqlDatabase.CreateAsync();
}
