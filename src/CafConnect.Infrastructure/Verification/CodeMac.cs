using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using CafConnect.Infrastructure.Keys;
using Microsoft.Extensions.DependencyInjection;

namespace CafConnect.Infrastructure.Verification;

/// <summary>The server keys of the verification-code HMACs: the active key first, then keys still accepted when checking.</summary>
public interface IMacKeyProvider
{
    ValueTask<IReadOnlyList<MacKey>> GetKeysAsync(CancellationToken cancellationToken = default);
}

/// <summary>
/// Reads the <c>mac</c> keys from the store (<see cref="TokenKeyStore"/>, Data-Protection encrypted, shared by every
/// instance), creating the first one when missing, and keeps them for <see cref="RefreshInterval"/>: a rotation
/// (<c>RotateAsync("mac")</c>) reaches every instance within that interval, and the retired key keeps being accepted
/// for codes issued just before.
/// </summary>
public sealed class StoredMacKeyProvider(IServiceScopeFactory scopes, TimeProvider clock) : IMacKeyProvider
{
    public static readonly TimeSpan RefreshInterval = TimeSpan.FromMinutes(5);

    /// <summary>Longer than any code or send counter (1 h by default).</summary>
    public static readonly TimeSpan RetiredKeyAcceptance = TimeSpan.FromDays(1);

    private sealed record Snapshot(IReadOnlyList<MacKey> Keys, DateTimeOffset LoadedAt);

    private readonly SemaphoreSlim _gate = new(1, 1);
    private volatile Snapshot? _snapshot;

    public async ValueTask<IReadOnlyList<MacKey>> GetKeysAsync(CancellationToken cancellationToken = default)
    {
        if (_snapshot is { } fresh && clock.GetUtcNow() - fresh.LoadedAt < RefreshInterval)
        {
            return fresh.Keys;
        }

        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (_snapshot is { } current && clock.GetUtcNow() - current.LoadedAt < RefreshInterval)
            {
                return current.Keys;
            }
            await using var scope = scopes.CreateAsyncScope();
            var store = scope.ServiceProvider.GetRequiredService<TokenKeyStore>();
            var keys = await store.LoadOrCreateMacKeysAsync(RetiredKeyAcceptance, cancellationToken);
            _snapshot = new Snapshot(keys, clock.GetUtcNow());
            return keys;
        }
        finally
        {
            _gate.Release();
        }
    }
}

/// <summary>Fixed keys (tests, tools): the first one is active.</summary>
public sealed class StaticMacKeyProvider : IMacKeyProvider
{
    private readonly IReadOnlyList<MacKey> _keys;

    public StaticMacKeyProvider(params byte[][] keys)
    {
        if (keys.Length == 0)
        {
            throw new ArgumentException("At least one key is required.", nameof(keys));
        }
        _keys = keys.Select((k, i) => new MacKey($"static-{i}", k, i == 0)).ToList();
    }

    public static StaticMacKeyProvider Random() => new(RandomNumberGenerator.GetBytes(32));

    public ValueTask<IReadOnlyList<MacKey>> GetKeysAsync(CancellationToken cancellationToken = default) => ValueTask.FromResult(_keys);
}

/// <summary>
/// One (flow, channel, contact) seen through one key: <see cref="Lookup"/> names its entries in the store without
/// revealing the contact, <see cref="Hash"/> is the only form in which a code is kept.
/// </summary>
public sealed class CodeSubject
{
    private readonly byte[] _key;
    private readonly string _flowId;
    private readonly ContactChannel _channel;
    private readonly string _contact;

    internal CodeSubject(MacKey key, string flowId, ContactChannel channel, string normalizedContact)
    {
        _key = key.Material;
        _flowId = flowId;
        _channel = channel;
        _contact = normalizedContact;
        KeyId = key.KeyId;
        Lookup = Convert.ToHexStringLower(CodeMac.Compute(_key, "cafconnect.vc.lookup.v1", flowId, channel.ToString(), normalizedContact));
        FlowLookup = Convert.ToHexStringLower(CodeMac.Compute(_key, "cafconnect.vc.flow.v1", flowId));
    }

    /// <summary>HMAC(key, flow) in hex: names the send counter of a flow counted whatever the contact (<see cref="CodeSendScope.PerFlow"/>).</summary>
    public string FlowLookup { get; }

    /// <summary>The name of the send counter for <paramref name="scope"/> (the two namespaces cannot meet).</summary>
    public string SendCounterName(CodeSendScope scope) => scope == CodeSendScope.PerFlow ? "flow:" + FlowLookup : Lookup;

    public string KeyId { get; }

    /// <summary>HMAC(key, flow, channel, contact) in hex: safe to use in a Redis key name.</summary>
    public string Lookup { get; }

    /// <summary>HMAC-SHA256(key, flow, channel, normalised contact, code).</summary>
    public byte[] Hash(string code) => CodeMac.Compute(_key, "cafconnect.vc.code.v1", _flowId, _channel.ToString(), _contact, code);
}

/// <summary>The HMAC-SHA256 of verification codes under the shared server key (see <see cref="IMacKeyProvider"/>).</summary>
public sealed class CodeMac(IMacKeyProvider keys)
{
    /// <summary>The subject under every accepted key, the active key first (codes are issued under it).</summary>
    public async ValueTask<IReadOnlyList<CodeSubject>> SubjectsAsync(string flowId, ContactChannel channel, string contact, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(flowId);
        var normalized = ContactNormalizer.Normalize(channel, contact);
        if (normalized.Length == 0)
        {
            throw new ArgumentException("The contact is empty.", nameof(contact));
        }
        var all = await keys.GetKeysAsync(cancellationToken);
        return all.Select(k => new CodeSubject(k, flowId, channel, normalized)).ToList();
    }

    /// <summary>HMAC-SHA256 over a domain tag and length-prefixed UTF-8 fields (no ambiguity between fields).</summary>
    internal static byte[] Compute(byte[] key, params string[] fields)
    {
        var buffer = new List<byte>(256);
        Span<byte> length = stackalloc byte[4];
        foreach (var field in fields)
        {
            var bytes = Encoding.UTF8.GetBytes(field);
            BinaryPrimitives.WriteInt32BigEndian(length, bytes.Length);
            buffer.AddRange(length.ToArray());
            buffer.AddRange(bytes);
        }
        return HMACSHA256.HashData(key, buffer.ToArray());
    }

    /// <summary>Six digits, uniform over 000000–999999, from the cryptographic RNG.</summary>
    public static string NewCode() => RandomNumberGenerator.GetInt32(0, 1_000_000).ToString("D6", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>What a user typed, without spaces; anything but 6 digits can never match (it still counts as a wrong entry).</summary>
    internal static string NormalizeSubmission(string? submitted) =>
        new((submitted ?? string.Empty).Where(c => !char.IsWhiteSpace(c)).ToArray());
}
