using CafConnect.Domain.Accounts;
using CafConnect.Domain.Households;
using CafConnect.Domain.Identity;
using CafConnect.Infrastructure.Accounts;
using CafConnect.Infrastructure.Audit;
using CafConnect.Infrastructure.Households;
using CafConnect.Infrastructure.Notifications;
using CafConnect.Infrastructure.Persistence;
using CafConnect.Application.Credentials;
using Microsoft.EntityFrameworkCore;

namespace CafConnect.Application.Admin;

/// <summary>
/// Applies the benefits system's file events (docs/admin-api.md), for the admin API and the CLI alike: each once per
/// event id (<see cref="IdempotentAdminRequests"/>), audited with internal ids only, in one transaction with its
/// revocations and messages.
/// </summary>
public sealed class FileEventService(
    CafConnectDbContext db, PersonDirectory persons, DelegationService delegations, CredentialReset credentials,
    INotificationOutbox outbox, AuditTrail audit, IdempotentAdminRequests idempotency, TimeProvider clock)
{
    private static readonly FileEventRequestValidator Validator = new();

    public async Task<AdminResponse> ApplyAsync(FileEventRequest request, AdminCaller caller, CancellationToken cancellationToken)
    {
        var validation = await Validator.ValidateAsync(request, cancellationToken);
        if (!validation.IsValid)
        {
            return AdminResponse.Failure(AdminProblem.Invalid(validation));
        }
        return await idempotency.RunAsync(caller.IdempotencyKey("file-event", request.EventId!), AdminJson.PayloadHash(request),
            ct => ApplyOnceAsync(request, caller, ct), cancellationToken);
    }

    private Task<AdminResponse> ApplyOnceAsync(FileEventRequest e, AdminCaller caller, CancellationToken ct) => e.Type switch
    {
        FileEventTypes.PersonAdded => PersonAddedAsync(e, caller, ct),
        FileEventTypes.PersonRemoved => PersonRemovedAsync(e, caller, ct),
        FileEventTypes.Separation => SeparationAsync(e, caller, ct),
        FileEventTypes.Mutation => MutationAsync(e, caller, ct),
        FileEventTypes.NirAttached => NirAttachedAsync(e, caller, ct),
        FileEventTypes.Death => DeathAsync(e, caller, ct),
        FileEventTypes.FileOpened => FileOpenedAsync(e, caller, ct),
        _ => throw new InvalidOperationException("validated type"),
    };

    private async Task<AdminResponse> PersonAddedAsync(FileEventRequest e, AdminCaller caller, CancellationToken ct)
    {
        if (await FileAsync(e.FileNumber!, ct) is not { } household)
        {
            return UnknownFile();
        }
        var role = FileEventRequest.Roles[e.Role!];
        var (person, mismatch) = await FindAsync(e, caller, ct);
        if (mismatch is not null)
        {
            return mismatch;
        }
        var created = false;
        if (person is null)
        {
            if (!e.Person!.HasCivilStatus)
            {
                return AdminResponse.Failure(AdminProblem.Unprocessable("unknown_person",
                    "No account has this identifier; give the person's civility, birth_name, given_names and birth_date to register them."));
            }
            person = NewPerson(e.Person);
            db.Persons.Add(person);
            created = true;
        }
        else if (person.IsClosed)
        {
            return ClosedAccount();
        }
        if (household.Members.Any(m => m.PersonId == person.Id))
        {
            return AdminResponse.Failure(AdminProblem.Conflict("already_member", "The person is already on this file."));
        }
        if (role == HouseholdRole.Allocataire && household.Members.Any(m => m.Role == HouseholdRole.Allocataire))
        {
            return AdminResponse.Failure(AdminProblem.Conflict("file_has_allocataire", "The file already has an allocataire."));
        }
        if (role is HouseholdRole.Conjoint or HouseholdRole.ConjointAllocataire && household.Members.Any(m => m.Role is HouseholdRole.Conjoint or HouseholdRole.ConjointAllocataire))
        {
            return AdminResponse.Failure(AdminProblem.Conflict("file_has_partner", "The file already has a partner; record the separation first."));
        }
        // Added explicitly: found through the tracked file's collection, a membership whose key is already set would be
        // taken for an existing row.
        db.Memberships.Add(new HouseholdMembership { HouseholdId = household.Id, Household = household, Person = person, PersonId = person.Id, Role = role, JoinedAt = clock.GetUtcNow() });
        await AuditAsync(e, caller, person.Id, $"household={household.Id}; role={role.ToClaimValue()}; account_created={(created ? "yes" : "no")}", ct);
        return Applied(e, new { file_number = household.FileNumber });
    }

    private async Task<AdminResponse> PersonRemovedAsync(FileEventRequest e, AdminCaller caller, CancellationToken ct)
    {
        if (await FileAsync(e.FileNumber!, ct) is not { } household)
        {
            return UnknownFile();
        }
        var (person, mismatch) = await FindAsync(e, caller, ct);
        if (mismatch is not null)
        {
            return mismatch;
        }
        var membership = person is null ? null : household.Members.FirstOrDefault(m => m.PersonId == person.Id);
        if (membership is null)
        {
            return AdminResponse.Failure(AdminProblem.Unprocessable("not_a_member", "The person is not on this file."));
        }
        if (membership.Role == HouseholdRole.Allocataire)
        {
            return AdminResponse.Failure(AdminProblem.Conflict("allocataire_cannot_be_removed",
                "The allocataire cannot be removed from their file; send a separation, a death or a new file instead."));
        }
        household.Members.Remove(membership);
        db.Memberships.Remove(membership);
        // The tokens the person holds were issued while the file was theirs.
        await credentials.RevokeGrantsAsync(person!, ct, "removed_from_file");
        await AuditAsync(e, caller, person!.Id, $"household={household.Id}; role={membership.Role.ToClaimValue()}", ct);
        return Applied(e, new { file_number = household.FileNumber });
    }

    /// <summary>
    /// The partners split into two files: the leaving one becomes the allocataire of <c>new_file_number</c>, the other
    /// stays on (or becomes the allocataire of) the old file; the delegation ends (both told, as « Mes autorisations »
    /// does), the leaving partner's grants are revoked, the shared legacy code is reset (seed 000) and both are told.
    /// Children stay on the old file; moving one is a person_removed then a person_added.
    /// </summary>
    private async Task<AdminResponse> SeparationAsync(FileEventRequest e, AdminCaller caller, CancellationToken ct)
    {
        if (await FileAsync(e.FileNumber!, ct) is not { } household)
        {
            return UnknownFile();
        }
        var (leavingPerson, mismatch) = await FindAsync(e, caller, ct);
        if (mismatch is not null)
        {
            return mismatch;
        }
        var couple = household.Members.Where(m => m.Role is HouseholdRole.Allocataire or HouseholdRole.Conjoint or HouseholdRole.ConjointAllocataire).ToList();
        var leaving = leavingPerson is null ? null : couple.FirstOrDefault(m => m.PersonId == leavingPerson.Id);
        if (leaving is null || couple.Count != 2)
        {
            return AdminResponse.Failure(AdminProblem.Unprocessable("not_a_couple", "The person is not one of the two partners of this file."));
        }
        var staying = couple.Single(m => m != leaving);
        if (await db.Households.AnyAsync(h => h.FileNumber == e.NewFileNumber, ct))
        {
            return AdminResponse.Failure(AdminProblem.Conflict("file_number_taken", "new_file_number is already used by another file."));
        }

        // The delegation ends through the holder's own path, so both are told as for « Mes autorisations ».
        var partnerMembership = couple.Single(m => m.Role != HouseholdRole.Allocataire);
        var holderMembership = couple.Single(m => m.Role == HouseholdRole.Allocataire);
        var delegationEnded = partnerMembership.Delegated;
        var stayingPerson = (await persons.FindByIdAsync(staying.PersonId, ct))!;
        if (delegationEnded)
        {
            var holder = (await persons.FindByIdAsync(holderMembership.PersonId, ct))!;
            await delegations.ChooseAsync(holder, household.FileNumber, grant: false, caller.ClientId, ct);
        }
        // Both partners may still depend on the shared code: reset it while both are on the file.
        var resetFor = await ResetLegacyCodeAsync(household, e, caller, "separation", ct);

        household.Members.Remove(leaving);
        db.Memberships.Remove(leaving);
        staying.Role = HouseholdRole.Allocataire;
        staying.Delegated = false;
        var now = clock.GetUtcNow();
        var newFile = new Household { FileNumber = e.NewFileNumber!, CreatedAt = now };
        newFile.Members.Add(new HouseholdMembership { PersonId = leavingPerson!.Id, Role = HouseholdRole.Allocataire, JoinedAt = now });
        db.Households.Add(newFile);

        await credentials.RevokeGrantsAsync(leavingPerson, ct, "separation");
        await db.SaveChangesAsync(ct);

        var key = caller.IdempotencyKey("file-event", e.EventId!);
        outbox.EnqueueToVerifiedContact(leavingPerson, NotificationKind.SeparationRecorded, new Dictionary<string, string> { ["file_number"] = newFile.FileNumber }, key + $":{leavingPerson.Id:N}");
        outbox.EnqueueToVerifiedContact(stayingPerson, NotificationKind.SeparationRecorded, new Dictionary<string, string> { ["file_number"] = household.FileNumber }, key + $":{stayingPerson.Id:N}");
        await AuditAsync(e, caller, leavingPerson.Id,
            $"household={household.Id}; new_household={newFile.Id}; partner={stayingPerson.Id}; delegation_ended={(delegationEnded ? "yes" : "no")}; provisional_passwords={resetFor}", ct);
        return Applied(e, new { file_number = household.FileNumber, new_file_number = newFile.FileNumber, delegation_ended = delegationEnded, provisional_passwords_sent = resetFor });
    }

    private async Task<AdminResponse> MutationAsync(FileEventRequest e, AdminCaller caller, CancellationToken ct)
    {
        if (await FileAsync(e.FileNumber!, ct) is not { } household)
        {
            return UnknownFile();
        }
        if (await db.Households.AnyAsync(h => h.FileNumber == e.NewFileNumber, ct))
        {
            return AdminResponse.Failure(AdminProblem.Conflict("file_number_taken", "new_file_number is already used by another file."));
        }
        household.FileNumber = e.NewFileNumber!;
        var resetFor = await ResetLegacyCodeAsync(household, e, caller, "mutation", ct);
        await db.SaveChangesAsync(ct);
        foreach (var member in household.Members.Where(m => LegacyCodeRoles.Contains(m.Role)))
        {
            var person = member.Person ?? await db.Persons.FirstAsync(p => p.Id == member.PersonId, ct);
            outbox.EnqueueToVerifiedContact(person, NotificationKind.FileTransferred, new Dictionary<string, string> { ["file_number"] = household.FileNumber },
                caller.IdempotencyKey("file-event", e.EventId!) + $":{person.Id:N}");
        }
        await AuditAsync(e, caller, null, $"household={household.Id}; provisional_passwords={resetFor}", ct);
        return Applied(e, new { file_number = household.FileNumber, previous_file_number = e.FileNumber, provisional_passwords_sent = resetFor });
    }

    private async Task<AdminResponse> NirAttachedAsync(FileEventRequest e, AdminCaller caller, CancellationToken ct)
    {
        var (person, mismatch) = await FindAsync(e, caller, ct);
        if (mismatch is not null)
        {
            return mismatch;
        }
        if (person is null)
        {
            return AdminResponse.Failure(AdminProblem.Unprocessable("unknown_person", "No account has this provisional identifier."));
        }
        if (person.IsClosed)
        {
            return ClosedAccount();
        }
        Nir.TryParse(e.Nir, out var nir, out _);
        if (await db.Persons.AnyAsync(p => p.Nir == nir.Value && p.Id != person.Id, ct))
        {
            return AdminResponse.Failure(AdminProblem.Conflict("nir_taken", "Another account already has this NIR; the two accounts must be merged by an agent."));
        }
        // Same account, same subject and history: only the login changes. The provisional identifier stops working at
        // once (login, « Identifiant provisoire oublié ? »).
        person.Nir = nir.Value;
        person.ProvisionalId = null;
        person.ConcurrencyStamp = Guid.NewGuid();
        outbox.EnqueueToVerifiedContact(person, NotificationKind.NirAttached, new Dictionary<string, string>(), caller.IdempotencyKey("file-event", e.EventId!));
        await AuditAsync(e, caller, person.Id, null, ct);
        return Applied(e, new { });
    }

    private async Task<AdminResponse> DeathAsync(FileEventRequest e, AdminCaller caller, CancellationToken ct)
    {
        var (person, mismatch) = await FindAsync(e, caller, ct);
        if (mismatch is not null)
        {
            return mismatch;
        }
        if (person is null)
        {
            return AdminResponse.Failure(AdminProblem.Unprocessable("unknown_person", "No account has this identifier."));
        }
        if (!person.IsClosed)
        {
            person.ClosedAt = clock.GetUtcNow();
            person.ConcurrencyStamp = Guid.NewGuid();
            await credentials.RevokeGrantsAsync(person, ct, "death");
            audit.Append(new AuditEntry(AuditEventTypes.AccountClosed, "death", person.Id, caller.ClientId, caller.AuditDetails));
        }
        await AuditAsync(e, caller, person.Id, null, ct);
        return Applied(e, new { });
    }

    private async Task<AdminResponse> FileOpenedAsync(FileEventRequest e, AdminCaller caller, CancellationToken ct)
    {
        if (await FileAsync(e.FileNumber!, ct) is not { } household)
        {
            return UnknownFile();
        }
        household.Pending = false;
        await AuditAsync(e, caller, null, $"household={household.Id}", ct);
        return Applied(e, new { file_number = household.FileNumber });
    }

    /// <summary>
    /// Seed 000: on a separation or a mutation the file's shared 8-digit code is changed. It is erased; whoever on the
    /// file still signed in with it (no password of their own yet) gets a provisional password (SMS to a verified
    /// mobile, else a letter) to be replaced at their first login. Returns how many were sent.
    /// </summary>
    private async Task<int> ResetLegacyCodeAsync(Household household, FileEventRequest e, AdminCaller caller, string reason, CancellationToken ct)
    {
        if (household.LegacySecretHash is null)
        {
            return 0;
        }
        household.LegacySecretHash = null;
        audit.Append(new AuditEntry(AuditEventTypes.LegacyCodeReset, reason, null, null, $"household={household.Id}; event={e.EventId}"));
        var sent = 0;
        foreach (var member in household.Members.Where(m => LegacyCodeRoles.Contains(m.Role)).ToList())
        {
            var person = await persons.FindByIdAsync(member.PersonId, ct);
            if (person is null || person.IsClosed || person.PasswordHash is not null)
            {
                continue;
            }
            await credentials.IssueProvisionalPasswordAsync(person, caller.IdempotencyKey("file-event", e.EventId!) + $":password:{person.Id:N}", ct);
            audit.Append(new AuditEntry(AuditEventTypes.ProvisionalPasswordIssued, reason, person.Id, null, $"by=file_event; event={e.EventId}"));
            sent++;
        }
        return sent;
    }

    private Task<Household?> FileAsync(string fileNumber, CancellationToken ct) =>
        db.Households.Include(h => h.Members).FirstOrDefaultAsync(h => h.FileNumber == fileNumber, ct);

    /// <summary>
    /// The event's person, found by identifier and, when the event states a civil status, only if it is the same person
    /// (<see cref="PersonDirectory.FindSamePersonAsync"/>); a mismatch is a refusal, audited, never a merge.
    /// </summary>
    private async Task<(PersonAccount? Person, AdminResponse? Refusal)> FindAsync(FileEventRequest e, AdminCaller caller, CancellationToken ct)
    {
        var lookup = await persons.FindSamePersonAsync(e.Person!.Identifier(), e.Person.CivilStatus(), ct);
        if (!lookup.IsMismatch)
        {
            return (lookup.Person, null);
        }
        return (null, AdminResponse.Failure(AdminProblem.CivilStatusMismatch("person")) with
        {
            RefusalAudit = new AuditEntry(AuditEventTypes.IdentityMismatchRefused, e.Type, lookup.Mismatch!.Id, caller.ClientId, $"event={e.EventId}; {caller.AuditDetails}"),
        });
    }

    private PersonAccount NewPerson(PersonReference reference)
    {
        var identifier = reference.Identifier();
        return new PersonAccount
        {
            Nir = identifier.Kind == LoginIdentifierKind.Nir ? identifier.Value : null,
            ProvisionalId = identifier.Kind == LoginIdentifierKind.Provisional ? identifier.Value : null,
            Civility = PersonReference.ParseCivility(reference.Civility)!.Value,
            BirthName = reference.BirthName!.Trim().ToUpperInvariant(),
            UsageName = reference.UsageName?.Trim().ToUpperInvariant(),
            GivenNames = reference.GivenNames!.Trim(),
            BirthDate = PersonReference.ParseDate(reference.BirthDate),
            CreatedAt = clock.GetUtcNow(),
            CredentialKind = CredentialKind.None,
        };
    }

    /// <summary>Appended to the request's transaction (<see cref="IdempotentAdminRequests"/> commits it once).</summary>
    private Task AuditAsync(FileEventRequest e, AdminCaller caller, Guid? personId, string? details, CancellationToken ct)
    {
        audit.Append(new AuditEntry(AuditEventTypes.FileEventApplied, e.Type, personId, caller.ClientId,
            $"event={e.EventId}; {caller.AuditDetails}" + (details is null ? string.Empty : "; " + details)));
        return Task.CompletedTask;
    }

    private static AdminResponse Applied(FileEventRequest e, object result) =>
        AdminResponse.Success(200, new { event_id = e.EventId, type = e.Type, status = "applied", result });

    private static AdminResponse UnknownFile() =>
        AdminResponse.Failure(AdminProblem.Unprocessable("unknown_file", "No file has this file_number."));

    private static AdminResponse ClosedAccount() =>
        AdminResponse.Failure(AdminProblem.Unprocessable("closed_account", "The person's account is closed."));
}
