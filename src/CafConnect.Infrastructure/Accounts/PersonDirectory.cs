using CafConnect.Domain.Accounts;
using CafConnect.Domain.Households;
using CafConnect.Domain.Identity;
using CafConnect.Domain.Passwords;
using CafConnect.Infrastructure.Persistence;
using Microsoft.EntityFrameworkCore;

namespace CafConnect.Infrastructure.Accounts;

/// <summary>
/// Finds person accounts; always loads their files and the roles of everyone on them (not their accounts): every claim
/// set needs the files, and the login's required actions need to know who lives as a couple.
/// </summary>
public sealed class PersonDirectory(CafConnectDbContext db)
{
    // One round trip (a single query), not four: a person holds a few files of a few members and a few pending actions,
    // so the joined rows stay few, while each extra round trip of a split query cost the login POST measurable CPU
    // (bench/README.md, "Login POST: where the CPU goes").
    private IQueryable<PersonAccount> WithFiles => db.Persons
        .Include(p => p.Memberships).ThenInclude(m => m.Household).ThenInclude(h => h!.Members)
        .Include(p => p.RequiredActions)
        .AsSingleQuery();

    /// <summary>Everyone on the person's files (themselves included): the password rules check all their birth dates and phones.</summary>
    public async Task<IReadOnlyList<PersonAccount>> HouseholdMembersOfAsync(PersonAccount person, CancellationToken cancellationToken = default)
    {
        var householdIds = person.Memberships.Select(m => m.HouseholdId).ToList();
        return await db.Persons.Where(p => p.Memberships.Any(m => householdIds.Contains(m.HouseholdId))).ToListAsync(cancellationToken);
    }

    /// <summary>Everyone on file <paramref name="householdId"/>, untracked (the contact rule reads them).</summary>
    public async Task<IReadOnlyList<PersonAccount>> MembersOfFileAsync(Guid householdId, CancellationToken cancellationToken = default) =>
        await db.Persons.AsNoTracking().Where(p => p.Memberships.Any(m => m.HouseholdId == householdId)).ToListAsync(cancellationToken);

    /// <summary>
    /// What the person's file knows (NIR, file numbers, every member's birth date and mobile): the facts a new password
    /// or a provisional one must not be built from. One place for the first login, recovery and the agents' tool.
    /// </summary>
    public async Task<PasswordContext> PasswordContextOfAsync(PersonAccount person, CancellationToken cancellationToken = default)
    {
        var members = await HouseholdMembersOfAsync(person, cancellationToken);
        return new PasswordContext
        {
            Nir = person.Nir is not null && Nir.TryParse(person.Nir, out var nir, out _) ? nir : null,
            FileNumbers = person.Memberships.Where(m => m.Household is not null).Select(m => m.Household!.FileNumber).ToList(),
            BirthDates = members.Append(person).Where(m => m.BirthDate is not null).Select(m => m.BirthDate!.Value).Distinct().ToList(),
            PhoneNumbers = members.Append(person).Where(m => m.MobilePhone is not null).Select(m => m.MobilePhone!).Distinct().ToList(),
        };
    }

    /// <summary>A NIR or a provisional identifier, as <see cref="LoginIdentifier"/> parsed it.</summary>
    public Task<PersonAccount?> FindByLoginIdentifierAsync(LoginIdentifier identifier, CancellationToken cancellationToken = default) =>
        identifier.Kind == LoginIdentifierKind.Nir ? FindByNirAsync(identifier.Value, cancellationToken) : FindByProvisionalIdAsync(identifier.Value, cancellationToken);

    /// <summary>
    /// The one way the agency's systems find a person (applications, file events, the CLI): by identifier, and — when
    /// the request states a civil status — only if it is the same person (<see cref="CivilStatusMatching.IsSamePerson"/>).
    /// A NIR alone is not proof: a record found with another civil status is reported as a mismatch, never returned as
    /// the person, so nothing is attached to it.
    /// </summary>
    public async Task<PersonLookup> FindSamePersonAsync(LoginIdentifier identifier, CivilStatusClaim? claim, CancellationToken cancellationToken = default)
    {
        var found = await FindByLoginIdentifierAsync(identifier, cancellationToken);
        if (found is null)
        {
            return PersonLookup.NotFound;
        }
        return claim is null || CivilStatusMatching.IsSamePerson(found, claim) ? new PersonLookup(found, null) : new PersonLookup(null, found);
    }

    /// <summary>Open accounts with a provisional identifier born that day (the few candidates of "Identifiant provisoire oublié ?").</summary>
    public async Task<IReadOnlyList<PersonAccount>> ProvisionalHoldersBornOnAsync(DateOnly birthDate, CancellationToken cancellationToken = default) =>
        await db.Persons.Where(p => p.ProvisionalId != null && p.BirthDate == birthDate && p.ClosedAt == null).ToListAsync(cancellationToken);

    public Task<PersonAccount?> FindByNirAsync(string normalisedNir, CancellationToken cancellationToken = default) =>
        WithFiles.FirstOrDefaultAsync(p => p.Nir == normalisedNir, cancellationToken);

    public Task<PersonAccount?> FindByProvisionalIdAsync(string provisionalId, CancellationToken cancellationToken = default) =>
        WithFiles.FirstOrDefaultAsync(p => p.ProvisionalId == provisionalId, cancellationToken);

    public Task<PersonAccount?> FindBySubjectAsync(string subject, CancellationToken cancellationToken = default) =>
        WithFiles.FirstOrDefaultAsync(p => p.Subject == subject, cancellationToken);

    /// <summary>
    /// A person with their files, read-only, in one round trip: what the claims need at every token and userinfo request
    /// (CafClaims.Release reads the files, their state and the person's role), fresh from the store each time, untracked.
    /// <see cref="WithFiles"/>'s other members and required actions are for the login, not for tokens.
    /// </summary>
    public Task<PersonAccount?> FindForClaimsAsync(string subject, CancellationToken cancellationToken = default) =>
        ForClaims.FirstOrDefaultAsync(p => p.Subject == subject, cancellationToken);

    /// <summary>
    /// <see cref="FindForClaimsAsync(string, CancellationToken)"/> by the id a session names: what the authorization
    /// endpoint needs to issue a code (one round trip, untracked, without the login's other members and required actions).
    /// </summary>
    public Task<PersonAccount?> FindForClaimsAsync(Guid id, CancellationToken cancellationToken = default) =>
        ForClaims.FirstOrDefaultAsync(p => p.Id == id, cancellationToken);

    private IQueryable<PersonAccount> ForClaims => db.Persons.AsNoTracking()
        .Include(p => p.Memberships).ThenInclude(m => m.Household)
        .AsSingleQuery();

    public Task<PersonAccount?> FindByIdAsync(Guid id, CancellationToken cancellationToken = default) =>
        WithFiles.FirstOrDefaultAsync(p => p.Id == id, cancellationToken);

    /// <summary>
    /// A file by its number, with its members' accounts (and their files, for the claims): the phone channel names a file,
    /// not a person. Null when no file has that number.
    /// </summary>
    public Task<Household?> FindFileAsync(string fileNumber, CancellationToken cancellationToken = default) =>
        db.Households
            .Include(h => h.Members).ThenInclude(m => m.Person!).ThenInclude(p => p.Memberships).ThenInclude(m => m.Household)
            .AsSplitQuery()
            .FirstOrDefaultAsync(h => h.FileNumber == fileNumber, cancellationToken);
}

/// <summary>
/// What <see cref="PersonDirectory.FindSamePersonAsync"/> found: the person, nobody, or a record with this identifier
/// whose civil status differs (<see cref="Mismatch"/>, kept only to audit the refusal).
/// </summary>
public sealed record PersonLookup(PersonAccount? Person, PersonAccount? Mismatch)
{
    public static readonly PersonLookup NotFound = new(null, null);

    public bool IsMismatch => Mismatch is not null;
}
