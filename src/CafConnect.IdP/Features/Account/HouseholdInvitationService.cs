using CafConnect.Application.Identity;
using CafConnect.Application.RateLimiting;
using CafConnect.Application.Persistence;
using CafConnect.Domain.Accounts;
using CafConnect.Domain.Households;
using CafConnect.Infrastructure.Households;
using CafConnect.Infrastructure.Audit;
using CafConnect.Infrastructure.Notifications;
using CafConnect.Infrastructure.Persistence;
using CafConnect.Infrastructure.Verification;
using Microsoft.EntityFrameworkCore;

namespace CafConnect.IdP.Features.Account;

/// <summary>What the holder types to invite a household member, as typed.</summary>
public sealed record InvitationRequest(string? FileNumber, string? Role, string? BirthName, string? GivenNames, string? BirthDate, string? Contact);

/// <summary>
/// « Mon foyer »: the file holder (allocataire) invites a partner, a child or another person of 16 or more to create
/// their own account. The invitee gets a message through the outbox; when they create their account (with or without
/// a NIR) with this civil status and prove this contact, they join the file with the role chosen here.
/// </summary>
public sealed class HouseholdInvitationService(CafConnectDbContext db, INotificationOutbox outbox, MessageCap messageCap, AuditTrail audit,
    IJourneyRateLimiter limiter, JourneyRateLimitOptions limits, IUnitOfWork unitOfWork, ContactProof contactProof, TimeProvider clock)
{
    public const string FileNumberField = "FileNumber";
    public const string UnknownFileMessage = "Choisissez un de vos dossiers.";
    public const string RoleField = "Role";
    public const string BirthNameField = "BirthName";
    public const string GivenNamesField = "GivenNames";
    public const string BirthDateField = "BirthDate";
    public const string ContactField = "Contact";
    public const string FormField = "";

    /// <summary>The files the person holds (allocataire), each with its members and open invitations.</summary>
    public static IReadOnlyList<Household> HeldFiles(PersonAccount person) => person.Memberships
        .Where(m => m.Role == HouseholdRole.Allocataire && m.Household is not null)
        .Select(m => m.Household!)
        .OrderBy(h => h.FileNumber, StringComparer.Ordinal)
        .ToList();

    public async Task<IReadOnlyList<PersonAccount>> MembersOfAsync(Household household, CancellationToken cancellationToken) =>
        await db.Memberships.AsNoTracking().Where(m => m.HouseholdId == household.Id).Select(m => m.Person!).ToListAsync(cancellationToken);

    public async Task<IReadOnlyList<HouseholdInvitation>> OpenInvitationsAsync(Household household, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        return (await db.HouseholdInvitations.AsNoTracking().WithFileAndSender().Where(i => i.HouseholdId == household.Id && i.AcceptedAt == null).ToListAsync(cancellationToken))
            .Where(i => i.IsOpenAt(now)).OrderBy(i => i.CreatedAt).ToList();
    }

    public async Task<(IReadOnlyDictionary<string, string> Errors, bool Limited)> InviteAsync(PersonAccount holder, InvitationRequest request, System.Net.IPAddress? ip, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string>();
        var heldFiles = HeldFiles(holder);
        if (heldFiles.Count == 0)
        {
            return (new Dictionary<string, string> { [FormField] = "Seul le responsable du dossier peut inviter les membres de son foyer." }, false);
        }
        // Never a default file: a holder of two files could otherwise invite someone onto the wrong one.
        var household = heldFiles.FirstOrDefault(h => h.FileNumber == request.FileNumber?.Trim());
        if (household is null)
        {
            return (new Dictionary<string, string> { [FileNumberField] = UnknownFileMessage }, false);
        }
        // The holder invites a partner, a child or another member; never a second holder.
        HouseholdRole? role = HouseholdRoleNames.TryParse(request.Role, out var named) && named is HouseholdRole.Conjoint or HouseholdRole.Enfant or HouseholdRole.Autre
            ? named
            : null;
        if (role is null)
        {
            errors[RoleField] = "Choisissez le lien de la personne avec le foyer : conjoint(e), enfant ou autre personne.";
        }
        else if (await PartnerRefusalAsync(household, role.Value, cancellationToken) is { } partnerRefusal)
        {
            errors[RoleField] = partnerRefusal;
        }
        if (!CivilStatusInput.TryName(request.BirthName, "Saisissez le nom de naissance de la personne.", "Le nom de naissance", out var birthName, out var error))
        {
            errors[BirthNameField] = error;
        }
        if (!CivilStatusInput.TryName(request.GivenNames, "Saisissez le prénom (ou les prénoms) de la personne.", "Le prénom", out var givenNames, out error))
        {
            errors[GivenNamesField] = error;
        }
        var today = DateOnly.FromDateTime(clock.GetUtcNow().UtcDateTime);
        var underAge = false;
        if (!CivilStatusInput.TryBirthDate(request.BirthDate, today, out var birthDate, out error))
        {
            errors[BirthDateField] = error;
        }
        else if (!CivilStatusMatching.IsOldEnough(birthDate, today))
        {
            errors[BirthDateField] = CivilStatusInput.InviteeUnderAgeMessage;
            underAge = true;
        }
        if (!CivilStatusInput.TryContact(request.Contact, out var channel, out var contact, out error))
        {
            errors[ContactField] = error;
        }
        else if (!await contactProof.IsPersonalOnFileAsync(household.Id, channel, contact, null, cancellationToken))
        {
            // Seeds 003/004, the rule of ContactProof: the invitee's codes and recovery would reach the holder or a member.
            errors[ContactField] = ContactProof.NotPersonalForInviteeMessage;
        }
        if (underAge)
        {
            audit.Append(new AuditEntry(AuditEventTypes.HouseholdInvitationRefused, "under_16", holder.Id, Details: $"file={household.FileNumber}"));
            await unitOfWork.CommitAsync(cancellationToken);
        }
        if (errors.Count > 0)
        {
            return (errors, false);
        }
        if (!await limiter.AllowAsync(limits, "household-invitation", ip, holder.Id.ToString(), cancellationToken))
        {
            audit.Append(new AuditEntry(AuditEventTypes.HouseholdInvitationRefused, "rate_limited", holder.Id, Details: $"file={household.FileNumber}"));
            await unitOfWork.CommitAsync(cancellationToken);
            return (new Dictionary<string, string> { [FormField] = JourneyRateLimits.TooManyRequestsMessage }, true);
        }
        // The invited contact's ceiling across journeys (docs/decisions.md #31): a holder cannot flood someone's mobile
        // or address with invitations; answered as the form's own limit.
        if (await messageCap.CountAsync(MessageCap.Journeys.HouseholdInvitation, new MessageRecipient(null, channel, contact), answersAlike: false,
                cancellationToken) != MessageCapOutcome.Allowed)
        {
            audit.Append(new AuditEntry(AuditEventTypes.HouseholdInvitationRefused, "message_cap", holder.Id, Details: $"file={household.FileNumber}"));
            await unitOfWork.CommitAsync(cancellationToken);
            return (new Dictionary<string, string> { [FormField] = JourneyRateLimits.TooManyRequestsMessage }, true);
        }

        // Stored in a transaction that locks the file's row and asks the one-partner rules again (docs/decisions.md #57):
        // of two partner invitations sent at the same instant, the second sees the first; so does one sent while a partner
        // joins the file (an invitation accepted, a file event), which locks the same row.
        string? refusedUnderLock = null;
        await db.InTransactionAsync(async ct =>
        {
            await RowLocks.LockAsync(db, typeof(Household), [(nameof(Household.Id), household.Id)], RowLockMode.Update, ct);
            var asNow = await db.Households.AsNoTracking().Include(h => h.Members).SingleAsync(h => h.Id == household.Id, ct);
            refusedUnderLock = await PartnerRefusalAsync(asNow, role!.Value, ct);
            if (refusedUnderLock is null)
            {
                AddInvitation(holder, household, role.Value, birthName, givenNames, birthDate, channel, contact);
            }
        }, cancellationToken);
        return refusedUnderLock is null ? (errors, false) : (new Dictionary<string, string> { [RoleField] = refusedUnderLock }, false);
    }

    /// <summary>
    /// The one-partner rule at the form (<see cref="Household.HasPartnerAlreadyFor(HouseholdRole)"/>,
    /// <see cref="Household.HasPartnerInvitedFor"/>): the file's partner, or a partner invitation still open — two
    /// partners invited could both join. Null when the role may be invited.
    /// </summary>
    private async Task<string?> PartnerRefusalAsync(Household household, HouseholdRole role, CancellationToken cancellationToken) =>
        household.HasPartnerAlreadyFor(role)
            ? "Votre dossier compte déjà un(e) conjoint(e). Pour un changement de situation, faites une déclaration à votre Caf."
            : Household.HasPartnerInvitedFor(role, await OpenInvitationsAsync(household, cancellationToken))
                ? "Vous avez déjà invité un(e) conjoint(e) sur ce dossier. Son invitation reste valable 30 jours."
                : null;

    /// <summary>The invitation, its message and its audit line, added to the caller's transaction.</summary>
    private void AddInvitation(PersonAccount holder, Household household, HouseholdRole role, string birthName, string givenNames, DateOnly birthDate,
        ContactChannel channel, string contact)
    {
        var now = clock.GetUtcNow();
        var invitation = new HouseholdInvitation
        {
            HouseholdId = household.Id,
            Role = role,
            BirthName = birthName,
            GivenNames = givenNames,
            BirthDate = birthDate,
            Contact = contact,
            InvitedByPersonId = holder.Id,
            CreatedAt = now,
            ExpiresAt = now + HouseholdInvitation.Lifetime,
        };
        db.HouseholdInvitations.Add(invitation);
        outbox.Enqueue(new NotificationRequest(NotificationKind.HouseholdInvitation,
            channel == ContactChannel.Sms ? NotificationChannel.Sms : NotificationChannel.Email, contact,
            new Dictionary<string, string> { ["holder_name"] = $"{holder.GivenNames.Split(' ')[0]} {holder.FamilyName}", ["file_number"] = household.FileNumber },
            null, $"household-invitation:{invitation.Id}"));
        audit.Append(new AuditEntry(AuditEventTypes.HouseholdInvitationSent, role.ToClaimValue(), holder.Id,
            Details: $"file={household.FileNumber} channel={channel} invitation={invitation.Id}"));
    }
}
