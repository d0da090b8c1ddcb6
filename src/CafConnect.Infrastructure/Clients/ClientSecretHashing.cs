using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using CafConnect.Infrastructure.Keys;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OpenIddict.Abstractions;
using OpenIddict.Core;

namespace CafConnect.Infrastructure.Clients;

/// <summary>
/// How a client secret is kept (docs/decisions.md #28). A secret CafConnect generated (<c>--generate-secret</c>: 256 random
/// bits, base64url) cannot be guessed, so stretching it buys nothing: it is kept as an HMAC-SHA256 under a server key
/// (<c>csk</c> in the key store, never given out) and checked in constant time — microseconds instead of the PBKDF2
/// OpenIddict runs on every token request. Any other secret (typed by an operator, in configuration) may be guessable and
/// keeps OpenIddict's PBKDF2; stored PBKDF2 hashes keep verifying whatever the secret.
/// </summary>
public static class ClientSecretPolicy
{
    /// <summary>Marks a keyed hash in the store: <c>$csk-hmac-sha256$&lt;kid&gt;$&lt;base64 MAC&gt;</c>. OpenIddict's PBKDF2 hashes are plain base64 and never start with '$'.</summary>
    public const string KeyedHashPrefix = "$csk-hmac-sha256$";

    /// <summary>What <c>--generate-secret</c> prints: 32 random bytes in base64url, 43 characters.</summary>
    public const int GeneratedSecretLength = 43;

    /// <summary>
    /// A secret of the generated shape: at least 43 base64url characters, with upper- and lower-case letters and at least
    /// 20 distinct characters. A random 43-character base64url string has about 31 distinct characters and lacks a case
    /// with a probability near 1e-10, so the generator's output always qualifies, while the lower-case, dashed phrases
    /// people type (the demo secrets) do not. This recognises the generator's output; it is not an entropy estimator.
    /// </summary>
    public static bool IsGeneratedShape(string secret)
    {
        if (secret.Length < GeneratedSecretLength)
        {
            return false;
        }
        bool upper = false, lower = false;
        foreach (var c in secret)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
            {
                return false;
            }
            upper |= char.IsAsciiLetterUpper(c);
            lower |= char.IsAsciiLetterLower(c);
        }
        return upper && lower && secret.Distinct().Count() >= 20;
    }

    public static bool IsKeyedHash(string? stored) => stored is not null && stored.StartsWith(KeyedHashPrefix, StringComparison.Ordinal);

    /// <summary>The keyed hash of <paramref name="secret"/> under <paramref name="key"/>, in the stored format.</summary>
    public static string KeyedHash(string secret, MacKey key) =>
        KeyedHashPrefix + key.KeyId + "$" + Convert.ToBase64String(HMACSHA256.HashData(key.Material, Encoding.UTF8.GetBytes(secret)));

    /// <summary>The key id and MAC of a stored keyed hash, or null when it is malformed.</summary>
    public static (string KeyId, byte[] Mac)? Parse(string stored)
    {
        var rest = stored.AsSpan(KeyedHashPrefix.Length);
        var separator = rest.IndexOf('$');
        if (separator <= 0)
        {
            return null;
        }
        var mac = new byte[32];
        return Convert.TryFromBase64Chars(rest[(separator + 1)..], mac, out var written) && written == mac.Length
            ? (rest[..separator].ToString(), mac)
            : null;
    }
}

/// <summary>
/// The client-secret server keys, read from the key store once per key id and kept for the life of the process (they are
/// never deleted: a secret hashed under a key must verify as long as the client keeps it).
/// </summary>
public sealed class ClientSecretKeys
{
    private readonly ConcurrentDictionary<string, MacKey> _byId = new(StringComparer.Ordinal);
    private MacKey? _active;

    /// <summary>The key new secrets are hashed with (created on first use).</summary>
    public async ValueTask<MacKey> ActiveAsync(TokenKeyStore store, CancellationToken cancellationToken)
    {
        if (_active is { } active)
        {
            return active;
        }
        var keys = await store.LoadOrCreateClientSecretKeysAsync(cancellationToken);
        Remember(keys);
        return _active = keys[0];
    }

    /// <summary>The key a stored hash names, reading the store again for a key another instance created since.</summary>
    public async ValueTask<MacKey?> FindAsync(string keyId, TokenKeyStore store, CancellationToken cancellationToken)
    {
        if (_byId.TryGetValue(keyId, out var key))
        {
            return key;
        }
        Remember(await store.LoadClientSecretKeysAsync(cancellationToken));
        return _byId.GetValueOrDefault(keyId);
    }

    private void Remember(IEnumerable<MacKey> keys)
    {
        foreach (var key in keys)
        {
            _byId[key.KeyId] = key;
        }
    }
}

/// <summary>
/// OpenIddict's application manager with CafConnect's secret policy (<see cref="ClientSecretPolicy"/>): the two hooks
/// OpenIddict provides for it; and every write of an application row announced to every instance
/// (<see cref="ClientRowChanges"/>, docs/decisions.md #45), everything else unchanged.
/// </summary>
/// <remarks>
/// The three overrides below are the ends every write of OpenIddict's manager reaches: <c>CreateAsync(descriptor)</c> and
/// <c>CreateAsync(application)</c> call <c>CreateAsync(application, secret)</c>; <c>UpdateAsync(application, secret)</c>
/// and <c>UpdateAsync(application, descriptor)</c> call <c>UpdateAsync(application)</c>. The announcement follows the
/// store's write (committed then), and is made even when the write throws: whether it was committed is then unknown, and
/// an eviction costs a read.
/// </remarks>
public sealed class CafConnectApplicationManager<TApplication>(
    IOpenIddictApplicationCache<TApplication> cache,
    ILogger<OpenIddictApplicationManager<TApplication>> logger,
    IOptionsMonitor<OpenIddictCoreOptions> options,
    IOpenIddictApplicationStore<TApplication> store,
    TokenKeyStore keyStore,
    ClientSecretKeys secretKeys,
    ClientRowChanges changes)
    : OpenIddictApplicationManager<TApplication>(cache, logger, options, store)
    where TApplication : class
{
    public override async ValueTask CreateAsync(TApplication application, string? secret, CancellationToken cancellationToken = default)
    {
        try
        {
            await base.CreateAsync(application, secret, cancellationToken);
        }
        finally
        {
            await AnnounceAsync(application);
        }
    }

    public override async ValueTask UpdateAsync(TApplication application, CancellationToken cancellationToken = default)
    {
        try
        {
            await base.UpdateAsync(application, cancellationToken);
        }
        finally
        {
            await AnnounceAsync(application);
        }
    }

    public override async ValueTask DeleteAsync(TApplication application, CancellationToken cancellationToken = default)
    {
        // Read before the delete: the entity may be detached afterwards.
        var clientId = await Store.GetClientIdAsync(application, CancellationToken.None);
        try
        {
            await base.DeleteAsync(application, cancellationToken);
        }
        finally
        {
            await changes.AnnounceAsync(clientId);
        }
    }

    private async Task AnnounceAsync(TApplication application) =>
        await changes.AnnounceAsync(await Store.GetClientIdAsync(application, CancellationToken.None));

    protected override async ValueTask<string> ObfuscateClientSecretAsync(string secret, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(secret);
        if (!ClientSecretPolicy.IsGeneratedShape(secret))
        {
            return await base.ObfuscateClientSecretAsync(secret, cancellationToken);
        }
        return ClientSecretPolicy.KeyedHash(secret, await secretKeys.ActiveAsync(keyStore, cancellationToken));
    }

    protected override async ValueTask<bool> ValidateClientSecretAsync(string secret, string comparand, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(secret);
        ArgumentException.ThrowIfNullOrEmpty(comparand);
        if (!ClientSecretPolicy.IsKeyedHash(comparand))
        {
            // Every secret stored before decision 28, and every secret an operator typed: OpenIddict's PBKDF2.
            return await base.ValidateClientSecretAsync(secret, comparand, cancellationToken);
        }
        if (ClientSecretPolicy.Parse(comparand) is not { } stored
            || await secretKeys.FindAsync(stored.KeyId, keyStore, cancellationToken) is not { } key)
        {
            Logger.LogWarning("A client secret hash names a server key the store does not hold; the client cannot authenticate.");
            return false;
        }
        var actual = HMACSHA256.HashData(key.Material, Encoding.UTF8.GetBytes(secret));
        return CryptographicOperations.FixedTimeEquals(actual, stored.Mac);
    }
}
