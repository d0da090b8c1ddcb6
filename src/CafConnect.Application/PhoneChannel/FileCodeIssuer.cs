using CafConnect.Application.Identity;
using CafConnect.Domain.Accounts;
using CafConnect.Infrastructure.Verification;
using CafConnect.Domain.Households;
using CafConnect.Domain.Passwords;
using CafConnect.Infrastructure.Accounts;
using CafConnect.Infrastructure.Audit;
using CafConnect.Infrastructure.Notifications;
using CafConnect.Infrastructure.Security;
using CafConnect.Application.Credentials;

namespace CafConnect.Application.PhoneChannel;

/// <summary>Why a file receives a new shared phone code (the <c>reason</c> of the message and the audit outcome).</summary>
public enum FileCodeReason
{
    /// <summary>« Code confidentiel oublié » on the voice server (seed 002): by SMS to the holder's own mobile, else by letter.</summary>
    Forgotten,
    /// <summary>A separation: each resulting file gets a new code, by letter (seed 000).</summary>
    Separation,
    /// <summary>A mutation (the file moved to another Caf, new number): a new code, by letter.</summary>
    Mutation,
}

/// <summary>How a new file code went out (masked recipient), or why none did.</summary>
public sealed record FileCodeIssue(bool Issued, NotificationChannel? Channel, string? Outcome);

/// <summary>
/// The one rule issuing a file's new shared 8-digit phone code (issue 16, item 9): random digits the legacy-code rules
/// accept against what the file knows (<see cref="CredentialReset.NewProvisionalPassword"/>, <see cref="LegacyCodePolicy"/>),
/// Argon2id, sent to the file holder only — by SMS to a mobile of their own (<see cref="ContactProof.OwnContacts"/>: the
/// records' or a verified one, never a typed number) when asked by phone, else (and always after a separation or a
/// mutation) by letter. A forgotten code waits beside the current one until first used (docs/decisions.md #17 and #25);
/// after a separation or a mutation the old code is void and the new one replaces it. Nothing is issued once the shared
/// code is retired (<see cref="PhoneChannelOptions.LegacyCodeUntil"/>). The caller commits.
/// </summary>
public sealed class FileCodeIssuer(PersonDirectory persons, ISecretHasher hasher, INotificationOutbox outbox, AuditTrail audit, PhoneChannelOptions options, TimeProvider clock)
{
    public async Task<FileCodeIssue> IssueAsync(Household file, PersonAccount? holder, FileCodeReason reason, string idempotencyKey, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        if (options.LegacyCodeRetired(now))
        {
            return new(false, null, "retired");
        }
        if (holder is null || holder.IsClosed)
        {
            return new(false, null, "no_holder");
        }
        var known = await persons.PasswordContextOfAsync(holder, cancellationToken);
        var context = new PasswordContext
        {
            Nir = known.Nir,
            // The file's number as it is now (a new file, a new number after a mutation), not only as the store knew it.
            FileNumbers = [.. known.FileNumbers.Append(file.FileNumber).Distinct()],
            BirthDates = known.BirthDates,
            PhoneNumbers = known.PhoneNumbers,
        };
        var code = CredentialReset.NewProvisionalPassword(context);
        var hash = hasher.Hash(code);
        if (reason == FileCodeReason.Forgotten)
        {
            file.PendingLegacySecretHash = hash;
            file.PendingLegacySecretIssuedAt = now;
        }
        else
        {
            file.LegacySecretHash = hash;
            file.PendingLegacySecretHash = null;
            file.PendingLegacySecretIssuedAt = null;
        }

        var mobile = reason == FileCodeReason.Forgotten
            ? ContactProof.OwnContacts(holder).FirstOrDefault(c => c.Channel == ContactChannel.Sms)
            : null;
        var (channel, recipient) = mobile is not null
            ? (NotificationChannel.Sms, mobile.Value)
            : (NotificationChannel.Letter, CredentialReset.LetterRecipient(holder));
        var why = ReasonName(reason);
        outbox.Enqueue(new NotificationRequest(NotificationKind.FileCodeIssued, channel, recipient,
            new Dictionary<string, string> { ["code"] = code, ["file_number"] = file.FileNumber, ["reason"] = why }, holder.Id, idempotencyKey));
        audit.Append(new AuditEntry(AuditEventTypes.LegacyCodeIssued, why, holder.Id, null,
            $"household={file.Id:N}; channel={(channel == NotificationChannel.Sms ? "sms" : "letter")}"));
        return new(true, channel, "sent");
    }

    public static string ReasonName(FileCodeReason reason) => reason switch
    {
        FileCodeReason.Forgotten => "oubli",
        FileCodeReason.Separation => "separation",
        FileCodeReason.Mutation => "mutation",
        _ => throw new ArgumentOutOfRangeException(nameof(reason)),
    };

    /// <summary>The file holder with an open account: the one who acts for the household (code de la sécurité sociale).</summary>
    public static PersonAccount? Holder(Household file) => file.Members
        .Where(m => m.Role == HouseholdRole.Allocataire && m.Person is { IsClosed: false })
        .OrderBy(m => m.JoinedAt)
        .Select(m => m.Person)
        .FirstOrDefault();
}
