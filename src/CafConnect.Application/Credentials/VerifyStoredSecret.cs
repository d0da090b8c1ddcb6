using System.Globalization;
using CafConnect.Domain.Accounts;
using CafConnect.Domain.Households;
using CafConnect.Domain.Passwords;
using CafConnect.Infrastructure.Security;

namespace CafConnect.Application.Credentials;

public sealed record VerifyStoredSecretRequest(PersonAccount Person, string Secret);

/// <summary>
/// <see cref="Verified"/>: the secret opens the account, as <see cref="Kind"/>. <see cref="Reason"/> is the audit outcome
/// (<c>pwd</c>, <c>legacy_code</c>, <c>wrong_password</c>, <c>no_usable_credential</c>, <c>provisional_expired</c>).
/// <see cref="ExpiredOn"/>: the right provisional password, past its validity (its own French message, not a login).
/// </summary>
public sealed record VerifyStoredSecretResult(bool Verified, PasswordKind Kind, string Reason, DateTimeOffset? ExpiredOn = null)
{
    public const string ProvisionalExpiredReason = "provisional_expired";
    public bool ProvisionalExpired => Reason == ProvisionalExpiredReason;
}

/// <summary>
/// The one check of a stored secret of any kind — the personal password, a provisional password (current, or pending
/// beside the current secret), the file's legacy 8-digit code before the person's first login, imported formats —,
/// with expiry and the Argon2id upgrade of <see cref="LegacySecretVerifiers.VerifyAndUpgrade"/>. A pending provisional
/// password used for the first time replaces the old secret here, with <see cref="PasswordSettingPolicy"/>'s
/// revocations. The caller saves the person (upgraded hashes, promoted provisional password) with its audit row.
/// </summary>
public sealed class VerifyStoredSecret(LegacySecretVerifiers secrets, ISecretHasher hasher, PasswordSettingPolicy policy, PasswordExpiryOptions expiry, TimeProvider clock)
{

    /// <summary>The French answer to a right provisional password past its two months, with the way to get a new one.</summary>
    public static string ProvisionalExpiredMessage(DateTimeOffset? expiredOn) =>
        "Votre mot de passe provisoire n'est plus valable" + (expiredOn is { } day ? $" depuis le {ParisDay(day)}" : string.Empty) + ". " +
        "Demandez-en un nouveau avec « Mot de passe oublié ? » : il vous sera envoyé par SMS si un numéro de portable figure à votre dossier, sinon par courrier. " +
        "Vous pouvez aussi vous adresser à votre Caf.";

    public async Task<VerifyStoredSecretResult> ExecuteAsync(VerifyStoredSecretRequest request, CancellationToken cancellationToken)
    {
        var (person, secret) = (request.Person, request.Secret);
        var now = clock.GetUtcNow();
        if (person.PasswordHash is not null && secrets.VerifyAndUpgrade(secret, person.PasswordHash, out var upgraded))
        {
            if (upgraded is not null)
            {
                // Cost parameters were raised since this hash was made (or it was imported): upgraded while we hold the secret.
                person.PasswordHash = upgraded;
            }
            if (person.CredentialKind != CredentialKind.Provisional)
            {
                return new(true, PasswordKind.Personal, "pwd");
            }
            var until = ProvisionalValidUntil(person.PasswordSetAt ?? now);
            return until <= now
                ? new(false, PasswordKind.Provisional, VerifyStoredSecretResult.ProvisionalExpiredReason, until)
                : new(true, PasswordKind.Provisional, "pwd");
        }

        if (person.PendingProvisionalPasswordHash is { } pending && secrets.VerifyAndUpgrade(secret, pending, out var upgradedPending))
        {
            var issuedAt = person.PendingProvisionalPasswordIssuedAt ?? now;
            var until = ProvisionalValidUntil(issuedAt);
            if (until <= now)
            {
                return new(false, PasswordKind.Provisional, VerifyStoredSecretResult.ProvisionalExpiredReason, until);
            }
            // First use: the provisional password becomes the account's secret and the old one stops working, so what
            // the old one obtained ends (one policy with every password setting).
            person.PasswordHash = upgradedPending ?? pending;
            person.CredentialKind = CredentialKind.Provisional;
            person.PasswordSetAt = issuedAt;
            person.PendingProvisionalPasswordHash = null;
            person.PendingProvisionalPasswordIssuedAt = null;
            person.ConcurrencyStamp = Guid.NewGuid();
            await policy.RevokeAsync(person, keepSessionId: null, cancellationToken);
            return new(true, PasswordKind.Provisional, "pwd");
        }

        if (person.PasswordHash is not null)
        {
            return new(false, PasswordKind.Personal, "wrong_password");
        }

        // No password of their own yet: only before their first login, the 8-digit code their file shares.
        var legacyFiles = person.Memberships
            .Where(m => LegacyCodeRoles.Contains(m.Role) && m.Household?.LegacySecretHash is not null)
            .Select(m => m.Household!)
            .ToList();
        if (legacyFiles.Count == 0 || !LegacyCodePolicy.IsWellFormed(secret))
        {
            hasher.VerifyAgainstDummy(secret);
            return new(false, PasswordKind.LegacyFileCode, legacyFiles.Count == 0 && person.PendingProvisionalPasswordHash is null ? "no_usable_credential" : "wrong_password");
        }
        foreach (var file in legacyFiles)
        {
            if (!secrets.VerifyAndUpgrade(secret, file.LegacySecretHash!, out var upgradedCode))
            {
                continue;
            }
            if (upgradedCode is not null)
            {
                // Weaker parameters, or a legacy format kept at import: Argon2id from now on (saved with the person).
                file.LegacySecretHash = upgradedCode;
            }
            return new(true, PasswordKind.LegacyFileCode, "legacy_code");
        }
        return new(false, PasswordKind.LegacyFileCode, "wrong_password");
    }

    /// <summary>The instant a provisional password sent at <paramref name="issuedAt"/> stops working (two months, seed 000).</summary>
    public DateTimeOffset ProvisionalValidUntil(DateTimeOffset issuedAt) =>
        PasswordExpiryPolicy.ExpiresAt(PasswordKind.Provisional, issuedAt, expiry)!.Value;

    /// <summary>A day as people read it in France (Paris time), e.g. 04/02/2027.</summary>
    public static string ParisDay(DateTimeOffset instant)
    {
        DateTime local;
        try
        {
            local = TimeZoneInfo.ConvertTime(instant, TimeZoneInfo.FindSystemTimeZoneById("Europe/Paris")).DateTime;
        }
        catch (TimeZoneNotFoundException)
        {
            local = instant.UtcDateTime;
        }
        return local.ToString("dd/MM/yyyy", CultureInfo.InvariantCulture);
    }
}
