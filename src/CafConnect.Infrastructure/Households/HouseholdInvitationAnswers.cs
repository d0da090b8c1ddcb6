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
/// two memberships be written from one invitation, or one from a voided invitation. Here:
/// <list type="number">
/// <item>on PostgreSQL the sender's membership row is locked (<c>FOR SHARE</c>): a separation deleting it waits for
/// this answer to end, or this answer waits for the separation and then finds the sender gone. On SQLite the
/// transaction already holds the write lock (its writers take turns);</item>
/// <item>the invitation is read again and <see cref="HouseholdInvitation.IsOpenAt"/> — the one rule — asked again;</item>
/// <item>it is marked accepted by an UPDATE conditional on being unanswered and on the expiry the answer read (a void
/// moves it to the void's time, which may still be later than the answer's own clock reading), whose affected rows are checked: of two concurrent answers, the second waits for the first's row lock
/// and then matches nothing.</item>
/// </list>
/// </remarks>
public static class HouseholdInvitationAnswers
{
    /// <summary>
    /// True when this call accepted the invitation (call it in a transaction, committed with the membership).
    /// <paramref name="expiresAtAsRead"/>: its expiry when the answer read it — a void since then moved it.
    /// </summary>
    public static async Task<bool> TryAcceptAsync(CafConnectDbContext db, Guid invitationId, DateTimeOffset expiresAtAsRead, Guid personId, DateTimeOffset now,
        CancellationToken cancellationToken)
    {
        if (db.Database.CurrentTransaction is null)
        {
            throw new InvalidOperationException("an invitation is accepted inside the transaction that writes its membership");
        }
        var sender = await db.HouseholdInvitations.AsNoTracking().Where(i => i.Id == invitationId)
            .Select(i => new { i.HouseholdId, i.InvitedByPersonId }).SingleOrDefaultAsync(cancellationToken);
        if (sender is null)
        {
            return false;
        }
        if (db.Database.IsNpgsql())
        {
            var membership = db.Model.FindEntityType(typeof(HouseholdMembership))!;
            var table = membership.GetTableName()!;
            var household = membership.FindProperty(nameof(HouseholdMembership.HouseholdId))!.GetColumnName();
            var person = membership.FindProperty(nameof(HouseholdMembership.PersonId))!.GetColumnName();
            // Names from the model, values as parameters.
            var lockSenderMembership = $"SELECT 1 AS \"Value\" FROM \"{table}\" WHERE \"{household}\" = {{0}} AND \"{person}\" = {{1}} FOR SHARE";
            await db.Database.SqlQueryRaw<int>(lockSenderMembership, sender.HouseholdId, sender.InvitedByPersonId).ToListAsync(cancellationToken);
        }
        var invitation = await db.HouseholdInvitations.AsNoTracking().WithFileAndSender().SingleOrDefaultAsync(i => i.Id == invitationId, cancellationToken);
        if (invitation is null || !invitation.IsOpenAt(now) || invitation.ExpiresAt != expiresAtAsRead)
        {
            return false;
        }
        return await db.HouseholdInvitations
            .Where(i => i.Id == invitationId && i.AcceptedAt == null && i.ExpiresAt == expiresAtAsRead)
            .ExecuteUpdateAsync(s => s.SetProperty(i => i.AcceptedAt, now).SetProperty(i => i.AcceptedByPersonId, personId), cancellationToken) == 1;
    }
}
