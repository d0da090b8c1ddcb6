namespace CafConnect.Infrastructure.Keys;

/// <summary>
/// A key that protects tokens, persisted so that tokens survive restarts and every instance shares it.
/// The private material is encrypted at rest with ASP.NET Core Data Protection.
/// </summary>
public sealed class TokenKeyRecord
{
    public Guid Id { get; set; } = Guid.NewGuid();

    /// <summary>The JWK <c>kid</c>.</summary>
    public string KeyId { get; set; } = string.Empty;

    /// <summary>
    /// <c>sig</c> (RSA, RS256: signs ID tokens and logout tokens), <c>sig-ec</c> (ECDSA P-256, ES256: signs the tokens only
    /// the provider reads, and the ID tokens of clients registered for ES256), <c>enc</c> (AES-256, encrypts codes and tokens) or
    /// <c>mac</c> (HMAC-SHA256, hashes verification codes; never given to OpenIddict) or <c>csk</c> (HMAC-SHA256, hashes
    /// generated client secrets).
    /// </summary>
    public string Use { get; set; } = string.Empty;

    public string Algorithm { get; set; } = string.Empty;

    /// <summary>Data-Protection-encrypted PKCS#8 (RSA, ECDSA) or raw key bytes (AES, HMAC), base64.</summary>
    public string ProtectedMaterial { get; set; } = string.Empty;

    public DateTimeOffset CreatedAt { get; set; }

    /// <summary>Set when a newer key replaced this one: still published and accepted, no longer used to protect.</summary>
    public DateTimeOffset? RetiredAt { get; set; }
}

public static class TokenKeyUses
{
    /// <summary>The RSA signing key (RS256): ID tokens and logout tokens by default (every relying party supports RS256).</summary>
    public const string Signing = "sig";

    /// <summary>
    /// The ECDSA P-256 signing key (ES256, docs/decisions.md #33): access and refresh tokens, authorization codes (tokens
    /// only the provider reads), and the ID and logout tokens of clients registered with
    /// <c>id_token_signed_response_alg</c> ES256. A use of its own rather than <c>sig</c> with another algorithm: a
    /// provider of an earlier version (a rolling upgrade, a rollback) reads every <c>sig</c> record as an RSA key and
    /// would fail to start on an EC one; this way it ignores the key.
    /// </summary>
    public const string EcSigning = "sig-ec";

    /// <summary>Both signing uses: rotated together, published together.</summary>
    public static bool IsSigning(string use) => use is Signing or EcSigning;
    public const string Encryption = "enc";

    /// <summary>The server key of the verification-code HMACs, shared by every instance (not a token key).</summary>
    public const string Mac = "mac";

    /// <summary>
    /// The server key of the generated client secrets' HMACs (docs/decisions.md #28; not a token key). Never retired out
    /// of use: a secret hashed under it verifies as long as the client keeps that secret.
    /// </summary>
    public const string ClientSecret = "csk";
}
