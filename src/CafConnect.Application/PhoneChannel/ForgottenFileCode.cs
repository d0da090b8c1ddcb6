using CafConnect.Application.Identity;
using CafConnect.Application.Persistence;
using CafConnect.Application.RateLimiting;
using CafConnect.Infrastructure.Verification;
using CafConnect.Infrastructure.Accounts;
using CafConnect.Infrastructure.Audit;
using CafConnect.Infrastructure.Security;

namespace CafConnect.Application.PhoneChannel;

/// <param name="FileNumber">Exactly 7 digits, checked by the caller (a malformed number says nothing about files).</param>
/// <param name="ClientId">The authenticated voice server that relays the caller.</param>
public sealed record ForgottenFileCodeRequest(string FileNumber, string ClientId);

/// <summary>
/// « Code confidentiel oublié » on the voice server (seed 002, issue 16 item 9): a new shared code for the file, through
/// <see cref="FileCodeIssuer"/> (SMS to the holder's own mobile, else a letter). The voice server always gets the same
/// answer — unknown file, no holder, throttled, retired code or sent — so nobody learns which numbers are files; every
/// path costs one Argon2id computation, is counted against the file number and the client, and is audited
/// (<c>file.legacy_code_requested</c>). Limits: <see cref="PhoneChannelOptions.FileCodeRequestsPerDay"/> per file
/// number, one letter a day per file (<see cref="ContactProof.LetterInterval"/>), the voice server's own budget per
/// client, and the holder's message ceiling across journeys for the SMS (<see cref="MessageCap"/>). One commit.
/// </summary>
public sealed class ForgottenFileCode(PersonDirectory persons, FileCodeIssuer issuer, IJourneyRateLimiter limiter, JourneyRateLimitOptions limits,
    MessageCap messageCap, PhoneChannelOptions options, ISecretHasher hasher, AuditTrail audit, IUnitOfWork unitOfWork, TimeProvider clock)
{
    private const string Journey = "phone-file-code";

    public async Task ExecuteAsync(ForgottenFileCodeRequest request, CancellationToken cancellationToken)
    {
        // Both counters always count, whether or not the number is a file: being limited says nothing about a file.
        var byClient = await limiter.TryAcquireAsync(limits.KeyPrefix + Journey + ":client", request.ClientId, options.ClientBudget, options.ClientWindow, cancellationToken);
        var byFile = await limiter.TryAcquireAsync(limits.KeyPrefix + Journey + ":file", request.FileNumber, options.FileCodeRequestsPerDay, TimeSpan.FromDays(1), cancellationToken);

        var file = await persons.FindFileAsync(request.FileNumber, cancellationToken);
        var holder = file is null ? null : FileCodeIssuer.Holder(file);
        var byLetter = holder is not null && !ContactProof.OwnContacts(holder).Any(c => c.Channel == ContactChannel.Sms);
        string outcome;
        if (!byClient || !byFile)
        {
            outcome = "throttled";
        }
        else if (file is null)
        {
            outcome = "unknown_file";
        }
        else if (options.LegacyCodeRetired(clock.GetUtcNow()))
        {
            outcome = "retired";
        }
        else if (holder is null)
        {
            outcome = "no_holder";
        }
        else if (byLetter && !await limiter.TryAcquireAsync(limits.KeyPrefix + Journey + ":letter", request.FileNumber, 1, ContactProof.LetterInterval, cancellationToken))
        {
            // No letter bombing: one a day, as for provisional passwords.
            outcome = "throttled";
        }
        else if (!byLetter && await messageCap.CountAsync(MessageCap.Journeys.PhoneFileCode,
            new MessageRecipient(holder.Id, ContactChannel.Sms, ContactProof.OwnContacts(holder).First(c => c.Channel == ContactChannel.Sms).Value),
            answersAlike: true, cancellationToken) != MessageCapOutcome.Allowed)
        {
            // The holder's ceiling across journeys is spent (docs/decisions.md #31): no SMS, the same 202, the old code kept.
            outcome = "capped";
        }
        else
        {
            var issued = await issuer.IssueAsync(file, holder, FileCodeReason.Forgotten,
                $"file-code:{file.Id:N}:{clock.GetUtcNow().ToUnixTimeMilliseconds()}", cancellationToken);
            outcome = issued.Outcome ?? "sent";
        }
        if (outcome != "sent")
        {
            // The cost of the hash a sent code takes: the answer's timing says nothing either.
            hasher.VerifyAgainstDummy("00000000");
        }
        audit.Append(new AuditEntry(AuditEventTypes.LegacyCodeRequested, outcome, holder?.Id, request.ClientId,
            file is null ? "file=unknown" : $"household={file.Id:N}"));
        await unitOfWork.CommitAsync(cancellationToken);
    }
}
