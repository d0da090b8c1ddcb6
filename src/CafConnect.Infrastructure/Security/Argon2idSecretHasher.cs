using System.Security.Cryptography;
using System.Text;
using NSec.Cryptography;

namespace CafConnect.Infrastructure.Security;

/// <summary>Argon2id cost parameters (<c>Security:Argon2id</c>). Defaults meet OWASP's minimum: 19 MiB, 2 passes, 1 lane.</summary>
public sealed class Argon2idOptions
{
    public int MemoryKiB { get; set; } = 19 * 1024;
    public int Iterations { get; set; } = 2;

    /// <summary>Hard ceilings when verifying a stored hash, so an imported or tampered PHC string cannot exhaust the host.</summary>
    internal const int MaxMemoryKiB = 1024 * 1024;
    internal const int MaxIterations = 16;
    internal const int SaltLength = 16;
    internal const int HashLength = 32;
}

public enum SecretVerification
{
    Failed,
    Succeeded,
    /// <summary>The secret is right but was hashed with weaker parameters than today's: store a new hash.</summary>
    SucceededRehashNeeded,
}

public interface ISecretHasher
{
    string Hash(string secret);
    SecretVerification Verify(string secret, string storedHash);

    /// <summary>Spends the time of one verification without any stored hash, so unknown identifiers cost as much as known ones.</summary>
    void VerifyAgainstDummy(string secret);
}

/// <summary>
/// Argon2id through libsodium (NSec), stored as a PHC string <c>$argon2id$v=19$m=…,t=…,p=1$salt$hash</c>
/// (unpadded base64, as the reference implementation writes it). libsodium supports one lane only (p=1).
/// </summary>
public sealed class Argon2idSecretHasher : ISecretHasher
{
    private const string Prefix = "$argon2id$v=19$";
    private readonly Argon2idOptions _options;
    private readonly Lazy<string> _dummyHash;
    private readonly Observability.CafConnectMetrics? _metrics;

    public Argon2idSecretHasher(Argon2idOptions options, Observability.CafConnectMetrics? metrics = null)
    {
        _metrics = metrics;
        if (options.MemoryKiB < 8 * 1024 || options.MemoryKiB > Argon2idOptions.MaxMemoryKiB)
        {
            throw new ArgumentOutOfRangeException(nameof(options), $"Security:Argon2id:MemoryKiB must be between 8192 and {Argon2idOptions.MaxMemoryKiB}.");
        }
        if (options.Iterations < 1 || options.Iterations > Argon2idOptions.MaxIterations)
        {
            throw new ArgumentOutOfRangeException(nameof(options), $"Security:Argon2id:Iterations must be between 1 and {Argon2idOptions.MaxIterations}.");
        }
        _options = options;
        _dummyHash = new Lazy<string>(() => Hash(Convert.ToBase64String(RandomNumberGenerator.GetBytes(18))));
    }

    public string Hash(string secret)
    {
        ArgumentNullException.ThrowIfNull(secret);
        var salt = RandomNumberGenerator.GetBytes(Argon2idOptions.SaltLength);
        var hash = Derive(secret, salt, _options.MemoryKiB, _options.Iterations, Argon2idOptions.HashLength, "hash");
        return $"{Prefix}m={_options.MemoryKiB},t={_options.Iterations},p=1${Encode(salt)}${Encode(hash)}";
    }

    public SecretVerification Verify(string secret, string storedHash) => Verify(secret, storedHash, "verify");

    private SecretVerification Verify(string secret, string storedHash, string operation)
    {
        ArgumentNullException.ThrowIfNull(secret);
        if (!TryParse(storedHash, out var memoryKiB, out var iterations, out var salt, out var expected))
        {
            return SecretVerification.Failed;
        }

        var actual = Derive(secret, salt, memoryKiB, iterations, expected.Length, operation);
        if (!CryptographicOperations.FixedTimeEquals(actual, expected))
        {
            return SecretVerification.Failed;
        }

        return memoryKiB < _options.MemoryKiB || iterations < _options.Iterations || expected.Length < Argon2idOptions.HashLength
            ? SecretVerification.SucceededRehashNeeded
            : SecretVerification.Succeeded;
    }

    public void VerifyAgainstDummy(string secret) => Verify(secret ?? string.Empty, _dummyHash.Value, "dummy");

    /// <summary>True when <paramref name="storedHash"/> is a PHC string this hasher can verify (used by imports).</summary>
    public static bool IsSupported(string? storedHash) => TryParse(storedHash, out _, out _, out _, out _);

    private byte[] Derive(string secret, byte[] salt, int memoryKiB, int iterations, int length, string operation)
    {
        var timer = Observability.MetricTimer.Start();
        var algorithm = PasswordBasedKeyDerivationAlgorithm.Argon2id(new Argon2Parameters
        {
            DegreeOfParallelism = 1,
            MemorySize = memoryKiB,
            NumberOfPasses = iterations,
        });
        var secretBytes = Encoding.UTF8.GetBytes(secret);
        try
        {
            return algorithm.DeriveBytes(secretBytes, salt, length);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(secretBytes);
            _metrics?.Argon2idComputed(operation, timer.Elapsed);
        }
    }

    private static bool TryParse(string? phc, out int memoryKiB, out int iterations, out byte[] salt, out byte[] hash)
    {
        memoryKiB = iterations = 0;
        salt = hash = [];
        if (phc is null || !phc.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return false;
        }

        var parts = phc[Prefix.Length..].Split('$');
        if (parts.Length != 3)
        {
            return false;
        }

        int? m = null, t = null, p = null;
        foreach (var parameter in parts[0].Split(','))
        {
            var pair = parameter.Split('=');
            if (pair.Length != 2 || !int.TryParse(pair[1], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var value))
            {
                return false;
            }
            switch (pair[0])
            {
                case "m": m = value; break;
                case "t": t = value; break;
                case "p": p = value; break;
                default: return false;
            }
        }

        // libsodium computes one lane only; other parameters are outside what this host accepts to spend.
        if (m is null || t is null || p != 1 || m < 8 || m > Argon2idOptions.MaxMemoryKiB || t < 1 || t > Argon2idOptions.MaxIterations)
        {
            return false;
        }

        // libsodium takes exactly 16 bytes of salt; other lengths need another verifier (legacy imports).
        if (!TryDecode(parts[1], out salt) || !TryDecode(parts[2], out hash) || salt.Length != Argon2idOptions.SaltLength || hash.Length < 16 || hash.Length > 64)
        {
            return false;
        }

        memoryKiB = m.Value;
        iterations = t.Value;
        return true;
    }

    private static string Encode(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=');

    private static bool TryDecode(string text, out byte[] bytes)
    {
        bytes = [];
        var padded = (text.Length % 4) switch { 2 => text + "==", 3 => text + "=", 0 => text, _ => null };
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
