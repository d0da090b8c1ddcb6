using CafConnect.Domain.Households;
using Microsoft.EntityFrameworkCore;

namespace CafConnect.Infrastructure.Households;

/// <summary>How invitations are read wherever they are shown, counted or answered.</summary>
public static class HouseholdInvitationQueries
{
    /// <summary>
    /// With what <see cref="HouseholdInvitation.IsOpenAt"/> reads: the file, its members and their accounts (is the sender
    /// still the file's holder, with an open account?). Without them an invitation reads as closed.
    /// </summary>
    public static IQueryable<HouseholdInvitation> WithFileAndSender(this IQueryable<HouseholdInvitation> invitations) =>
        invitations.Include(i => i.Household).ThenInclude(h => h!.Members).ThenInclude(m => m.Person).AsSplitQuery();
}
