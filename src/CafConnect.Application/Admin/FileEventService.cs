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
    INotificationOutbox outbox, AuditTrail audit, IdempotentAdminRequests idempotency, TimeProvider clock, PhoneChannel.FileCodeIssuer fileCodes)
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
        // The file's row locked first (on PostgreSQL; SQLite's writers take turns): the members read next are the file's
        // until the commit, for the one-partner and one-holder rules below (docs/decisions.md #54).
        await RowLocks.LockAsync(db, typeof(Household), [(nameof(Household.FileNumber), e.FileNumber!)], RowLockMode.Update, ct);
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
        if (household.HasHolderAlreadyFor(role))
        {
            return AdminResponse.Failure(AdminProblem.Conflict("file_has_allocataire", "The file already has an allocataire."));
        }
        if (household.HasPartnerAlreadyFor(role))
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
        var (childrenToNewFile, childrenRefusal) = await PlaceChildrenAsync(e, household, caller, ct);
        if (childrenRefusal is not null)
        {
            return childrenRefusal;
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
        var hadCode = HasCode(household);
        var resetFor = await ResetLegacyCodeAsync(household, e, caller, "separation", ct);

        household.Members.Remove(leaving);
        db.Memberships.Remove(leaving);
        staying.Role = HouseholdRole.Allocataire;
        staying.Delegated = false;
        var now = clock.GetUtcNow();
        var newFile = new Household { FileNumber = e.NewFileNumber!, CreatedAt = now };
        newFile.Members.Add(new HouseholdMembership { PersonId = leavingPerson!.Id, Role = HouseholdRole.Allocataire, JoinedAt = now });
        // Each child the event sends to the new file moves with the leaving partner; the others stay (issue 16, item 12).
        foreach (var child in childrenToNewFile)
        {
            household.Members.Remove(child);
            db.Memberships.Remove(child);
            newFile.Members.Add(new HouseholdMembership { PersonId = child.PersonId, Role = HouseholdRole.Enfant, JoinedAt = now });
        }
        db.Households.Add(newFile);

        await credentials.RevokeGrantsAsync(leavingPerson, ct, "separation");
        await db.SaveChangesAsync(ct);
        // Each resulting file gets its own new code by letter: the household keeps its phone access (issue 16, item 9).
        var codesSent = !hadCode ? 0
            : await NewFileCodeAsync(household, stayingPerson, PhoneChannel.FileCodeReason.Separation, e, caller, ct)
            + await NewFileCodeAsync(newFile, leavingPerson, PhoneChannel.FileCodeReason.Separation, e, caller, ct);

        var key = caller.IdempotencyKey("file-event", e.EventId!);
        outbox.EnqueueToVerifiedContact(leavingPerson, NotificationKind.SeparationRecorded, new Dictionary<string, string> { ["file_number"] = newFile.FileNumber }, key + $":{leavingPerson.Id:N}");
        outbox.EnqueueToVerifiedContact(stayingPerson, NotificationKind.SeparationRecorded, new Dictionary<string, string> { ["file_number"] = household.FileNumber }, key + $":{stayingPerson.Id:N}");
        await AuditAsync(e, caller, leavingPerson.Id,
            $"household={household.Id}; new_household={newFile.Id}; partner={stayingPerson.Id}; delegation_ended={(delegationEnded ? "yes" : "no")}; provisional_passwords={resetFor}; children_moved={childrenToNewFile.Count}; file_codes={codesSent}", ct);
        return Applied(e, new { file_number = household.FileNumber, new_file_number = newFile.FileNumber, delegation_ended = delegationEnded, provisional_passwords_sent = resetFor, children_moved = childrenToNewFile.Count, file_codes_sent = codesSent });
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
        var hadCode = HasCode(household);
        var resetFor = await ResetLegacyCodeAsync(household, e, caller, "mutation", ct);
        await db.SaveChangesAsync(ct);
        var holderMembership = household.Members.FirstOrDefault(m => m.Role == HouseholdRole.Allocataire);
        var holderOfFile = holderMembership is null ? null : await persons.FindByIdAsync(holderMembership.PersonId, ct);
        var codesSent = hadCode ? await NewFileCodeAsync(household, holderOfFile, PhoneChannel.FileCodeReason.Mutation, e, caller, ct) : 0;
        foreach (var member in household.Members.Where(m => LegacyCodeRoles.Contains(m.Role)))
        {
            var person = member.Person ?? await db.Persons.FirstAsync(p => p.Id == member.PersonId, ct);
            outbox.EnqueueToVerifiedContact(person, NotificationKind.FileTransferred, new Dictionary<string, string> { ["file_number"] = household.FileNumber },
                caller.IdempotencyKey("file-event", e.EventId!) + $":{person.Id:N}");
        }
        await AuditAsync(e, caller, null, $"household={household.Id}; provisional_passwords={resetFor}; file_codes={codesSent}", ct);
        return Applied(e, new { file_number = household.FileNumber, previous_file_number = e.FileNumber, provisional_passwords_sent = resetFor, file_codes_sent = codesSent });
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
    /// Issue 16, item 12: every child (<c>enfant</c>) of the file is named by the event with the file that keeps them.
    /// A child not named is <c>400 invalid_request</c> listing them by given names and birth date (the benefits system
    /// knows them; no identifier is echoed); a named person who is not a child of this file is <c>422 not_a_child</c>;
    /// a civil status that does not match the account is refused as for the event's person. Returns the memberships
    /// that move to the new file.
    /// </summary>
    private async Task<(List<HouseholdMembership> ToNewFile, AdminResponse? Refusal)> PlaceChildrenAsync(FileEventRequest e, Household household, AdminCaller caller, CancellationToken ct)
    {
        var children = household.Members.Where(m => m.Role == HouseholdRole.Enfant).ToList();
        var placed = new List<(HouseholdMembership Child, bool ToNewFile)>();
        foreach (var (placement, index) in (e.Children ?? []).Select((c, i) => (c, i)))
        {
            var lookup = await persons.FindSamePersonAsync(placement.Person!.Identifier(), placement.Person.CivilStatus(), ct);
            if (lookup.IsMismatch)
            {
                return ([], AdminResponse.Failure(AdminProblem.CivilStatusMismatch($"children[{index}].person")) with
                {
                    RefusalAudit = new AuditEntry(AuditEventTypes.IdentityMismatchRefused, e.Type, lookup.Mismatch!.Id, caller.ClientId, $"event={e.EventId}; {caller.AuditDetails}"),
                });
            }
            var child = lookup.Person is null ? null : children.FirstOrDefault(m => m.PersonId == lookup.Person.Id);
            if (child is null || placed.Any(p => p.Child == child))
            {
                return ([], AdminResponse.Failure(AdminProblem.Unprocessable("not_a_child",
                    $"children[{index}] is not a child (enfant) of this file, or is named twice.")));
            }
            placed.Add((child, placement.FileNumber == e.NewFileNumber));
        }
        var unnamed = children.Where(c => placed.All(p => p.Child != c)).ToList();
        if (unnamed.Count > 0)
        {
            var list = new List<string>();
            foreach (var child in unnamed)
            {
                var person = await persons.FindByIdAsync(child.PersonId, ct);
                list.Add($"not named: {person?.GivenNames}, born {person?.BirthDate:yyyy-MM-dd}");
            }
            return ([], AdminResponse.Failure(AdminProblem.Invalid(new Dictionary<string, string[]>
            {
                ["children"] = ["every child (enfant) of the file must be named with the file that keeps them", .. list],
            })));
        }
        return ([.. placed.Where(p => p.ToNewFile).Select(p => p.Child)], null);
    }

    /// <summary>
    /// Seed 000: on a separation or a mutation the file's shared 8-digit code is changed. It is erased; whoever on the
    /// file still signed in with it (no password of their own yet) gets a provisional password (SMS to a verified
    /// mobile, else a letter) to be replaced at their first login. Returns how many were sent.
    /// </summary>
    private async Task<int> ResetLegacyCodeAsync(Household household, FileEventRequest e, AdminCaller caller, string reason, CancellationToken ct)
    {
        if (!HasCode(household))
        {
            return 0;
        }
        household.LegacySecretHash = null;
        household.PendingLegacySecretHash = null;
        household.PendingLegacySecretIssuedAt = null;
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

    private static bool HasCode(Household household) => household.LegacySecretHash is not null || household.PendingLegacySecretHash is not null;

    /// <summary>
    /// A file that had a shared code gets a new one by letter to its holder (<see cref="PhoneChannel.FileCodeIssuer"/>,
    /// the one rule), unless the shared code is retired. Returns 1 when sent.
    /// </summary>
    private async Task<int> NewFileCodeAsync(Household file, PersonAccount? holder, PhoneChannel.FileCodeReason reason, FileEventRequest e, AdminCaller caller, CancellationToken ct)
    {
        var issued = await fileCodes.IssueAsync(file, holder, reason, caller.IdempotencyKey("file-event", e.EventId!) + $":file-code:{file.Id:N}", ct);
        return issued.Issued ? 1 : 0;
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
