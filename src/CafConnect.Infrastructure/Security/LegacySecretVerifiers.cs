using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace CafConnect.Infrastructure.Security;

/// <summary>
/// Verifies a secret imported in a format CafConnect does not hash itself (an older system's hashes), so the import
/// can keep it as it is. A verifier is registered under its format name (<see cref="Format"/>), the name the import's
/// <c>legacy_secret_format</c> column gives. A secret it verifies is re-hashed with Argon2id at once (first login).
/// </summary>
public interface ILegacySecretVerifier
{
    /// <summary>Lower-case name: letters, digits and '-', e.g. <c>pbkdf2-sha256</c>.</summary>
    string Format { get; }

    /// <summary>True when <paramref name="stored"/> is a value this verifier can check (the import refuses others).</summary>
    bool IsWellFormed(string stored);

    /// <summary>Constant-time check of <paramref name="secret"/> against <paramref name="stored"/>; false for a malformed value.</summary>
    bool Verify(string secret, string stored);
}

/// <summary>
/// The registered <see cref="ILegacySecretVerifier"/>s and the one place a stored secret is checked: an Argon2id PHC
/// string goes to <see cref="ISecretHasher"/>; a value imported for a verifier is kept as <c>$legacy$FORMAT$VALUE</c>
/// and goes to that verifier, whose success is always <see cref="SecretVerification.SucceededRehashNeeded"/>.
/// Every check costs at least one Argon2id computation, whatever the stored format: a legacy value does not answer
/// faster than an Argon2id one (no telling by timing which accounts or files still hold an imported secret).
/// </summary>
public sealed partial class LegacySecretVerifiers
{
    public const string EnvelopePrefix = "$legacy$";

    /// <summary>Names the import format already gives a meaning to.</summary>
    private static readonly HashSet<string> Reserved = new(StringComparer.Ordinal) { "plain", "argon2id", "none" };

    private readonly ISecretHasher _hasher;
    private readonly Dictionary<string, ILegacySecretVerifier> _verifiers = new(StringComparer.Ordinal);

    public LegacySecretVerifiers(IEnumerable<ILegacySecretVerifier> verifiers, ISecretHasher hasher)
    {
        _hasher = hasher;
        foreach (var verifier in verifiers)
        {
            if (!FormatName().IsMatch(verifier.Format) || Reserved.Contains(verifier.Format))
            {
                throw new InvalidOperationException($"Legacy secret format name '{verifier.Format}' is invalid or reserved.");
            }
            if (!_verifiers.TryAdd(verifier.Format, verifier))
            {
                throw new InvalidOperationException($"Two legacy secret verifiers are registered for '{verifier.Format}'.");
            }
        }
    }

    /// <summary>Format name → well-formedness check, for the import's row validation.</summary>
    public IReadOnlyDictionary<string, Func<string, bool>> Formats =>
        _verifiers.ToDictionary(v => v.Key, v => (Func<string, bool>)v.Value.IsWellFormed, StringComparer.Ordinal);

    /// <summary>What the store keeps for a secret imported in <paramref name="format"/>.</summary>
    public string Wrap(string format, string stored) =>
        _verifiers.ContainsKey(format) ? $"{EnvelopePrefix}{format}${stored}" : throw new ArgumentException($"No verifier for '{format}'.", nameof(format));

    public static bool IsWrapped(string? stored) => stored is not null && stored.StartsWith(EnvelopePrefix, StringComparison.Ordinal);

    public SecretVerification Verify(string secret, string stored)
    {
        if (!IsWrapped(stored))
        {
            return _hasher.Verify(secret, stored);
        }
        var rest = stored[EnvelopePrefix.Length..];
        var separator = rest.IndexOf('$', StringComparison.Ordinal);
        if (separator <= 0 || !_verifiers.TryGetValue(rest[..separator], out var verifier))
        {
            // A format whose verifier was removed: fail closed, at the cost of a normal check.
            _hasher.VerifyAgainstDummy(secret);
            return SecretVerification.Failed;
        }
        if (verifier.Verify(secret, rest[(separator + 1)..]))
        {
            // The caller re-hashes with Argon2id (VerifyAndUpgrade): that is this path's Argon2id cost.
            return SecretVerification.SucceededRehashNeeded;
        }
        _hasher.VerifyAgainstDummy(secret);
        return SecretVerification.Failed;
    }

    /// <summary>
    /// The one verify-and-upgrade rule of every sign-in with a stored secret (web login, phone channel): checks
    /// <paramref name="secret"/> against <paramref name="stored"/> and, when it matches a value that must not stay as it is
    /// (an Argon2id hash with weaker parameters than today's, or a legacy format kept at import), gives the Argon2id hash
    /// to store in its place while the secret is at hand. The caller saves it.
    /// </summary>
    public bool VerifyAndUpgrade(string secret, string stored, out string? upgradedHash)
    {
        var result = Verify(secret, stored);
        upgradedHash = result == SecretVerification.SucceededRehashNeeded ? _hasher.Hash(secret) : null;
        return result != SecretVerification.Failed;
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9-]{1,31}$")]
    private static partial Regex FormatName();
}

/// <summary>
/// Example verifier: PBKDF2-HMAC-SHA256 as passlib and many older systems write it,
/// <c>$pbkdf2-sha256$ITERATIONS$SALT$HASH</c> (salt and hash in base64, standard or passlib's "./" alphabet, padding
/// optional). The derivation is .NET's <see cref="Rfc2898DeriveBytes.Pbkdf2(byte[], byte[], int, HashAlgorithmName, int)"/>,
/// the comparison <see cref="CryptographicOperations.FixedTimeEquals"/>.
/// </summary>
public sealed class Pbkdf2Sha256LegacySecretVerifier : ILegacySecretVerifier
{
    private const string Prefix = "$pbkdf2-sha256$";

    /// <summary>Bounds on what an imported value may make the host spend (and below which it is not worth keeping).</summary>
    internal const int MinIterations = 1_000;
    internal const int MaxIterations = 2_000_000;

    public string Format => "pbkdf2-sha256";

    public bool IsWellFormed(string stored) => TryParse(stored, out _, out _, out _);

    public bool Verify(string secret, string stored)
    {
        if (!TryParse(stored, out var iterations, out var salt, out var expected))
        {
            return false;
        }
        var secretBytes = Encoding.UTF8.GetBytes(secret);
        try
        {
            var actual = Rfc2898DeriveBytes.Pbkdf2(secretBytes, salt, iterations, HashAlgorithmName.SHA256, expected.Length);
            return CryptographicOperations.FixedTimeEquals(actual, expected);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(secretBytes);
        }
    }

    /// <summary>Builds a value in this format (tests, and whoever exports the old base).</summary>
    public static string Create(string secret, int iterations = 100_000)
    {
        var salt = RandomNumberGenerator.GetBytes(16);
        var hash = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(secret), salt, iterations, HashAlgorithmName.SHA256, 32);
        return $"{Prefix}{iterations.ToString(CultureInfo.InvariantCulture)}${Convert.ToBase64String(salt).TrimEnd('=')}${Convert.ToBase64String(hash).TrimEnd('=')}";
    }

    private static bool TryParse(string? stored, out int iterations, out byte[] salt, out byte[] hash)
    {
        iterations = 0;
        salt = hash = [];
        if (stored is null || !stored.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return false;
        }
        var parts = stored[Prefix.Length..].Split('$');
        return parts.Length == 3
            && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out iterations)
            && iterations is >= MinIterations and <= MaxIterations
            && TryDecode(parts[1], out salt) && salt.Length is >= 8 and <= 64
            && TryDecode(parts[2], out hash) && hash.Length is >= 16 and <= 64;
    }

    private static bool TryDecode(string text, out byte[] bytes)
    {
        bytes = [];
        var standard = text.Replace('.', '+');
        var padded = (standard.Length % 4) switch { 2 => standard + "==", 3 => standard + "=", 0 => standard, _ => null };
        if (padded is null)
        {
            return false;
        }
        var buffer = new byte[padded.Length * 3 / 4];
        if (!Convert.TryFromBase64String(padded, buffer, out var written))
        {
            return false;
        }
        bytes = buffer[..written];
        return true;
    }
}
