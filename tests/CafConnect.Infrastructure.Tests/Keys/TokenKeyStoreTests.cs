using CafConnect.Infrastructure.Keys;
using CafConnect.Infrastructure.Persistence;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Time.Testing;
using Microsoft.IdentityModel.Tokens;

namespace CafConnect.Infrastructure.Tests.Keys;

public sealed class TokenKeyStoreTests
{
    private string _directory = null!;
    private SqliteCafConnectDbContext _db = null!;
    private FakeTimeProvider _clock = null!;
    private TokenKeyStore _store = null!;

    [SetUp]
    public async Task CreateStore()
    {
        _directory = Path.Combine(Path.GetTempPath(), "cafconnect-keys-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_directory);
        _db = new SqliteCafConnectDbContext(StorageRegistration.Configure(new DbContextOptionsBuilder<SqliteCafConnectDbContext>(), StorageProvider.Sqlite, $"Data Source={Path.Combine(_directory, "k.db")}").Options);
        await _db.Database.MigrateAsync();
        _clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 24, 8, 0, 0, TimeSpan.Zero));
        _store = new TokenKeyStore(_db, DataProtectionProvider.Create(new DirectoryInfo(_directory)), _clock);
    }

    [TearDown]
    public async Task DropStore()
    {
        await _db.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    [Test]
    public async Task First_load_creates_an_RSA_and_an_EC_signing_key_and_one_encryption_key_and_later_loads_reuse_them()
    {
        var first = await _store.LoadOrCreateAsync();
        var second = await _store.LoadOrCreateAsync();

        Assert.Multiple(() =>
        {
            Assert.That(first.Select(k => k.Record.Use), Is.EquivalentTo(new[] { TokenKeyUses.Signing, TokenKeyUses.EcSigning, TokenKeyUses.Encryption }));
            Assert.That(second.Select(k => k.Record.KeyId), Is.EquivalentTo(first.Select(k => k.Record.KeyId)));
            Assert.That(first.Single(k => k.Record.Use == TokenKeyUses.Signing).SecurityKey, Is.InstanceOf<RsaSecurityKey>());
            Assert.That(first.Single(k => k.Record.Use == TokenKeyUses.Encryption).SecurityKey, Is.InstanceOf<SymmetricSecurityKey>());
            var ec = first.Single(k => k.Record.Use == TokenKeyUses.EcSigning);
            Assert.That(ec.Record.Algorithm, Is.EqualTo("ES256"));
            Assert.That(((ECDsaSecurityKey)ec.SecurityKey).ECDsa.ExportParameters(false).Curve.Oid.Value, Is.EqualTo("1.2.840.10045.3.1.7"), "P-256");
            Assert.That(TokenSigning.SignerFor(TokenSigning.Es256, first, _clock.GetUtcNow(), TimeSpan.FromHours(1)), Is.SameAs(ec),
                "created with the RSA key, the EC key signs at once");
        });
    }

    [Test]
    public async Task Key_material_is_encrypted_at_rest()
    {
        var keys = await _store.LoadOrCreateAsync();
        var signing = (RsaSecurityKey)keys.Single(k => k.Record.Use == TokenKeyUses.Signing).SecurityKey;
        var pkcs8 = Convert.ToBase64String(signing.Rsa.ExportPkcs8PrivateKey());
        var stored = await _db.TokenKeys.AsNoTracking().Select(k => k.ProtectedMaterial).ToListAsync();

        Assert.That(stored, Has.None.EqualTo(pkcs8));
    }

    [Test]
    public async Task Rotation_puts_the_new_key_first_and_keeps_the_retired_key_for_thirty_days()
    {
        var original = (await _store.LoadOrCreateAsync()).First(k => k.Record.Use == TokenKeyUses.Signing).Record.KeyId;
        _clock.Advance(TimeSpan.FromHours(1));

        await _store.RotateAsync(TokenKeyUses.Signing);
        var afterRotation = (await _store.LoadAsync()).Where(k => k.Record.Use == TokenKeyUses.Signing).ToList();
        _clock.Advance(TokenKeyStore.RetiredKeyLifetime + TimeSpan.FromMinutes(1));
        var muchLater = (await _store.LoadAsync()).Where(k => k.Record.Use == TokenKeyUses.Signing).ToList();

        Assert.Multiple(() =>
        {
            Assert.That(afterRotation, Has.Count.EqualTo(2));
            Assert.That(afterRotation[0].IsActive, Is.True);
            Assert.That(afterRotation[0].Record.KeyId, Is.Not.EqualTo(original));
            Assert.That(afterRotation[1].Record.KeyId, Is.EqualTo(original));
            Assert.That(muchLater.Select(k => k.Record.KeyId), Is.EqualTo(new[] { afterRotation[0].Record.KeyId }));
        });
    }

    [Test]
    public async Task A_rotation_with_a_publication_delay_publishes_the_new_key_while_the_old_one_signs_until_it_retires()
    {
        var original = (await _store.LoadOrCreateAsync()).First(k => k.Record.Use == TokenKeyUses.Signing).Record.KeyId;
        _clock.Advance(TimeSpan.FromDays(1));

        var fresh = (await _store.RotateAsync(TokenKeyUses.Signing, TimeSpan.FromHours(1))).Single(k => k.Use == TokenKeyUses.Signing).KeyId;
        var during = (await _store.LoadAsync()).Where(k => k.Record.Use == TokenKeyUses.Signing).ToList();
        _clock.Advance(TimeSpan.FromHours(1) + TimeSpan.FromSeconds(1));
        var after = (await _store.LoadAsync()).Where(k => k.Record.Use == TokenKeyUses.Signing).ToList();

        Assert.Multiple(() =>
        {
            Assert.That(during.Select(k => (k.Record.KeyId, k.IsActive)), Is.EqualTo(new[] { (original, true), (fresh, true) }),
                "both published, the old one first: it still signs");
            Assert.That(after.Select(k => (k.Record.KeyId, k.IsActive)), Is.EqualTo(new[] { (fresh, true), (original, false) }),
                "the new one signs, the old one stays published as retired");
        });
    }

    [Test]
    public async Task The_publication_delay_counts_from_after_the_new_keys_were_made()
    {
        await _store.LoadOrCreateAsync();
        // Every reading of the clock moves it a minute on: a slow rotation (RSA on a loaded machine, seen in the drill).
        _clock.AutoAdvanceAmount = TimeSpan.FromMinutes(1);

        var fresh = (await _store.RotateAsync(TokenKeyUses.Signing, TimeSpan.FromMinutes(10))).Single(k => k.Use == TokenKeyUses.Signing);
        _clock.AutoAdvanceAmount = TimeSpan.Zero;
        var old = (await _db.TokenKeys.AsNoTracking().Where(k => k.Use == TokenKeyUses.Signing && k.KeyId != fresh.KeyId).SingleAsync());

        Assert.That(old.RetiredAt, Is.GreaterThanOrEqualTo(fresh.CreatedAt + TimeSpan.FromMinutes(10)),
            "the old key retires a full delay after the new one exists, never earlier");
    }

    [Test]
    public async Task Rotating_the_signing_keys_rotates_the_RSA_and_the_EC_key_together_and_each_old_one_signs_until_it_retires()
    {
        var first = await _store.LoadOrCreateAsync();
        var oldRsa = first.Single(k => k.Record.Use == TokenKeyUses.Signing).Record.KeyId;
        var oldEc = first.Single(k => k.Record.Use == TokenKeyUses.EcSigning).Record.KeyId;
        _clock.Advance(TimeSpan.FromDays(1));

        var created = await _store.RotateAsync(TokenKeyUses.Signing, TimeSpan.FromHours(1));
        var during = await _store.LoadAsync();
        _clock.Advance(TimeSpan.FromHours(1) + TimeSpan.FromSeconds(1));
        var after = await _store.LoadAsync();

        string Signer(string algorithm, IReadOnlyList<TokenKey> keys) => TokenSigning.SignerFor(algorithm, keys, _clock.GetUtcNow(), TimeSpan.FromHours(1)).Record.KeyId;
        Assert.Multiple(() =>
        {
            Assert.That(created.Select(k => k.Use), Is.EquivalentTo(new[] { TokenKeyUses.Signing, TokenKeyUses.EcSigning }), "--use sig: both signing keys");
            Assert.That(created.Select(k => k.CreatedAt).Distinct().Count(), Is.EqualTo(1), "made together");
            Assert.That(Signer(TokenSigning.Rs256, during), Is.EqualTo(oldRsa));
            Assert.That(Signer(TokenSigning.Es256, during), Is.EqualTo(oldEc), "the old EC key signs while the new one is only published");
            Assert.That(during.Where(k => k.Record.Use == TokenKeyUses.EcSigning).Select(k => k.Record.KeyId), Is.EquivalentTo(new[] { oldEc, created.Single(k => k.Use == TokenKeyUses.EcSigning).KeyId }));
            Assert.That(Signer(TokenSigning.Rs256, after), Is.EqualTo(created.Single(k => k.Use == TokenKeyUses.Signing).KeyId));
            Assert.That(Signer(TokenSigning.Es256, after), Is.EqualTo(created.Single(k => k.Use == TokenKeyUses.EcSigning).KeyId), "the new EC key signs once the old one retired");
            Assert.That(after.Single(k => k.Record.KeyId == oldEc).IsActive, Is.False, "the old EC key stays published as retired");
        });
    }

    [Test]
    public async Task A_store_without_an_EC_key_gets_one_at_start_which_signs_only_after_the_publication_delay()
    {
        await _store.LoadOrCreateAsync();
        // The store as the version before ES256 left it.
        await _db.TokenKeys.Where(k => k.Use == TokenKeyUses.EcSigning).ExecuteDeleteAsync();
        Assert.That(TokenSigning.SignerFor(TokenSigning.Es256, await _store.LoadAsync(), _clock.GetUtcNow(), TimeSpan.FromHours(1)).Record.Algorithm,
            Is.EqualTo("RS256"), "no EC key: RS256, as before");
        _clock.Advance(TimeSpan.FromDays(3));

        var upgraded = await _store.LoadOrCreateAsync();
        var ec = upgraded.Single(k => k.Record.Use == TokenKeyUses.EcSigning);
        var justAfter = TokenSigning.SignerFor(TokenSigning.Es256, upgraded, _clock.GetUtcNow(), TimeSpan.FromHours(1));
        _clock.Advance(TimeSpan.FromHours(1));
        var anHourLater = TokenSigning.SignerFor(TokenSigning.Es256, await _store.LoadAsync(), _clock.GetUtcNow(), TimeSpan.FromHours(1));

        Assert.Multiple(() =>
        {
            Assert.That(justAfter.Record.Algorithm, Is.EqualTo("RS256"), "published only: instances of the earlier version do not know it");
            Assert.That(anHourLater.Record.KeyId, Is.EqualTo(ec.Record.KeyId), "published for the delay: it signs");
            Assert.That(TokenSigning.SignerFor(TokenSigning.Rs256, upgraded, _clock.GetUtcNow(), TimeSpan.FromHours(1)).Record.Algorithm, Is.EqualTo("RS256"));
        });
    }

    [Test]
    public async Task The_loaded_key_ring_signs_with_the_RSA_key_the_records_rule_names_even_on_a_creation_tie()
    {
        var first = (await _store.LoadOrCreateAsync()).Single(k => k.Record.Use == TokenKeyUses.Signing).Record;
        // A second instance created its first RSA key at the same instant (the race at a first start).
        var twin = await _db.TokenKeys.AsNoTracking().SingleAsync(k => k.KeyId == first.KeyId);
        twin.Id = Guid.NewGuid();
        twin.KeyId = first.KeyId.StartsWith('A') ? "B" + first.KeyId[1..] : "A" + first.KeyId[1..];
        _db.TokenKeys.Add(twin);
        await _db.SaveChangesAsync();

        var signer = TokenSigning.RsaSigner(await _store.LoadAsync());
        var named = TokenSigning.RsaSignerRecord(await _store.ListAsync(), _clock.GetUtcNow());

        Assert.Multiple(() =>
        {
            Assert.That(named?.KeyId, Is.EqualTo(new[] { first.KeyId, twin.KeyId }.Min(StringComparer.Ordinal)), "the tie goes to the smaller key id");
            Assert.That(signer?.Record.KeyId, Is.EqualTo(named?.KeyId), "what the host signs with is what the CLI shows");
        });
    }
}
