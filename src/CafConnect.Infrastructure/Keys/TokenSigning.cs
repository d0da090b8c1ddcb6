using Microsoft.IdentityModel.Tokens;

namespace CafConnect.Infrastructure.Keys;

/// <summary>
/// Which key signs what (docs/decisions.md #33), one rule for the host's OpenIddict server and the back-channel logout
/// sender: RS256 (the RSA <c>sig</c> key) for what relying parties read unless a client registered ES256; ES256 (the EC
/// <c>sig-ec</c> key) for the tokens only the provider reads. Of each kind, the oldest active key signs (a rotation's
/// new keys are only published until the old ones retire, decision 29).
/// </summary>
public static class TokenSigning
{
    public const string Rs256 = SecurityAlgorithms.RsaSha256;
    public const string Es256 = SecurityAlgorithms.EcdsaSha256;

    /// <summary>The values a client may register as <c>id_token_signed_response_alg</c> (none: RS256).</summary>
    public static readonly IReadOnlySet<string> IdTokenAlgorithms = new HashSet<string>(StringComparer.Ordinal) { Rs256, Es256 };

    /// <summary>
    /// The keys active at <paramref name="now"/> (not retired, or retiring later), in the order every instance picks its
    /// signers from: oldest first, ties (keys created at the same instant by racing instances) broken by key id, so that
    /// all agree. <see cref="TokenKeyStore.LoadAsync"/> loads the active keys in this order.
    /// </summary>
    public static IEnumerable<TokenKeyRecord> ActiveInSigningOrder(IEnumerable<TokenKeyRecord> records, DateTimeOffset now) =>
        records.Where(r => r.RetiredAt is null || r.RetiredAt > now)
            .OrderBy(r => r.CreatedAt).ThenBy(r => r.KeyId, StringComparer.Ordinal);

    /// <summary>
    /// The RSA key that signs at <paramref name="now"/>, from the stored records: the oldest active <c>sig</c> key
    /// (<see cref="ActiveInSigningOrder"/>). What <see cref="RsaSigner"/> picks among the keys loaded at that instant;
    /// <c>cafconnect keys list</c> shows it.
    /// </summary>
    public static TokenKeyRecord? RsaSignerRecord(IEnumerable<TokenKeyRecord> records, DateTimeOffset now) =>
        ActiveInSigningOrder(records, now).FirstOrDefault(r => r.Use == TokenKeyUses.Signing);

    /// <summary>
    /// The RSA key that signs, among keys loaded by <see cref="TokenKeyStore.LoadAsync"/> (active ones first, in
    /// <see cref="ActiveInSigningOrder"/>): the first active <c>sig</c> key, i.e. <see cref="RsaSignerRecord"/> at load time.
    /// </summary>
    public static TokenKey? RsaSigner(IReadOnlyList<TokenKey> keys) =>
        keys.FirstOrDefault(k => k.Record.Use == TokenKeyUses.Signing && k.IsActive);

    /// <summary>
    /// The EC key that signs, or null when none may sign yet: the oldest active <c>sig-ec</c> key, provided that every
    /// instance knows it — it was created with (or before) the RSA key that signs, so an instance that loaded that one
    /// loaded it too; or it has been in the store for <paramref name="publicationDelay"/> (the first EC key added to a
    /// store of an earlier version: instances still running that version ignore it until they are replaced).
    /// </summary>
    public static TokenKey? EcSigner(IReadOnlyList<TokenKey> keys, DateTimeOffset now, TimeSpan publicationDelay)
    {
        var ec = keys.FirstOrDefault(k => k.Record.Use == TokenKeyUses.EcSigning && k.IsActive);
        if (ec is null)
        {
            return null;
        }
        return EcSigningStartsAt(ec.Record, RsaSigner(keys)?.Record, publicationDelay) is not { } startsAt || startsAt <= now ? ec : null;
    }

    /// <summary>
    /// When the active EC key <paramref name="ec"/> may start signing (see <see cref="EcSigner"/>), or null when it may at
    /// once: created with or before the RSA key that signs (<paramref name="rsaSigner"/>), or no RSA key signs. Otherwise
    /// it is a key added to a store of an earlier version and waits out <paramref name="publicationDelay"/> from its
    /// creation. Also what <c>cafconnect keys list</c> shows.
    /// </summary>
    public static DateTimeOffset? EcSigningStartsAt(TokenKeyRecord ec, TokenKeyRecord? rsaSigner, TimeSpan publicationDelay) =>
        rsaSigner is null || ec.CreatedAt <= rsaSigner.CreatedAt ? null : ec.CreatedAt + publicationDelay;

    /// <summary>
    /// The key that signs with <paramref name="algorithm"/> (<see cref="Rs256"/> or <see cref="Es256"/>); RS256 when no EC
    /// key may sign yet — every relying party and every instance accepts it.
    /// </summary>
    public static TokenKey SignerFor(string algorithm, IReadOnlyList<TokenKey> keys, DateTimeOffset now, TimeSpan publicationDelay) =>
        (algorithm == Es256 ? EcSigner(keys, now, publicationDelay) : null)
        ?? RsaSigner(keys)
        ?? throw new InvalidOperationException("no active signing key in the store: start the provider once or run 'cafconnect keys rotate'");

    /// <summary>The algorithm a relying party registered for its ID tokens (and logout tokens): RS256 unless ES256.</summary>
    public static string IdTokenAlgorithmOf(string? registered) => registered == Es256 ? Es256 : Rs256;
}

/// <summary><c>Keys:*</c> settings shared by the host and the CLI.</summary>
public static class TokenKeySettings
{
    /// <summary>
    /// <c>Keys:PublicationDelay</c> (a TimeSpan, e.g. <c>01:00:00</c>), by default <see cref="TokenKeyStore.DefaultPublicationDelay"/>:
    /// how long a rotation publishes new keys before they sign, and how long a first EC key added to an existing store waits.
    /// </summary>
    public static TimeSpan PublicationDelay(Microsoft.Extensions.Configuration.IConfiguration configuration)
    {
        var value = configuration["Keys:PublicationDelay"];
        if (string.IsNullOrWhiteSpace(value))
        {
            return TokenKeyStore.DefaultPublicationDelay;
        }
        return TimeSpan.TryParse(value, System.Globalization.CultureInfo.InvariantCulture, out var delay) && delay >= TimeSpan.Zero
            ? delay
            : throw new FormatException($"Keys:PublicationDelay: expected a duration such as 01:00:00 (got '{value}')");
    }
}

/// <summary>What the signing rule needs besides the keys (<see cref="TokenSigning.SignerFor"/>).</summary>
public sealed record TokenSigningSettings(TimeSpan PublicationDelay);
