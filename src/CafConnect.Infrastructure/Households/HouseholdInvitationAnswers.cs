using CafConnect.Domain.Households;
using CafConnect.Infrastructure.Persistence;
using Microsoft.EntityFrameworkCore;

namespace CafConnect.Infrastructure.Households;

/// <summary>
/// The one write that accepts an invitation (docs/decisions.md #52): made inside the answer's transaction, it succeeds
/// for one answer only, and only while the invitation is still open at that moment — not merely when it was read.
/// </summary>
/// <remarks>
/// The answer reads the invitation, then writes the membership; between the two, another answer may accept it (two
/// accounts created for the same civil status and contact), a password recovery may void it, or its sender may lose
/// the file (a separation deletes their membership). Each of them commits on its own, so a check made at the read let
/// two memberships be written from one invitation, or one from a voided invitation — or, from two partner invitations
/// of one file accepted at once, two partners (decision 54). Here:
/// <list type="number">
/// <item>the file's row is locked (<see cref="RowLockMode.Update"/>: <c>FOR UPDATE</c> on PostgreSQL): another
/// acceptance on the file waits for this one to end, and so does any membership inserted into it (its foreign-key
/// check), or this answer waits for them;</item>
/// <item>the sender's membership row is locked (<see cref="RowLockMode.Share"/>: <c>FOR SHARE</c> on PostgreSQL): a
/// separation deleting it waits for this answer to end, or this answer waits for the separation and then finds the
/// sender gone. On SQLite the transaction already holds the write lock (its writers take turns);</item>
/// <item>the invitation is read again with its file's members and <see cref="HouseholdInvitation.IsOpenAt"/> — the one
/// rule — asked again, and the one-partner rule (<see cref="Household.HasPartnerAlreadyFor"/>);</item>
/// <item>it is marked accepted by an UPDATE conditional on being unanswered and on the expiry the answer read (a void
/// moves it to the void's time, which may still be later than the answer's own clock reading), whose affected rows are checked: of two concurrent answers, the second waits for the first's row lock
/// and then matches nothing.</item>
/// </list>
/// </remarks>
public static class HouseholdInvitationAnswers
{
    /// <summary>
    /// True when this call accepted the invitation (call it in a transaction, committed with the membership).
    /// <paramref name="asRead"/>: the invitation as the answer read it — its file and sender, whose rows are locked, and
    /// its expiry, which a void since then moved.
    /// </summary>
    public static async Task<bool> TryAcceptAsync(CafConnectDbContext db, InvitationAsRead asRead, Guid personId, DateTimeOffset now,
        CancellationToken cancellationToken)
    {
        if (db.Database.CurrentTransaction is null)
        {
            throw new InvalidOperationException("an invitation is accepted inside the transaction that writes its membership");
        }
        // The file's row first (decision 54): another acceptance, or a file event adding a member, waits for this answer
        // to end (a membership insert's foreign-key check conflicts with FOR UPDATE), or this one waits for it and then
        // reads its member.
        await RowLocks.LockAsync(db, typeof(Household), [(nameof(Household.Id), asRead.HouseholdId)], RowLockMode.Update, cancellationToken);
        await RowLocks.LockAsync(db, typeof(HouseholdMembership),
            [(nameof(HouseholdMembership.HouseholdId), asRead.HouseholdId), (nameof(HouseholdMembership.PersonId), asRead.InvitedByPersonId)],
            RowLockMode.Share, cancellationToken);
        // Read again after the lock: what is checked is the invitation as it is now.
        var invitation = await db.HouseholdInvitations.AsNoTracking().WithFileAndSender().SingleOrDefaultAsync(i => i.Id == asRead.Id, cancellationToken);
        if (invitation is null || invitation.HouseholdId != asRead.HouseholdId || invitation.InvitedByPersonId != asRead.InvitedByPersonId
            || !invitation.IsOpenAt(now) || invitation.ExpiresAt != asRead.ExpiresAt)
        {
            return false;
        }
        if (invitation.Household!.Members.All(m => m.PersonId != personId) && invitation.Household.HasPartnerAlreadyFor(invitation.Role))
        {
            // A partner joined the file since the answer read it (another partner invitation accepted meanwhile).
            return false;
        }
        return await db.HouseholdInvitations
            .Where(i => i.Id == asRead.Id && i.AcceptedAt == null && i.ExpiresAt == asRead.ExpiresAt)
            .ExecuteUpdateAsync(s => s.SetProperty(i => i.AcceptedAt, now).SetProperty(i => i.AcceptedByPersonId, personId), cancellationToken) == 1;
    }
}

/// <summary>An invitation as an answer read it: what its acceptance locks and compares.</summary>
public sealed record InvitationAsRead(Guid Id, Guid HouseholdId, Guid InvitedByPersonId, DateTimeOffset ExpiresAt)
{
    public static InvitationAsRead Of(HouseholdInvitation invitation) => new(invitation.Id, invitation.HouseholdId, invitation.InvitedByPersonId, invitation.ExpiresAt);
}
