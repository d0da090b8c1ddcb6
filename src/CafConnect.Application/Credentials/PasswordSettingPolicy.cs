using CafConnect.Domain.Accounts;
using CafConnect.Infrastructure.Sessions;

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
/// </list>
/// Sending a provisional password changes nothing here: the current secret keeps working until the provisional one is
/// first used (docs/security.md, item 9 of the review), so nothing is revoked before then.
/// </summary>
public sealed class PasswordSettingPolicy(CredentialReset grants, SessionRegistry sessions, Infrastructure.Audit.AuditTrail audit)
{
    public const string PasswordReplacedReason = "password_replaced";

    /// <param name="keepSessionId">The session making the change, when it stays open; null ends them all.</param>
    public async Task RevokeAsync(PersonAccount person, string? keepSessionId, CancellationToken cancellationToken)
    {
        await sessions.EndAllOfPersonAsync(person.Id, keepSessionId, SessionRegistry.EndedByPasswordChange, cancellationToken);
        await grants.RevokeGrantsAsync(person, cancellationToken, PasswordReplacedReason);
        if (keepSessionId is null && person.PhoneCodeHash is not null)
        {
            person.PhoneCodeHash = null;
            person.PhoneCodeSetAt = null;
            audit.Append(new Infrastructure.Audit.AuditEntry(Infrastructure.Audit.AuditEventTypes.PhoneCodeSet, "revoked", person.Id, Details: "reason=" + PasswordReplacedReason));
        }
    }
}
