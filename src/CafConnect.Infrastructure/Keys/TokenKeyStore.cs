using System.Security.Cryptography;
using CafConnect.Infrastructure.Persistence;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.EntityFrameworkCore;
using Microsoft.IdentityModel.Tokens;

namespace CafConnect.Infrastructure.Keys;

/// <summary>
/// A token key ready for use. <paramref name="IsActive"/>: not retired at the time it was loaded — its retirement may be
/// scheduled (a rotation publishes the new key first: the old one keeps signing until then, docs/decisions.md #29).
/// </summary>
public sealed record TokenKey(TokenKeyRecord Record, SecurityKey SecurityKey, bool IsActive);

/// <summary>An HMAC-SHA256 key (use <c>mac</c>): the active one first, then recently retired ones (still accepted when checking).</summary>
public sealed record MacKey(string KeyId, byte[] Material, bool IsActive);

/// <summary>
/// Creates, loads and rotates the keys that sign and encrypt tokens, and the server key of the verification-code HMACs.
/// A retired key stays published (and accepted) for <see cref="RetiredKeyLifetime"/> so tokens it protected remain valid.
/// </summary>
public sealed class TokenKeyStore(CafConnectDbContext db, IDataProtectionProvider dataProtection, TimeProvider clock)
{
    /// <summary>
    /// <c>Keys:PublicationDelay</c> by default: how long a rotation publishes new token keys before they sign. Longer than
    /// the instances' reload interval (<c>Keys:RefreshInterval</c>, a minute) and than relying parties cache the JWKS.
    /// </summary>
    public static readonly TimeSpan DefaultPublicationDelay = TimeSpan.FromHours(1);

    /// <summary>Longer than any token lifetime (refresh tokens live 14 days).</summary>
    public static readonly TimeSpan RetiredKeyLifetime = TimeSpan.FromDays(30);

    private const string SigningAlgorithm = SecurityAlgorithms.RsaSha256;
    private const string EcSigningAlgorithm = SecurityAlgorithms.EcdsaSha256;
    private const string EncryptionAlgorithm = "A256KW";
    private const string MacAlgorithm = "HS256";

    private readonly IDataProtector _protector = dataProtection.CreateProtector("CafConnect.TokenKeys.v1");

    /// <summary>
    /// Loads the usable token keys, creating a first RSA signing key, EC signing key and encryption key when the store has
    /// none (and the first <c>mac</c> key, which is not returned here: see <see cref="LoadOrCreateMacKeysAsync"/>). A store
    /// of an earlier version, without an EC key, gets one here: created later than the RSA key that signs, it is only
    /// published until it has been for the publication delay (<see cref="TokenSigning.EcSigner"/>).
    /// </summary>
    public async Task<IReadOnlyList<TokenKey>> LoadOrCreateAsync(CancellationToken cancellationToken = default)
    {
        var keys = await LoadAsync(cancellationToken);
        var created = false;
        // One creation time for the keys made together: an EC key born with the RSA key is known wherever that one is.
        var now = clock.GetUtcNow();
        if (!keys.Any(k => k.Record.Use == TokenKeyUses.Signing && k.IsActive))
        {
            db.TokenKeys.Add(NewSigningKey(now));
            created = true;
        }
        if (!keys.Any(k => k.Record.Use == TokenKeyUses.EcSigning && k.IsActive))
        {
            db.TokenKeys.Add(NewEcSigningKey(now));
            created = true;
        }
        if (!keys.Any(k => k.Record.Use == TokenKeyUses.Encryption && k.IsActive))
        {
            db.TokenKeys.Add(NewEncryptionKey(now));
            created = true;
        }
        if (!await db.TokenKeys.AnyAsync(k => k.Use == TokenKeyUses.Mac && k.RetiredAt == null, cancellationToken))
        {
            db.TokenKeys.Add(NewMacKey(now));
            created = true;
        }
        if (!created)
        {
            return keys;
        }

        await db.SaveChangesAsync(cancellationToken);
        // Reload: another instance may have created keys at the same moment; all then agree on the oldest active one.
        return await LoadAsync(cancellationToken);
    }

    /// <summary>
    /// Keys that still protect or validate tokens, active ones first (oldest active first, so instances agree: after a
    /// rotation the old key, retiring at a set time, keeps signing while the new one is only published), then retired ones.
    /// </summary>
    public async Task<IReadOnlyList<TokenKey>> LoadAsync(CancellationToken cancellationToken = default)
    {
        var now = clock.GetUtcNow();
        var cutoff = now - RetiredKeyLifetime;
        var records = await db.TokenKeys.AsNoTracking()
            .Where(k => k.Use == TokenKeyUses.Signing || k.Use == TokenKeyUses.EcSigning || k.Use == TokenKeyUses.Encryption)
            .ToListAsync(cancellationToken);
        var active = TokenSigning.ActiveInSigningOrder(records, now);
        var retired = records.Where(r => r.RetiredAt <= now && r.RetiredAt > cutoff).OrderByDescending(r => r.RetiredAt);
        return active.Select(r => new TokenKey(r, ToSecurityKey(r), IsActive: true))
            .Concat(retired.Select(r => new TokenKey(r, ToSecurityKey(r), IsActive: false))).ToList();
    }

    /// <summary>
    /// The HMAC keys of the verification codes, creating the first one when missing: the active key first (oldest active,
    /// so that instances racing at creation agree), then keys retired less than <paramref name="retiredWithin"/> ago.
    /// </summary>
    public async Task<IReadOnlyList<MacKey>> LoadOrCreateMacKeysAsync(TimeSpan retiredWithin, CancellationToken cancellationToken = default)
    {
        var records = await LoadMacRecordsAsync(cancellationToken);
        if (!records.Any(r => r.RetiredAt is null))
        {
            db.TokenKeys.Add(NewMacKey(clock.GetUtcNow()));
            await db.SaveChangesAsync(cancellationToken);
            records = await LoadMacRecordsAsync(cancellationToken);
        }

        var cutoff = clock.GetUtcNow() - retiredWithin;
        var active = records.Where(r => r.RetiredAt is null).OrderBy(r => r.CreatedAt).ThenBy(r => r.KeyId, StringComparer.Ordinal);
        var retired = records.Where(r => r.RetiredAt > cutoff).OrderByDescending(r => r.RetiredAt);
        return active.Concat(retired)
            .Select(r => new MacKey(r.KeyId, _protector.Unprotect(Convert.FromBase64String(r.ProtectedMaterial)), r.RetiredAt is null))
            .ToList();
    }

    /// <summary>
    /// The client-secret keys (<see cref="TokenKeyUses.ClientSecret"/>), creating the first one when missing: the key new
    /// secrets are hashed with first (the oldest active, so that instances racing at creation agree), then every other.
    /// </summary>
    public async Task<IReadOnlyList<MacKey>> LoadOrCreateClientSecretKeysAsync(CancellationToken cancellationToken = default)
    {
        var keys = await LoadClientSecretKeysAsync(cancellationToken);
        if (keys.Count > 0 && keys[0].IsActive)
        {
            return keys;
        }
        db.TokenKeys.Add(NewRecord(TokenKeyUses.ClientSecret, MacAlgorithm, RandomNumberGenerator.GetBytes(32), clock.GetUtcNow()));
        await db.SaveChangesAsync(cancellationToken);
        return await LoadClientSecretKeysAsync(cancellationToken);
    }

    /// <summary>Every client-secret key, the active one first: retired ones still verify the secrets hashed under them.</summary>
    public async Task<IReadOnlyList<MacKey>> LoadClientSecretKeysAsync(CancellationToken cancellationToken = default)
    {
        var records = await db.TokenKeys.AsNoTracking().Where(k => k.Use == TokenKeyUses.ClientSecret).ToListAsync(cancellationToken);
        return records.OrderBy(r => r.RetiredAt is null ? 0 : 1).ThenBy(r => r.CreatedAt).ThenBy(r => r.KeyId, StringComparer.Ordinal)
            .Select(r => new MacKey(r.KeyId, _protector.Unprotect(Convert.FromBase64String(r.ProtectedMaterial)), r.RetiredAt is null))
            .ToList();
    }

    private Task<List<TokenKeyRecord>> LoadMacRecordsAsync(CancellationToken cancellationToken) =>
        db.TokenKeys.AsNoTracking().Where(k => k.Use == TokenKeyUses.Mac).ToListAsync(cancellationToken);

    public async Task<IReadOnlyList<TokenKeyRecord>> ListAsync(CancellationToken cancellationToken = default) =>
        (await db.TokenKeys.AsNoTracking().ToListAsync(cancellationToken)).OrderBy(r => r.CreatedAt).ToList();

    /// <summary>
    /// Creates new keys for <paramref name="use"/> (every token key — both signing keys, RSA <c>sig</c> and EC
    /// <c>sig-ec</c>, and <c>enc</c> — when null; <c>sig</c> rotates both signing keys; the <c>mac</c> key only when asked
    /// by name) and retires the active ones <paramref name="publicationDelay"/> from now: until
    /// then the new token keys are published and accepted by every instance that reloaded its ring, while the old ones
    /// still sign and encrypt, so no instance or relying party ever meets a token under a key it does not know yet.
    /// Zero retires them at once (a compromised key). The <c>mac</c> key is always replaced at once: every instance
    /// accepts a code under any key of the last hours (<c>CodeMac</c>).
    /// </summary>
    public async Task<IReadOnlyList<TokenKeyRecord>> RotateAsync(string? use, CancellationToken cancellationToken = default) =>
        await RotateAsync(use, TimeSpan.Zero, cancellationToken);

    /// <inheritdoc cref="RotateAsync(string?, CancellationToken)"/>
    public async Task<IReadOnlyList<TokenKeyRecord>> RotateAsync(string? use, TimeSpan publicationDelay, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(publicationDelay, TimeSpan.Zero);
        var uses = use switch
        {
            null => new[] { TokenKeyUses.Signing, TokenKeyUses.EcSigning, TokenKeyUses.Encryption },
            // The two signing keys go together: they are published, then sign, at the same moments.
            TokenKeyUses.Signing or TokenKeyUses.EcSigning => new[] { TokenKeyUses.Signing, TokenKeyUses.EcSigning },
            TokenKeyUses.Encryption or TokenKeyUses.Mac => new[] { use },
            _ => throw new ArgumentException($"Unknown key use '{use}'.", nameof(use)),
        };
        // The new keys first (an RSA key takes a while on a loaded machine), the retirement time last: the delay counts
        // from just before the commit, or a slow rotation would retire the old keys before anyone saw the new ones.
        // One creation time for all of them: the new EC key then counts as born with the new RSA key (TokenSigning.EcSigner).
        var material = uses.Select(u => (Use: u, Material: u switch
        {
            TokenKeyUses.Signing => NewRsaMaterial(),
            TokenKeyUses.EcSigning => NewEcMaterial(),
            _ => RandomNumberGenerator.GetBytes(32),
        })).ToList();
        var createdAt = clock.GetUtcNow();
        var created = material.Select(m => NewRecord(m.Use, AlgorithmOf(m.Use), m.Material, createdAt)).ToList();
        var active = await db.TokenKeys.Where(k => uses.Contains(k.Use) && k.RetiredAt == null).ToListAsync(cancellationToken);
        var now = clock.GetUtcNow();
        foreach (var key in active)
        {
            key.RetiredAt = key.Use == TokenKeyUses.Mac ? now : now + publicationDelay;
        }
        db.TokenKeys.AddRange(created);
        await db.SaveChangesAsync(cancellationToken);
        return created;
    }

    private static string AlgorithmOf(string use) => use switch
    {
        TokenKeyUses.Signing => SigningAlgorithm,
        TokenKeyUses.EcSigning => EcSigningAlgorithm,
        TokenKeyUses.Encryption => EncryptionAlgorithm,
        _ => MacAlgorithm,
    };

    private static byte[] NewRsaMaterial()
    {
        using var rsa = RSA.Create(2048);
        return rsa.ExportPkcs8PrivateKey();
    }

    private static byte[] NewEcMaterial()
    {
        using var ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        return ecdsa.ExportPkcs8PrivateKey();
    }

    private TokenKeyRecord NewSigningKey(DateTimeOffset createdAt) =>
        NewRecord(TokenKeyUses.Signing, SigningAlgorithm, NewRsaMaterial(), createdAt);

    private TokenKeyRecord NewEcSigningKey(DateTimeOffset createdAt) =>
        NewRecord(TokenKeyUses.EcSigning, EcSigningAlgorithm, NewEcMaterial(), createdAt);

    private TokenKeyRecord NewEncryptionKey(DateTimeOffset createdAt) =>
        NewRecord(TokenKeyUses.Encryption, EncryptionAlgorithm, RandomNumberGenerator.GetBytes(32), createdAt);

    private TokenKeyRecord NewMacKey(DateTimeOffset createdAt) =>
        NewRecord(TokenKeyUses.Mac, MacAlgorithm, RandomNumberGenerator.GetBytes(32), createdAt);

    private TokenKeyRecord NewRecord(string use, string algorithm, byte[] material, DateTimeOffset createdAt)
    {
        try
        {
            return new TokenKeyRecord
            {
                KeyId = Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(12)),
                Use = use,
                Algorithm = algorithm,
                ProtectedMaterial = Convert.ToBase64String(_protector.Protect(material)),
                CreatedAt = createdAt,
            };
        }
        finally
        {
            CryptographicOperations.ZeroMemory(material);
        }
    }

    private SecurityKey ToSecurityKey(TokenKeyRecord record)
    {
        var material = _protector.Unprotect(Convert.FromBase64String(record.ProtectedMaterial));
        try
        {
            if (record.Use == TokenKeyUses.Signing)
            {
                var rsa = RSA.Create();
                rsa.ImportPkcs8PrivateKey(material, out _);
                return new RsaSecurityKey(rsa) { KeyId = record.KeyId };
            }
            if (record.Use == TokenKeyUses.EcSigning)
            {
                var ecdsa = ECDsa.Create();
                ecdsa.ImportPkcs8PrivateKey(material, out _);
                return new ECDsaSecurityKey(ecdsa) { KeyId = record.KeyId };
            }
            return new SymmetricSecurityKey(material.ToArray()) { KeyId = record.KeyId };
        }
        finally
        {
            CryptographicOperations.ZeroMemory(material);
        }
    }
}
