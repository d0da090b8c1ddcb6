using System.Text.RegularExpressions;
using CafConnect.Infrastructure.Audit;
using CafConnect.Infrastructure.Keys;
using CafConnect.Infrastructure.Persistence;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using OpenIddict.Abstractions;

namespace CafConnect.Cli.Tests;

/// <summary>The same administration round trip on every store provider (see the fixtures below).</summary>
public abstract partial class StoreRoundTripTests
{
    private ITestStore _store = null!;

    protected CliRunner Cli => _store.Cli;

    protected abstract Task<ITestStore> CreateStoreAsync();

    [SetUp]
    public async Task CreateStore() => _store = await CreateStoreAsync();

    [TearDown]
    public async Task DropStore()
    {
        if (_store is not null)
        {
            await _store.DisposeAsync();
            _store = null!;
        }
    }

    [Test]
    public async Task Db_migrate_creates_the_store_then_has_nothing_left_to_apply()
    {
        var first = await Cli.RunAsync("db", "migrate");
        Assert.That(first.ExitCode, Is.EqualTo(0), first.ToString());
        Assert.That(first.Out, Does.StartWith($"Store: {Cli.Provider}"));
        Assert.That(first.Out, Does.Match(@"Applied \d+ migration\(s\)"));
        Assert.That(first.Out, Does.Contain("_Initial"));

        var second = await Cli.RunAsync("db", "migrate");
        Assert.That(second.ExitCode, Is.EqualTo(0), second.ToString());
        Assert.That(second.Out, Does.Contain("up to date"));

        var pending = await Cli.WithServicesAsync(async s =>
            (await s.GetRequiredService<CafConnectDbContext>().Database.GetPendingMigrationsAsync()).Count());
        Assert.That(pending, Is.Zero);
    }

    [Test]
    public async Task Clients_add_list_update_remove_round_trip()
    {
        Assert.That((await Cli.RunAsync("db", "migrate")).ExitCode, Is.EqualTo(0));

        var added = await Cli.RunAsync("clients", "add", "--id", "rp-test", "--name", "Relying party [test]", "--kind", "confidential",
            "--generate-secret", "--redirect-uri", "https://rp.example.fr/callback", "--redirect-uri", "http://127.0.0.1:5400/callback",
            "--post-logout-redirect-uri", "https://rp.example.fr/", "--scope", "profile", "--scope", "caf");
        Assert.That(added.ExitCode, Is.EqualTo(0), added.ToString());
        var secret = GeneratedSecret().Match(added.Out).Groups["secret"].Value;
        Assert.That(secret, Has.Length.GreaterThanOrEqualTo(32), added.ToString());

        var list = await Cli.RunAsync("clients", "list");
        Assert.That(list.ExitCode, Is.EqualTo(0), list.ToString());
        Assert.That(list.Out, Does.Contain("rp-test").And.Contain("Relying party [test]").And.Contain("confidential")
            .And.Contain("https://rp.example.fr/callback").And.Contain("http://127.0.0.1:5400/callback").And.Contain("openid caf profile"));
        Assert.That(list.Out + list.Err, Does.Not.Contain(secret), "the secret is never listed");

        var updated = await Cli.RunAsync("clients", "update", "--id", "rp-test", "--redirect-uri", "https://rp.example.fr/signin-oidc");
        Assert.That(updated.ExitCode, Is.EqualTo(0), updated.ToString());
        list = await Cli.RunAsync("clients", "list");
        Assert.That(list.Out, Does.Contain("https://rp.example.fr/signin-oidc"));
        Assert.That(list.Out, Does.Not.Contain("https://rp.example.fr/callback").And.Not.Contain("http://127.0.0.1:5400/callback"));
        Assert.That(list.Out, Does.Contain("Relying party [test]").And.Contain("openid caf profile").And.Contain("https://rp.example.fr/"),
            "omitted options keep their values");
        Assert.That(await SecretIsValidAsync("rp-test", secret), Is.True, "update without --secret keeps the secret");

        var removed = await Cli.RunAsync("clients", "remove", "--id", "rp-test");
        Assert.That(removed.ExitCode, Is.EqualTo(0), removed.ToString());
        list = await Cli.RunAsync("clients", "list");
        Assert.That(list.Out, Does.Not.Contain("rp-test"));
        Assert.That(list.Out, Does.Contain("No client registered."));

        var audit = await AuditAsync();
        Assert.That(audit.Select(a => a.Type), Is.SupersetOf(new[] { AuditEventTypes.ClientAdded, AuditEventTypes.ClientUpdated, AuditEventTypes.ClientRemoved }));
        foreach (var row in audit.Where(a => a.Type.StartsWith("admin.client.", StringComparison.Ordinal)))
        {
            Assert.That(row.Channel, Is.EqualTo("cli"));
            Assert.That(row.ClientId, Is.EqualTo("rp-test"));
            Assert.That(row.CorrelationId, Is.Not.Null.And.Not.Empty);
            Assert.That(row.IpAddress, Is.Null);
            Assert.That(row.Details, Does.Contain($"operator={Environment.UserName}"));
            Assert.That(row.Details, Does.Not.Contain(secret));
        }
        Assert.That(audit.Single(a => a.Type == AuditEventTypes.ClientUpdated).Details, Does.Contain("secret=kept"));
    }

    [Test]
    public async Task Clients_update_sets_the_ID_token_algorithm_to_ES256_and_back()
    {
        Assert.That((await Cli.RunAsync("db", "migrate")).ExitCode, Is.EqualTo(0));
        Assert.That((await Cli.RunAsync("clients", "add", "--id", "rp-es256", "--name", "RP", "--kind", "confidential", "--generate-secret",
            "--redirect-uri", "https://rp.example.fr/callback", "--scope", "profile")).ExitCode, Is.EqualTo(0));

        var set = await Cli.RunAsync("clients", "update", "--id", "rp-es256", "--id-token-signed-response-alg", "ES256");
        var listed = await Cli.RunAsync("clients", "list");
        var refused = await Cli.RunAsync("clients", "update", "--id", "rp-es256", "--id-token-signed-response-alg", "HS256");
        var reset = await Cli.RunAsync("clients", "update", "--id", "rp-es256", "--id-token-signed-response-alg", "RS256");
        var listedAfter = await Cli.RunAsync("clients", "list");

        Assert.Multiple(async () =>
        {
            Assert.That(set.ExitCode, Is.EqualTo(0), set.ToString());
            Assert.That(listed.Out, Does.Contain("rp-es256: ID tokens and logout tokens signed with ES256"));
            Assert.That(refused.ExitCode, Is.Not.EqualTo(0), "only RS256 or ES256");
            Assert.That(reset.ExitCode, Is.EqualTo(0), reset.ToString());
            Assert.That(listedAfter.Out, Does.Not.Contain("signed with"), "RS256 is the default, not shown");
            Assert.That((await AuditAsync()).First(a => a.Type == AuditEventTypes.ClientUpdated).Details, Does.Contain("id_token_signed_response_alg=ES256"));
        });
    }

    [Test]
    public async Task Clients_update_gives_and_takes_away_the_phone_grant()
    {
        const string phoneGrant = "urn:cafconnect:params:oauth:grant-type:legacy-code";
        Assert.That((await Cli.RunAsync("db", "migrate")).ExitCode, Is.EqualTo(0));
        Assert.That((await Cli.RunAsync("clients", "add", "--id", "serveur-vocal-2", "--name", "Serveur vocal", "--kind", "confidential",
            "--generate-secret", "--redirect-uri", "https://vocal.example.fr/cb", "--scope", "caf")).ExitCode, Is.EqualTo(0));
        Assert.That(await HasPermissionAsync("serveur-vocal-2", OpenIddictConstants.Permissions.Prefixes.GrantType + phoneGrant), Is.False);

        var given = await Cli.RunAsync("clients", "update", "--id", "serveur-vocal-2", "--grant-type", phoneGrant);
        Assert.That(given.ExitCode, Is.EqualTo(0), given.ToString());
        Assert.That(given.Out, Does.Contain($"serveur-vocal-2: extra grant type(s): {phoneGrant}"));
        Assert.That(await HasPermissionAsync("serveur-vocal-2", OpenIddictConstants.Permissions.Prefixes.GrantType + phoneGrant), Is.True, "given");

        var renamed = await Cli.RunAsync("clients", "update", "--id", "serveur-vocal-2", "--name", "Serveur vocal national");
        Assert.That(renamed.ExitCode, Is.EqualTo(0), renamed.ToString());
        Assert.That(await HasPermissionAsync("serveur-vocal-2", OpenIddictConstants.Permissions.Prefixes.GrantType + phoneGrant), Is.True, "an update without --grant-type keeps it");
        Assert.That((await Cli.RunAsync("clients", "list")).Out, Does.Contain($"serveur-vocal-2: extra grant type(s): {phoneGrant}"));

        var removed = await Cli.RunAsync("clients", "update", "--id", "serveur-vocal-2", "--no-grant-type");
        Assert.That(removed.ExitCode, Is.EqualTo(0), removed.ToString());
        Assert.That(await HasPermissionAsync("serveur-vocal-2", OpenIddictConstants.Permissions.Prefixes.GrantType + phoneGrant), Is.False, "taken away");
        Assert.That(await HasPermissionAsync("serveur-vocal-2", OpenIddictConstants.Permissions.GrantTypes.AuthorizationCode), Is.True, "the standard grants stay");
        Assert.That(removed.Out, Does.Not.Contain("extra grant type"));

        var updates = (await AuditAsync()).Where(a => a.Type == AuditEventTypes.ClientUpdated).Select(a => a.Details).ToList();
        Assert.That(updates, Has.Count.EqualTo(3));
        Assert.That(updates[0], Does.Contain("grant_types=" + phoneGrant));
        Assert.That(updates[2], Does.Not.Contain("grant_types="));
    }

    private Task<bool> HasPermissionAsync(string clientId, string permission) => Cli.WithServicesAsync(async s =>
    {
        var applications = s.GetRequiredService<IOpenIddictApplicationManager>();
        var application = await applications.FindByClientIdAsync(clientId) ?? throw new InvalidOperationException(clientId);
        return await applications.HasPermissionAsync(application, permission);
    });

    [Test]
    public async Task Clients_update_with_a_new_secret_replaces_it()
    {
        Assert.That((await Cli.RunAsync("db", "migrate")).ExitCode, Is.EqualTo(0));
        const string first = "first-secret-0123456789abcdef";
        const string second = "second-secret-0123456789abcdef";
        Assert.That((await Cli.RunAsync("clients", "add", "--id", "rp-secret", "--name", "RP", "--kind", "confidential",
            "--secret", first, "--redirect-uri", "https://rp.example.fr/cb")).ExitCode, Is.EqualTo(0));

        var updated = await Cli.RunAsync("clients", "update", "--id", "rp-secret", "--secret", second);
        Assert.That(updated.ExitCode, Is.EqualTo(0), updated.ToString());
        Assert.That(await SecretIsValidAsync("rp-secret", second), Is.True);
        Assert.That(await SecretIsValidAsync("rp-secret", first), Is.False);
    }

    [Test]
    public async Task Keys_rotate_retires_the_active_key_and_creates_a_new_one()
    {
        Assert.That((await Cli.RunAsync("db", "migrate")).ExitCode, Is.EqualTo(0));

        var initial = await Cli.RunAsync("keys", "rotate");
        Assert.That(initial.ExitCode, Is.EqualTo(0), initial.ToString());
        var keys = await KeysAsync();
        Assert.That(keys.Select(k => k.Use), Is.EquivalentTo(new[] { TokenKeyUses.Signing, TokenKeyUses.EcSigning, TokenKeyUses.Encryption }));
        var oldSigning = keys.Single(k => k.Use == TokenKeyUses.Signing);
        var oldEcSigning = keys.Single(k => k.Use == TokenKeyUses.EcSigning);
        var encryption = keys.Single(k => k.Use == TokenKeyUses.Encryption);

        var rotated = await Cli.RunAsync("keys", "rotate", "--use", "sig", "--immediately");
        Assert.That(rotated.ExitCode, Is.EqualTo(0), rotated.ToString());
        Assert.That(rotated.Out, Does.Contain("without a restart").And.Contain("30 days"));
        Assert.That(rotated.Out, Does.Contain($"Retired sig key {oldSigning.KeyId}").And.Contain($"Retired sig-ec key {oldEcSigning.KeyId}"));

        keys = await KeysAsync();
        Assert.That(keys, Has.Count.EqualTo(5), "--use sig rotates both signing keys, RSA and EC");
        Assert.That(keys.Single(k => k.KeyId == oldSigning.KeyId).RetiredAt, Is.Not.Null);
        Assert.That(keys.Single(k => k.KeyId == oldEcSigning.KeyId).RetiredAt, Is.Not.Null);
        var newEcSigning = keys.Single(k => k.Use == TokenKeyUses.EcSigning && k.RetiredAt is null);
        Assert.That(rotated.Out, Does.Contain($"New sig-ec key {newEcSigning.KeyId} (ES256)"));
        Assert.That(keys.Single(k => k.KeyId == encryption.KeyId).RetiredAt, Is.Null, "--use sig leaves the encryption key alone");
        var newSigning = keys.Single(k => k.Use == TokenKeyUses.Signing && k.RetiredAt is null);
        Assert.That(rotated.Out, Does.Contain($"New sig key {newSigning.KeyId}"));

        var list = await Cli.RunAsync("keys", "list");
        Assert.That(list.ExitCode, Is.EqualTo(0), list.ToString());
        Assert.That(LineWith(list.Out, oldSigning.KeyId), Does.Contain("sig").And.Contain("RS256").And.Contain("retired, published until"));
        Assert.That(LineWith(list.Out, newSigning.KeyId), Does.Contain("sig").And.Contain("active"));
        Assert.That(LineWith(list.Out, encryption.KeyId), Does.Contain("enc").And.Contain("A256KW").And.Contain("active"));
        Assert.That(LineWith(list.Out, newEcSigning.KeyId), Does.Contain("sig-ec").And.Contain("ES256").And.Contain("active"));
        var material = keys.Select(k => k.ProtectedMaterial[..16]);
        Assert.That(material, Has.None.Matches<string>(m => list.Out.Contains(m, StringComparison.Ordinal)), "never key material");

        var audit = (await AuditAsync()).Where(a => a.Type == AuditEventTypes.KeysRotated).ToList();
        Assert.That(audit, Has.Count.EqualTo(2));
        Assert.That(audit.Select(a => a.Channel), Is.All.EqualTo("cli"));
        Assert.That(audit[1].Details, Does.Contain($"operator={Environment.UserName}")
            .And.Contain($"new=sig:{newSigning.KeyId}").And.Contain($"retired=sig:{oldSigning.KeyId}"));
    }

    [Test]
    public async Task Keys_rotate_publishes_the_new_keys_first_and_retires_the_old_ones_after_the_publication_delay()
    {
        Assert.That((await Cli.RunAsync("db", "migrate")).ExitCode, Is.EqualTo(0));
        Assert.That((await Cli.RunAsync("keys", "rotate", "--immediately")).ExitCode, Is.EqualTo(0));
        var old = await KeysAsync();

        var before = DateTimeOffset.UtcNow;
        var rotated = await Cli.RunAsync("keys", "rotate");

        Assert.That(rotated.ExitCode, Is.EqualTo(0), rotated.ToString());
        var keys = await KeysAsync();
        var oldSigning = keys.Single(k => k.KeyId == old.Single(o => o.Use == TokenKeyUses.Signing).KeyId);
        var newSigning = keys.Single(k => k.Use == TokenKeyUses.Signing && k.KeyId != oldSigning.KeyId);
        var oldEcSigning = keys.Single(k => k.KeyId == old.Single(o => o.Use == TokenKeyUses.EcSigning).KeyId);
        Assert.Multiple(() =>
        {
            Assert.That(oldEcSigning.RetiredAt, Is.EqualTo(oldSigning.RetiredAt), "the EC key retires with the RSA key");
            Assert.That(rotated.Out, Does.Contain($"sig-ec key {oldEcSigning.KeyId} keeps signing/encrypting until"));
            Assert.That(oldSigning.RetiredAt, Is.EqualTo(before.AddHours(1)).Within(TimeSpan.FromMinutes(1)),
                "the old key keeps signing for Keys:PublicationDelay (1 hour), while every instance publishes the new one");
            Assert.That(newSigning.RetiredAt, Is.Null);
            Assert.That(rotated.Out, Does.Contain($"sig key {oldSigning.KeyId} keeps signing/encrypting until"));
        });
        var list = await Cli.RunAsync("keys", "list");
        Assert.That(LineWith(list.Out, oldSigning.KeyId), Does.Contain("active until"));
        Assert.That(LineWith(list.Out, newSigning.KeyId), Does.Contain("published; signs once the previous key retires"));
    }

    [Test]
    public async Task Keys_list_shows_an_EC_key_added_to_an_upgraded_store_as_waiting_out_the_publication_delay_not_as_active()
    {
        Assert.That((await Cli.RunAsync("db", "migrate")).ExitCode, Is.EqualTo(0));
        Assert.That((await Cli.RunAsync("keys", "rotate", "--immediately")).ExitCode, Is.EqualTo(0));
        // The store as a version before ES256 left it (RSA and AES keys only), then started by this version: the EC key it
        // gets is created after the RSA key that signs, so it signs only once published for Keys:PublicationDelay (1 hour).
        var ecKeyId = await Cli.WithServicesAsync(async s =>
        {
            var db = s.GetRequiredService<CafConnectDbContext>();
            db.TokenKeys.RemoveRange(await db.TokenKeys.Where(k => k.Use == TokenKeyUses.EcSigning).ToListAsync());
            await db.SaveChangesAsync();
            var keys = await s.GetRequiredService<TokenKeyStore>().LoadOrCreateAsync();
            return keys.Single(k => k.Record.Use == TokenKeyUses.EcSigning).Record.KeyId;
        });
        var ec = (await KeysAsync()).Single(k => k.KeyId == ecKeyId);
        var rsa = (await KeysAsync()).Single(k => k.Use == TokenKeyUses.Signing);
        Assert.That(ec.CreatedAt, Is.GreaterThan(rsa.CreatedAt), "the upgrade's EC key is younger than the RSA key that signs");

        var list = await Cli.RunAsync("keys", "list");

        Assert.That(list.ExitCode, Is.EqualTo(0), list.ToString());
        var signsFrom = ec.CreatedAt.AddHours(1).UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture);
        Assert.That(LineWith(list.Out, ecKeyId), Does.Contain("sig-ec").And.Contain("waiting out the publication delay").And.Contain(signsFrom)
            .And.Not.Contain("active"));
        Assert.That(LineWith(list.Out, rsa.KeyId), Does.Contain("active"), "the RSA key signs meanwhile");
    }

    private static string LineWith(string output, string text) =>
        output.Split('\n').SingleOrDefault(l => l.Contains(text, StringComparison.Ordinal)) ?? $"(no line with {text})";

    private Task<bool> SecretIsValidAsync(string clientId, string secret) => Cli.WithServicesAsync(async s =>
    {
        var applications = s.GetRequiredService<IOpenIddictApplicationManager>();
        var application = await applications.FindByClientIdAsync(clientId) ?? throw new AssertionException($"{clientId} not found");
        return await applications.ValidateClientSecretAsync(application, secret);
    });

    private Task<List<AuditEvent>> AuditAsync() => Cli.WithServicesAsync(s =>
        s.GetRequiredService<CafConnectDbContext>().AuditEvents.AsNoTracking().OrderBy(a => a.Id).ToListAsync());

    private Task<List<TokenKeyRecord>> KeysAsync() => Cli.WithServicesAsync(s =>
        s.GetRequiredService<CafConnectDbContext>().TokenKeys.AsNoTracking().ToListAsync());

    [GeneratedRegex(@"shown only this once[^\n]*\n(?<secret>\S+)")]
    private static partial Regex GeneratedSecret();
}

[TestFixture]
public sealed class SqliteRoundTripTests : StoreRoundTripTests
{
    protected override Task<ITestStore> CreateStoreAsync() => Task.FromResult<ITestStore>(new TemporarySqliteStore());
}

[TestFixture]
[Category("PostgreSql")]
[PostgreSqlFixture]
public sealed class PostgreSqlRoundTripTests : StoreRoundTripTests
{
    protected override async Task<ITestStore> CreateStoreAsync() => await TemporaryPostgreSqlDatabase.CreateAsync();
}
