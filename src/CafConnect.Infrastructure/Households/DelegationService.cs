using CafConnect.Domain.Accounts;
using CafConnect.Domain.Households;
using CafConnect.Infrastructure.Audit;
using CafConnect.Infrastructure.Notifications;
using CafConnect.Infrastructure.Persistence;
using Microsoft.EntityFrameworkCore;

namespace CafConnect.Infrastructure.Households;

public enum DelegationChange
{
    /// <summary>The person is not the holder of that file living as a couple: nothing was changed.</summary>
    NotAllowed,
    Granted,
    Withdrawn,
    /// <summary>The answer is the state the file already had; the choice is recorded, nothing else changes.</summary>
    Unchanged,
}

/// <summary>The question as the holder sees it: the file and the partner's name (« J'autorise Prénom NOM … »).</summary>
public sealed record DelegationQuestion(string FileNumber, Guid PartnerId, string PartnerName, bool Delegated);

/// <summary>
/// « Mes autorisations »: the holder grants or withdraws the partner's delegation on one file. The change, its audit row
/// and the messages to both people are one unit of work; the partner's next token refresh or userinfo call reflects it
/// (claims are rebuilt from the store). Only <see cref="HouseholdPermission.GererAutorisations"/> may do this.
/// Nothing here commits: the calling use case (the page, the first-login step, a file event) commits once.
/// </summary>
public sealed class DelegationService(CafConnectDbContext db, INotificationOutbox outbox, AuditTrail audit, TimeProvider clock)
{
    /// <summary>The delegation questions that apply to this person (empty for a partner, a single holder, anyone else).</summary>
    public async Task<IReadOnlyList<DelegationQuestion>> QuestionsForAsync(PersonAccount person, CancellationToken cancellationToken)
    {
        var questions = new List<DelegationQuestion>();
        foreach (var (holder, partner) in HouseholdDelegation.CouplesHeldBy(person))
        {
            if (!HouseholdPermissions.Allows(holder.Role, holder.Delegated, HouseholdPermission.GererAutorisations))
            {
                continue;
            }
            var partnerAccount = await db.Persons.AsNoTracking().FirstAsync(p => p.Id == partner.PersonId, cancellationToken);
            questions.Add(new DelegationQuestion(holder.Household!.FileNumber, partner.PersonId, DisplayName(partnerAccount), partner.Delegated));
        }
        return questions;
    }

    /// <summary>Records the holder's answer (Oui = <paramref name="grant"/>) for <paramref name="fileNumber"/>.</summary>
    public async Task<DelegationChange> ChooseAsync(PersonAccount holder, string fileNumber, bool grant, string? clientId, CancellationToken cancellationToken)
    {
        if (Find(holder, fileNumber) is not { } found)
        {
            return DelegationChange.NotAllowed;
        }
        var (holding, partner) = found;

        var now = clock.GetUtcNow();
        holding.DelegationChoiceAt = now;
        holding.DelegationStepSkippedAt = null;
        holder.ConcurrencyStamp = Guid.NewGuid();
        var change = partner.Delegated == grant ? DelegationChange.Unchanged : grant ? DelegationChange.Granted : DelegationChange.Withdrawn;
        partner.Delegated = grant;

        var details = $"file={fileNumber};partner={partner.PersonId}";
        if (change == DelegationChange.Unchanged)
        {
            audit.Append(new AuditEntry(grant ? AuditEventTypes.DelegationGranted : AuditEventTypes.DelegationDeclined, "unchanged", holder.Id, clientId, details));
            return change;
        }

        var partnerAccount = await db.Persons.FirstAsync(p => p.Id == partner.PersonId, cancellationToken);
        var values = new Dictionary<string, string>
        {
            ["partner_name"] = DisplayName(partnerAccount),
            ["holder_name"] = DisplayName(holder),
            ["delegated"] = grant ? "true" : "false",
        };
        // One message per change to each of them: the holder gets the confirmation (a change they did not make shows),
        // the partner learns what they may now do. Same transaction as the change (outbox).
        var key = $"delegation:{partner.Id}:{now.ToUnixTimeMilliseconds()}";
        outbox.EnqueueToVerifiedContact(holder, NotificationKind.DelegationChanged, values, key + ":allocataire");
        outbox.EnqueueToVerifiedContact(partnerAccount, NotificationKind.DelegationChanged, new Dictionary<string, string>(values) { [NotificationTemplates.RecipientValue] = NotificationTemplates.RecipientPartner }, key + ":conjoint");
        audit.Append(new AuditEntry(grant ? AuditEventTypes.DelegationGranted : AuditEventTypes.DelegationWithdrawn, "changed", holder.Id, clientId, details));
        return change;
    }

    /// <summary>« Passer » on the login step: nothing decided, asked again after the reminder interval.</summary>
    public async Task SkipAsync(PersonAccount holder, string? clientId, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        foreach (var (holding, _) in HouseholdDelegation.CouplesHeldBy(holder))
        {
            holding.DelegationStepSkippedAt = now;
        }
        holder.ConcurrencyStamp = Guid.NewGuid();
        audit.Append(new AuditEntry(AuditEventTypes.DelegationStepSkipped, null, holder.Id, clientId));
    }

    private static (HouseholdMembership Holder, HouseholdMembership Partner)? Find(PersonAccount holder, string fileNumber)
    {
        foreach (var (holding, partner) in HouseholdDelegation.CouplesHeldBy(holder))
        {
            if (holding.Household!.FileNumber == fileNumber && HouseholdPermissions.Allows(holding.Role, holding.Delegated, HouseholdPermission.GererAutorisations))
            {
                return (holding, partner);
            }
        }
        return null;
    }

    /// <summary>« Zohra TADJ » (seed 004): first given name, family name in capitals.</summary>
    public static string DisplayName(PersonAccount person)
    {
        var given = person.GivenNames.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault() ?? string.Empty;
        return $"{given} {person.FamilyName.ToUpperInvariant()}".Trim();
    }
}
