using CafConnect.Domain.Accounts;
using CafConnect.Infrastructure.Persistence;
using CafConnect.Infrastructure.Sessions;
using Microsoft.EntityFrameworkCore;

namespace CafConnect.Application.Credentials;

/// <summary>
/// The one answer to « what does a new secret revoke? » (docs/decisions.md #17, docs/security.md « Password setting »).
/// Whenever the secret that opens an account changes — a personal password set (first login, recovery, account
/// creation, « Changer mon mot de passe »), or a provisional password used for the first time (it replaces the old
/// secret) —, everything obtained with the old secret ends:
/// <list type="number">
/// <item>every OpenIddict authorization and token of the person, for every client (refresh tokens die at once,
/// access tokens at their next introspection; they live 5 minutes);</item>
/// <item>every provider session of the person, except the one the person is using to make the change when they keep it
/// (« Changer mon mot de passe » ends the others, not this one);</item>
/// <item>the personal phone code (docs/decisions.md #25), chosen with the old password, unless the change is made from
/// the person's own open session with their current password (« Changer mon mot de passe »): after a recovery, a
/// provisional password or an incident, whoever held the old password must not keep the phone channel.</item>
/// <item>on the same terms, the « Mon foyer » invitations the person sent and nobody has answered yet: whoever held the old
/// password may have sent them, with a made-up civil status and a contact of their own, to place someone on the person's
/// file once the password is back in its owner's hands (adversarial review, 5 December 2026, fourth session). The
/// holder sends them again if they were theirs.</item>
/// <item>every journey of the person still open in any browser (first-login steps, recovery…) but the one making the
/// change: a login with the old password that stopped at a step (the contact step, the terms) would otherwise open a
/// session once finished — after the change, so the session check finds nothing stale (adversarial review, 6 December
/// 2026, eighth session; docs/decisions.md #59).</item>
/// </list>
/// Sending a provisional password changes nothing here: the current secret keeps working until the provisional one is
/// first used (docs/security.md, item 9 of the review), so nothing is revoked before then.
/// </summary>
public sealed class PasswordSettingPolicy(CredentialReset grants, SessionRegistry sessions, Infrastructure.Audit.AuditTrail audit, CafConnectDbContext db,
    TimeProvider clock)
{
    public const string PasswordReplacedReason = "password_replaced";

    /// <param name="keepSessionId">The session making the change, when it stays open; null ends them all.</param>
    /// <param name="keepFlowId">The journey making the change (it goes on to its end); null ends them all.</param>
    public async Task RevokeAsync(PersonAccount person, string? keepSessionId, CancellationToken cancellationToken, string? keepFlowId = null)
    {
        await sessions.EndAllOfPersonAsync(person.Id, keepSessionId, SessionRegistry.EndedByPasswordChange, cancellationToken);
        await VoidOtherJourneysAsync(person, keepFlowId, cancellationToken);
        await grants.RevokeGrantsAsync(person, cancellationToken, PasswordReplacedReason);
        if (keepSessionId is null && person.PhoneCodeHash is not null)
        {
            person.PhoneCodeHash = null;
            person.PhoneCodeSetAt = null;
            audit.Append(new Infrastructure.Audit.AuditEntry(Infrastructure.Audit.AuditEventTypes.PhoneCodeSet, "revoked", person.Id, Details: "reason=" + PasswordReplacedReason));
        }
        if (keepSessionId is null)
        {
            await VoidOpenInvitationsAsync(person, cancellationToken);
        }
    }

    /// <summary>
    /// Voids the person's journeys still open, but <paramref name="keepFlowId"/>: whatever step they were left at, the
    /// next page finds them ended (as after an incident revocation, which voids flows the same way). A step of one of
    /// them in flight still loses at its commit: the sign-in's commit refuses a secret changed meanwhile (<c>CommitSignIn</c>).
    /// </summary>
    private async Task VoidOtherJourneysAsync(PersonAccount person, string? keepFlowId, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var stamp = Guid.NewGuid();
        var voided = await db.Flows
            .Where(f => f.PersonId == person.Id && f.CompletedAt == null && f.VoidedAt == null && f.Id != (keepFlowId ?? string.Empty))
            .ExecuteUpdateAsync(s => s.SetProperty(f => f.VoidedAt, now).SetProperty(f => f.ConcurrencyStamp, stamp), cancellationToken);
        if (voided > 0)
        {
            audit.Append(new Infrastructure.Audit.AuditEntry(Infrastructure.Audit.AuditEventTypes.FlowVoided, PasswordReplacedReason, person.Id,
                Details: $"flows={voided}"));
        }
    }

    /// <summary>Ends now the person's invitations still waiting for an answer (committed by the caller, with the new secret).</summary>
    private async Task VoidOpenInvitationsAsync(PersonAccount person, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        // Dates compared in memory, as every invitation query does (SQLite does not order DateTimeOffset values).
        var unanswered = await db.HouseholdInvitations
            .Where(i => i.InvitedByPersonId == person.Id && i.AcceptedAt == null)
            .ToListAsync(cancellationToken);
        foreach (var invitation in unanswered.Where(i => i.ExpiresAt > now))
        {
            invitation.ExpiresAt = now;
            audit.Append(new Infrastructure.Audit.AuditEntry(Infrastructure.Audit.AuditEventTypes.HouseholdInvitationVoided, PasswordReplacedReason, person.Id,
                Details: $"invitation={invitation.Id}"));
        }
    }
}
