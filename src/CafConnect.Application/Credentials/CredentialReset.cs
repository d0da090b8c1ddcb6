using System.Globalization;
using System.Security.Cryptography;
using CafConnect.Application.Identity;
using CafConnect.Domain.Accounts;
using CafConnect.Domain.Passwords;
using CafConnect.Infrastructure.Accounts;
using CafConnect.Infrastructure.Audit;
using CafConnect.Infrastructure.Notifications;
using CafConnect.Infrastructure.Persistence;
using CafConnect.Infrastructure.Security;
using Microsoft.EntityFrameworkCore;
using OpenIddict.Abstractions;

namespace CafConnect.Application.Credentials;

/// <summary>How a provisional password reached (or will reach) the person; never the password itself.</summary>
public sealed record ProvisionalPasswordDelivery(NotificationChannel Channel, string MaskedRecipient, DateTimeOffset ValidUntil);

/// <summary>
/// What every replacement of a person's secret does, whoever triggers it (the person through "Mot de passe oublié ?",
/// an agent through the CLI): the new secret, the end of every grant issued under the old one (a thief's refresh
/// token dies with it), and the message to the person. Shared by the IdP and the CLI, so both follow one rule.
/// Nothing here commits: callers run it in one transaction (<see cref="InTransactionAsync{T}"/>) with their audit rows.
/// </summary>
public sealed class CredentialReset(
    CafConnectDbContext db, PersonDirectory persons, ISecretHasher hasher, INotificationOutbox outbox, AuditTrail audit,
    IOpenIddictAuthorizationManager authorizations, IOpenIddictTokenManager tokens, PasswordExpiryOptions expiry, TimeProvider clock)
{
    /// <summary>
    /// Runs <paramref name="work"/> in one transaction through the provider's execution strategy (PostgreSQL and SQL Server retry):
    /// the password, the revocations (which OpenIddict's stores write at once, not through the change tracker), the
    /// outbox message and the audit rows are stored together or not at all — the use case's one commit.
    /// </summary>
    /// <param name="afterWrite">
    /// What must follow the write but belongs to the same transaction (e.g. lifting a lock in the throttle's store once
    /// the new password is written): run after the changes are written, before the transaction commits. It adds nothing
    /// to the unit of work (its audit lines are added by <paramref name="work"/>): see <see cref="StoreTransactions"/>.
    /// </param>
    public Task<T> InTransactionAsync<T>(Func<CancellationToken, Task<T>> work, CancellationToken cancellationToken, Func<CancellationToken, Task>? afterWrite = null) =>
        db.InTransactionAsync(work, cancellationToken, afterWrite);

    /// <summary>
    /// A provisional password (8 digits, <see cref="LegacyCodePolicy"/>, cryptographic RNG), valid 2 months and replaced
    /// at its first use: by SMS to the person's own mobile (<see cref="ContactProof.ProvisionalPasswordDestination"/>) when
    /// there is one, else by letter (seed 000). It is
    /// <em>pending</em>: the account's current secret keeps working until the provisional one is first used (the login's
    /// credential check then swaps them and applies the one revocation policy) or a personal password is set — so asking
    /// for one, which anyone knowing a NIR may do, never locks the person out. A newer one replaces an unused older one.
    /// Returns where it goes; the password itself only ever leaves in the message.
    /// </summary>
    /// <param name="deliverTo">
    /// Where to send it instead of the verified contact: the benefits system gives a mobile that nobody verified yet
    /// (a first-time applicant, seed 000) or asks for a letter.
    /// </param>
    /// <param name="extraValues">More template values (e.g. <c>file_number</c> for a first-time applicant's message).</param>
    public async Task<ProvisionalPasswordDelivery> IssueProvisionalPasswordAsync(PersonAccount person, string idempotencyKey, CancellationToken cancellationToken,
        (NotificationChannel Channel, string Recipient)? deliverTo = null, IReadOnlyDictionary<string, string>? extraValues = null)
    {
        var password = NewProvisionalPassword(await persons.PasswordContextOfAsync(person, cancellationToken));
        var now = clock.GetUtcNow();
        person.PendingProvisionalPasswordHash = hasher.Hash(password);
        person.PendingProvisionalPasswordIssuedAt = now;
        person.ConcurrencyStamp = Guid.NewGuid();

        var validUntil = PasswordExpiryPolicy.ExpiresAt(PasswordKind.Provisional, now, expiry)!.Value;
        var values = new Dictionary<string, string>
        {
            ["password"] = password,
            // The last day it works, as a letter reads it (Paris time).
            ["valid_until"] = ToParis(validUntil.AddSeconds(-1)).ToString("dd/MM/yyyy", CultureInfo.InvariantCulture),
        };
        foreach (var (name, value) in extraValues ?? new Dictionary<string, string>())
        {
            values[name] = value;
        }
        // Who may receive it is the contact-proof rule's to say, as for every secret sent to a person.
        var (channel, recipient) = deliverTo
            ?? (ContactProof.ProvisionalPasswordDestination(person) is { } mobile
                ? (NotificationChannel.Sms, mobile.Value)
                : (NotificationChannel.Letter, LetterRecipient(person)));
        outbox.Enqueue(new NotificationRequest(NotificationKind.ProvisionalPassword, channel, recipient, values, person.Id, idempotencyKey));
        await Task.CompletedTask;
        return new ProvisionalPasswordDelivery(channel, RecipientMask.Mask(channel, recipient), validUntil);
    }

    /// <summary>
    /// Every authorization and token of the person, for every client, marked revoked: refresh tokens stop working at
    /// once, access tokens at their next introspection (they live 5 minutes). Browser sessions of the provider end
    /// through the session check (a session older than the password is refused).
    /// </summary>
    /// <param name="reason">The audit outcome: why (a password replaced, a separation, a death…).</param>
    public async Task RevokeGrantsAsync(PersonAccount person, CancellationToken cancellationToken, string reason = "password_replaced")
    {
        var revokedAuthorizations = await authorizations.RevokeBySubjectAsync(person.Subject, cancellationToken);
        var revokedTokens = await tokens.RevokeBySubjectAsync(person.Subject, cancellationToken);
        audit.Append(new AuditEntry(AuditEventTypes.GrantsRevoked, reason, person.Id,
            Details: $"authorizations={revokedAuthorizations}; tokens={revokedTokens}"));
    }

    /// <summary>8 digits from the cryptographic RNG, drawn again until <see cref="LegacyCodePolicy"/> accepts them.</summary>
    public static string NewProvisionalPassword(PasswordContext context)
    {
        while (true)
        {
            var candidate = RandomNumberGenerator.GetInt32(0, 100_000_000).ToString("D8", CultureInfo.InvariantCulture);
            if (LegacyCodePolicy.Check(candidate, context).IsAccepted)
            {
                return candidate;
            }
        }
    }

    /// <summary>
    /// The model holds no postal address (the Caf's file system does): a letter is addressed to the person's name and
    /// internal reference, and the print service resolves the address from it (<see cref="OutboxMessage.PersonId"/> too).
    /// </summary>
    public static string LetterRecipient(PersonAccount person)
    {
        var civility = person.Civility switch { Civility.Madame => "Madame ", Civility.Monsieur => "Monsieur ", _ => string.Empty };
        return $"{civility}{person.GivenNames} {person.FamilyName}\nRéférence personne : {person.Id:D}";
    }

    private static DateTime ToParis(DateTimeOffset instant)
    {
        try
        {
            return TimeZoneInfo.ConvertTime(instant, TimeZoneInfo.FindSystemTimeZoneById("Europe/Paris")).DateTime;
        }
        catch (TimeZoneNotFoundException)
        {
            return instant.UtcDateTime;
        }
    }
}
