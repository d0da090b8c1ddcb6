using System.Buffers.Binary;
using System.Security.Cryptography;

namespace CafConnect.Domain.Identity;

/// <summary>
/// Draws provisional identifiers uniformly at random among the 10^8 possible numbers, with a
/// cryptographic RNG so that identifiers cannot be enumerated or predicted from one another
/// (a sequence would let anyone guess the next person's login). Collisions are retried.
/// </summary>
/// <remarks>
/// <c>isTaken</c> is a check-then-act: two concurrent registrations may draw the same free number.
/// The store must keep a unique index on the identifier and call the generator again on a conflict.
/// </remarks>
public sealed class ProvisionalIdGenerator
{
    /// <summary>Retries before giving up; with 10^8 numbers, hitting this means the store is nearly full or broken.</summary>
    public const int DefaultMaxAttempts = 32;

    private const uint Range = 100_000_000;
    // 42 × Range, the largest multiple of Range not above 2^32: values at or above it are redrawn (no modulo bias).
    private const uint Limit = 4_200_000_000;

    private readonly RandomNumberGenerator _rng;
    private readonly int _maxAttempts;

    public ProvisionalIdGenerator() : this(RandomNumberGenerator.Create()) { }

    public ProvisionalIdGenerator(RandomNumberGenerator rng, int maxAttempts = DefaultMaxAttempts)
    {
        ArgumentNullException.ThrowIfNull(rng);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxAttempts, 1);
        _rng = rng;
        _maxAttempts = maxAttempts;
    }

    /// <summary>Returns an identifier for which <paramref name="isTaken"/> (given the "P…" value) returned false.</summary>
    /// <exception cref="InvalidOperationException">No free identifier after the maximum number of attempts.</exception>
    public ProvisionalId Generate(Func<string, bool> isTaken)
    {
        ArgumentNullException.ThrowIfNull(isTaken);
        for (var attempt = 0; attempt < _maxAttempts; attempt++)
        {
            var candidate = Draw();
            if (!isTaken(candidate.Value)) return candidate;
        }
        throw new InvalidOperationException($"No free provisional identifier after {_maxAttempts} attempts.");
    }

    /// <summary>Same as <see cref="Generate"/> for a store that is queried asynchronously.</summary>
    public async ValueTask<ProvisionalId> GenerateAsync(Func<string, CancellationToken, ValueTask<bool>> isTaken, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(isTaken);
        for (var attempt = 0; attempt < _maxAttempts; attempt++)
        {
            var candidate = Draw();
            if (!await isTaken(candidate.Value, cancellationToken).ConfigureAwait(false)) return candidate;
        }
        throw new InvalidOperationException($"No free provisional identifier after {_maxAttempts} attempts.");
    }

    private ProvisionalId Draw()
    {
        Span<byte> bytes = stackalloc byte[4];
        while (true)
        {
            _rng.GetBytes(bytes);
            var value = BinaryPrimitives.ReadUInt32LittleEndian(bytes);
            if (value < Limit) return ProvisionalId.FromNumber((int)(value % Range));
        }
    }
}
