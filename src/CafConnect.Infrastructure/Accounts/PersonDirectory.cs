using CafConnect.Domain.Accounts;
using CafConnect.Infrastructure.Persistence;
using Microsoft.EntityFrameworkCore;

namespace CafConnect.Infrastructure.Accounts;

/// <summary>
/// Finds person accounts; always loads their files and the roles of everyone on them (not their accounts): every claim
/// set needs the files, and the login's required actions need to know who lives as a couple.
/// </summary>
public sealed class PersonDirectory(CafConnectDbContext db)
{
    private IQueryable<PersonAccount> WithFiles => db.Persons
        .Include(p => p.Memberships).ThenInclude(m => m.Household).ThenInclude(h => h!.Members)
        .Include(p => p.RequiredActions)
        .AsSplitQuery();

    /// <summary>Everyone on the person's files (themselves included): the password rules check all their birth dates and phones.</summary>
    public async Task<IReadOnlyList<PersonAccount>> HouseholdMembersOfAsync(PersonAccount person, CancellationToken cancellationToken = default)
    {
        var householdIds = person.Memberships.Select(m => m.HouseholdId).ToList();
        return await db.Persons.Where(p => p.Memberships.Any(m => householdIds.Contains(m.HouseholdId))).ToListAsync(cancellationToken);
    }

    public Task<PersonAccount?> FindByNirAsync(string normalisedNir, CancellationToken cancellationToken = default) =>
        WithFiles.FirstOrDefaultAsync(p => p.Nir == normalisedNir, cancellationToken);

    public Task<PersonAccount?> FindByProvisionalIdAsync(string provisionalId, CancellationToken cancellationToken = default) =>
        WithFiles.FirstOrDefaultAsync(p => p.ProvisionalId == provisionalId, cancellationToken);

    public Task<PersonAccount?> FindBySubjectAsync(string subject, CancellationToken cancellationToken = default) =>
        WithFiles.FirstOrDefaultAsync(p => p.Subject == subject, cancellationToken);

    public Task<PersonAccount?> FindByIdAsync(Guid id, CancellationToken cancellationToken = default) =>
        WithFiles.FirstOrDefaultAsync(p => p.Id == id, cancellationToken);

    public async Task SaveAsync(PersonAccount person, CancellationToken cancellationToken = default)
    {
        person.ConcurrencyStamp = Guid.NewGuid();
        await db.SaveChangesAsync(cancellationToken);
    }
}
