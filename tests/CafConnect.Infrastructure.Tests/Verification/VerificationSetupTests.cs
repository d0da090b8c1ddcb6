using CafConnect.Infrastructure.Keys;
using CafConnect.Infrastructure.Persistence;
using CafConnect.Infrastructure.Verification;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace CafConnect.Infrastructure.Tests.Verification;

public sealed class CodeGenerationTests
{
    [Test]
    public void Codes_are_uniform_over_six_digits_with_leading_zeros()
    {
        var codes = Enumerable.Range(0, 20_000).Select(_ => CodeMac.NewCode()).ToList();
        var firstDigits = codes.GroupBy(c => c[0]).ToDictionary(g => g.Key, g => g.Count());

        Assert.Multiple(() =>
        {
            Assert.That(codes, Has.All.Length.EqualTo(6));
            Assert.That(firstDigits.Keys, Is.EquivalentTo("0123456789".ToCharArray()), "every leading digit, 0 included");
            // 2,000 expected per digit; ±400 is more than 9 standard deviations.
            Assert.That(firstDigits.Values, Has.All.InRange(1_600, 2_400));
        });
    }

    [TestCase("06 12 34 56 78", "0612345678")]
    [TestCase("06.12.34.56.78", "0612345678")]
    [TestCase("+33 6 12 34 56 78", "0612345678")]
    [TestCase("+33 (0)6 12 34 56 78", "0612345678")]
    [TestCase("0033612345678", "0612345678")]
    [TestCase("+32 470 12 34 56", "0032470123456")]
    public void Phones_have_one_spelling(string input, string expected) =>
        Assert.That(ContactNormalizer.Normalize(ContactChannel.Sms, input), Is.EqualTo(expected));

    [Test]
    public void Emails_are_trimmed_and_lower_cased() =>
        Assert.That(ContactNormalizer.Normalize(ContactChannel.Email, "  Jean.Dupont@Exemple.FR "), Is.EqualTo("jean.dupont@exemple.fr"));

    // Adversarial review, 5 December 2026 (fifth session): one mailbox written two ways was two contacts to the
    // personal-contact rule.
    [TestCase("\"Jean.Dupont\"@exemple.fr", "jean.dupont@exemple.fr")]
    [TestCase("jean.dupont@EXÄMPLE.fr", "jean.dupont@xn--exmple-cua.fr")]
    [TestCase("jean.dupont@xn--exmple-cua.fr", "jean.dupont@xn--exmple-cua.fr")]
    public void One_mailbox_has_one_spelling_however_it_is_written(string input, string expected) =>
        Assert.That(ContactNormalizer.Normalize(ContactChannel.Email, input), Is.EqualTo(expected));
}

public sealed class MacKeyTests
{
    private string _directory = null!;
    private SqliteCafConnectDbContext _db = null!;
    private FakeTimeProvider _clock = null!;
    private IDataProtectionProvider _dataProtection = null!;

    [SetUp]
    public async Task CreateStore()
    {
        _directory = Path.Combine(Path.GetTempPath(), "cafconnect-mac-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_directory);
        _db = new SqliteCafConnectDbContext(StorageRegistration.Configure(new DbContextOptionsBuilder<SqliteCafConnectDbContext>(), StorageProvider.Sqlite, $"Data Source={Path.Combine(_directory, "k.db")}").Options);
        await _db.Database.MigrateAsync();
        _clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 24, 8, 0, 0, TimeSpan.Zero));
        _dataProtection = DataProtectionProvider.Create(new DirectoryInfo(_directory));
    }

    [TearDown]
    public async Task DropStore()
    {
        await _db.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    private TokenKeyStore Store() => new(_db, _dataProtection, _clock);

    [Test]
    public async Task The_first_load_creates_an_encrypted_mac_key_that_is_not_a_token_key()
    {
        var tokenKeys = await Store().LoadOrCreateAsync();
        var macKeys = await Store().LoadOrCreateMacKeysAsync(TimeSpan.FromDays(1));
        var record = await _db.TokenKeys.AsNoTracking().SingleAsync(k => k.Use == TokenKeyUses.Mac);

        Assert.Multiple(() =>
        {
            Assert.That(tokenKeys.Select(k => k.Record.Use), Has.None.EqualTo(TokenKeyUses.Mac), "OpenIddict never sees the mac key");
            Assert.That(macKeys, Has.Count.EqualTo(1));
            Assert.That(macKeys[0].KeyId, Is.EqualTo(record.KeyId));
            Assert.That(macKeys[0].Material, Has.Length.EqualTo(32));
            Assert.That(macKeys[0].IsActive, Is.True);
            Assert.That(record.Algorithm, Is.EqualTo("HS256"));
            Assert.That(record.ProtectedMaterial, Is.Not.EqualTo(Convert.ToBase64String(macKeys[0].Material)));
        });
    }

    [Test]
    public async Task The_mac_key_rotates_alone_and_the_retired_one_stays_accepted_for_a_while()
    {
        var original = (await Store().LoadOrCreateMacKeysAsync(TimeSpan.FromDays(1))).Single();
        var tokenKeysBefore = (await Store().ListAsync()).Where(k => k.Use != TokenKeyUses.Mac).Select(k => k.KeyId).ToList();
        _clock.Advance(TimeSpan.FromHours(1));

        await Store().RotateAsync(TokenKeyUses.Mac);
        var afterRotation = await Store().LoadOrCreateMacKeysAsync(TimeSpan.FromDays(1));
        _clock.Advance(TimeSpan.FromDays(1) + TimeSpan.FromMinutes(1));
        var muchLater = await Store().LoadOrCreateMacKeysAsync(TimeSpan.FromDays(1));
        var tokenKeysAfter = (await Store().ListAsync()).Where(k => k.Use != TokenKeyUses.Mac && k.RetiredAt == null).Select(k => k.KeyId).ToList();

        Assert.Multiple(() =>
        {
            Assert.That(afterRotation.Select(k => k.IsActive), Is.EqualTo(new[] { true, false }));
            Assert.That(afterRotation[1].KeyId, Is.EqualTo(original.KeyId));
            Assert.That(afterRotation[0].Material, Is.Not.EqualTo(original.Material));
            Assert.That(muchLater.Select(k => k.KeyId), Is.EqualTo(new[] { afterRotation[0].KeyId }));
            Assert.That(tokenKeysAfter, Is.EquivalentTo(tokenKeysBefore), "signing and encryption keys untouched");
        });
    }

    [Test]
    public async Task Instances_share_the_mac_key_through_the_store()
    {
        var services = new ServiceCollection();
        var connectionString = $"Data Source={Path.Combine(_directory, "k.db")}";
        services.AddScoped<CafConnectDbContext>(_ => new SqliteCafConnectDbContext(
            StorageRegistration.Configure(new DbContextOptionsBuilder<SqliteCafConnectDbContext>(), StorageProvider.Sqlite, connectionString).Options));
        services.AddSingleton(_dataProtection);
        services.AddSingleton<TimeProvider>(_clock);
        services.AddScoped<TokenKeyStore>();
        await using var provider = services.BuildServiceProvider();
        var first = new StoredMacKeyProvider(provider.GetRequiredService<IServiceScopeFactory>(), _clock);
        var second = new StoredMacKeyProvider(provider.GetRequiredService<IServiceScopeFactory>(), _clock);

        var a = await first.GetKeysAsync();
        var b = await second.GetKeysAsync();
        var flow = "flow-" + Guid.NewGuid().ToString("N");
        var subjectA = (await new CodeMac(first).SubjectsAsync(flow, ContactChannel.Sms, "0612345678"))[0];
        var subjectB = (await new CodeMac(second).SubjectsAsync(flow, ContactChannel.Sms, "06 12 34 56 78"))[0];

        Assert.Multiple(() =>
        {
            Assert.That(b[0].KeyId, Is.EqualTo(a[0].KeyId));
            Assert.That(subjectB.Lookup, Is.EqualTo(subjectA.Lookup));
            Assert.That(subjectB.Hash("123456"), Is.EqualTo(subjectA.Hash("123456")));
            Assert.That(subjectB.Hash("123456"), Is.Not.EqualTo(subjectA.Hash("123457")));
        });
    }
}

public sealed class VerificationRegistrationTests
{
    private static ServiceProvider Build(Dictionary<string, string?> settings)
    {
        settings.TryAdd("Storage:DataDirectory", Path.Combine(Path.GetTempPath(), "cafconnect-reg-" + Guid.NewGuid().ToString("N")));
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddCafConnectInfrastructure(configuration, Path.GetTempPath());
        return services.BuildServiceProvider();
    }

    [Test]
    public async Task The_embedded_sqlite_default_keeps_codes_in_memory()
    {
        await using var provider = Build(new Dictionary<string, string?>());
        Assert.That(MeteredVerificationCodeStore.Unwrap(provider.GetRequiredService<IVerificationCodeStore>()), Is.InstanceOf<InMemoryVerificationCodeStore>());
        Assert.DoesNotThrow(() => provider.GetService<IStartupValidator>()?.Validate());
    }

    [Test]
    public async Task Redis_configuration_selects_the_redis_store_on_one_shared_connection()
    {
        await using var provider = Build(new Dictionary<string, string?> { ["Redis:Configuration"] = "127.0.0.1:1,abortConnect=false,connectTimeout=200" });
        var store = provider.GetRequiredService<IVerificationCodeStore>();
        Assert.Multiple(() =>
        {
            Assert.That(MeteredVerificationCodeStore.Unwrap(store), Is.InstanceOf<RedisVerificationCodeStore>());
            Assert.That(provider.GetRequiredService<IVerificationCodeStore>(), Is.SameAs(store));
            Assert.That(provider.GetRequiredService<StackExchange.Redis.IConnectionMultiplexer>(), Is.SameAs(provider.GetRequiredService<StackExchange.Redis.IConnectionMultiplexer>()));
        });
    }

    [TestCase("PostgreSql", "Host=localhost;Database=x")]
    [TestCase("SqlServer", "Server=localhost;Database=x")]
    public async Task A_shared_database_without_redis_fails_at_start_up(string provider, string connectionString)
    {
        await using var services = Build(new Dictionary<string, string?>
        {
            ["Storage:Provider"] = provider,
            ["ConnectionStrings:CafConnect"] = connectionString,
        });

        var error = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IStartupValidator>().Validate());
        Assert.That(error!.Message, Does.Contain("Redis:Configuration is required with " + provider));
        Assert.Throws<InvalidOperationException>(() => services.GetRequiredService<IVerificationCodeStore>());
    }
}
