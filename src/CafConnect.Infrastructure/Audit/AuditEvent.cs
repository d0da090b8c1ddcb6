namespace CafConnect.Infrastructure.Audit;

/// <summary>
/// One row of the append-only audit trail. Never holds a NIR, password or code in clear:
/// the person is their internal id, details are free text written by the code, not by users.
/// </summary>
public sealed class AuditEvent
{
    public long Id { get; set; }
    public DateTimeOffset OccurredAt { get; set; }
    public string Type { get; set; } = string.Empty;
    public string? Outcome { get; set; }
    public Guid? PersonId { get; set; }
    public string? ClientId { get; set; }
    public string? Channel { get; set; }
    public string? IpAddress { get; set; }
    public string? UserAgent { get; set; }
    public string? SessionId { get; set; }
    public string? CorrelationId { get; set; }
    public string? Details { get; set; }
}

/// <summary>Names of audited events (stable strings: they are queried by operators).</summary>
public static class AuditEventTypes
{
    public const string LoginSucceeded = "login.succeeded";
    public const string LoginFailed = "login.failed";
    public const string LoginRequiredActions = "login.required_actions";
    /// <summary>Ten consecutive failures locked the account (outcome <c>lock_N</c>; details: until, duration).</summary>
    public const string AccountLocked = "account.locked";
    /// <summary>A lock lifted before its end (outcome: why, e.g. <c>password_recovery</c>).</summary>
    public const string AccountUnlocked = "account.unlocked";
    public const string FlowQuit = "flow.quit";
    /// <summary>A new secret ended the person's other open journeys (outcome <c>password_replaced</c>; details: how many).</summary>
    public const string FlowVoided = "flow.voided";
    public const string TermsAccepted = "terms.accepted";
    public const string PasswordChanged = "password.changed";
    public const string ContactCodeSent = "contact.code_sent";
    public const string ContactVerified = "contact.verified";
    public const string ContactCodeRejected = "contact.code_rejected";
    public const string ContactStepSkipped = "contact.skipped";
    public const string DelegationGranted = "delegation.granted";
    public const string DelegationWithdrawn = "delegation.withdrawn";
    /// <summary>The holder answered « Non » while the partner had no delegation (a choice, not a change).</summary>
    public const string DelegationDeclined = "delegation.declined";
    public const string DelegationStepSkipped = "delegation.skipped";
    public const string Logout = "logout";
    /// <summary>A FranceConnect identity was linked to a person at its first use ("FranceConnect link"; outcome: <c>matched</c>).</summary>
    public const string FranceConnectLinked = "franceconnect.linked";
    /// <summary>A FranceConnect identity opened no account (outcome: <c>no_match</c>, <c>ambiguous</c>, <c>already_linked</c>, <c>closed_account</c>).</summary>
    public const string FranceConnectNotLinked = "franceconnect.not_linked";
    /// <summary>FranceConnect's answer was refused (outcome: <c>access_denied</c>, <c>invalid_response</c>, <c>insufficient_acr</c>, <c>incomplete_identity</c>, <c>stale_authentication</c>…).</summary>
    public const string FranceConnectFailed = "franceconnect.failed";
    public const string TokenIssued = "token.issued";
    public const string PasswordRehashed = "password.rehashed";
    public const string RecoveryRequested = "recovery.password.requested";
    public const string RecoveryCodeSent = "recovery.code_sent";
    public const string RecoveryCodeRejected = "recovery.code_rejected";
    public const string RecoveryCodeVerified = "recovery.code_verified";
    public const string RecoveryRateLimited = "recovery.rate_limited";
    /// <summary>
    /// A message was not sent: the person's (or the destination contact's) ceiling across journeys was spent (outcome
    /// <c>refused</c> — the journey said so — or <c>withheld</c> — its answer could not change; details: journey, scope, channel).
    /// </summary>
    public const string MessageCapped = "message.capped";
    public const string PasswordReset = "password.reset";
    public const string ProvisionalPasswordIssued = "password.provisional_issued";
    public const string GrantsRevoked = "grants.revoked";
    public const string ProvisionalIdReminderRequested = "recovery.provisional_id.requested";
    /// <summary>« Créer Mon Compte » reached the point where an account exists (outcome <c>with_nir</c> or <c>without_nir</c>).</summary>
    public const string AccountCreated = "account.created";
    /// <summary>« Créer Mon Compte » refused (outcome: the reason code, e.g. <c>civil_status_mismatch</c>, <c>unknown_identity</c>, <c>under_16</c>).</summary>
    public const string AccountCreationRefused = "account.creation_refused";
    /// <summary>« Créer Mon Compte » with a NIR and no contact on record: an activation code by letter (outcome <c>sent</c> or <c>recently_sent</c>).</summary>
    public const string AccountActivationLetter = "account.activation_letter";
    /// <summary>A new contact was verified beside the one the agency's records hold, whose owner was told (details: channel).</summary>
    public const string ContactAdded = "contact.added";
    /// <summary>« Créer Mon Compte » requests over the limit (per IP or per identity).</summary>
    public const string AccountCreationRateLimited = "account.creation_rate_limited";
    /// <summary>The file holder invited a household member (details: file, role, channel).</summary>
    public const string HouseholdInvitationSent = "household.invitation_sent";
    /// <summary>The file holder's invitation was refused (outcome: the reason code, e.g. <c>under_16</c>).</summary>
    public const string HouseholdInvitationRefused = "household.invitation_refused";
    /// <summary>An invitee created their account and joined the file (details: file, role).</summary>
    public const string HouseholdInvitationAccepted = "household.invitation_accepted";
    /// <summary>An invitee answered « Ne pas rejoindre ce dossier », or the file could not take them (outcome: why; details: file, role).</summary>
    public const string HouseholdInvitationDeclined = "household.invitation_declined";
    /// <summary>An invitation still unanswered was ended before its term (outcome: why, e.g. <c>password_replaced</c>; details: invitation).</summary>
    public const string HouseholdInvitationVoided = "household.invitation_voided";
    public const string ClientAdded = "admin.client.added";
    public const string ClientUpdated = "admin.client.updated";
    public const string ClientRemoved = "admin.client.removed";
    public const string ClientSecretRotated = "admin.client.secret_rotated";
    public const string ClientDisabled = "admin.client.disabled";
    public const string KeysRotated = "admin.keys.rotated";
    /// <summary>A file event from the benefits system was applied (outcome: the event type; details: internal ids only).</summary>
    public const string FileEventApplied = "admin.file_event.applied";
    /// <summary>A first-time applicant was registered by the benefits system (outcome: delivery of the provisional password).</summary>
    public const string ApplicantRegistered = "admin.applicant.registered";
    /// <summary>
    /// An application, a file event or an import row named an account by its identifier with another civil status:
    /// refused, nothing attached (outcome: the door, e.g. <c>applicant</c>, <c>person_added</c>, <c>import</c>; details:
    /// request id, caller, internal ids — never the NIR or the civil status).
    /// </summary>
    public const string IdentityMismatchRefused = "admin.identity_mismatch";
    /// <summary>The account was closed (outcome: why, e.g. <c>death</c>).</summary>
    public const string AccountClosed = "account.closed";
    /// <summary>The file's shared legacy code was erased (outcome: <c>separation</c> or <c>mutation</c>, seed 000).</summary>
    public const string LegacyCodeReset = "file.legacy_code_reset";
    /// <summary>A new shared file code was sent (« code confidentiel oublié » by phone, or after a separation or a mutation).</summary>
    public const string LegacyCodeIssued = "file.legacy_code_issued";
    /// <summary>« Code confidentiel oublié » asked by the voice server (outcome: sent, throttled, unknown_file, no_holder, retired).</summary>
    public const string LegacyCodeRequested = "file.legacy_code_requested";
    /// <summary>A person chose their personal phone code in « Mon compte ».</summary>
    public const string PhoneCodeSet = "phone_code.set";
    /// <summary>Rows past the retention period were deleted (outcome: how many; details: cutoff).</summary>
    public const string AuditPurged = "admin.audit.purged";
    /// <summary>A purge dry run (outcome: rows it would delete).</summary>
    public const string AuditPurgeDryRun = "admin.audit.purge_dry_run";
    /// <summary>
    /// Housekeeping rows were deleted: the session registry's old sessions and the stored answers of old admin requests
    /// (outcome: rows deleted; details: cutoffs and counts per table).
    /// </summary>
    public const string MaintenancePurged = "admin.maintenance.purged";
    /// <summary>A dry run of it (outcome: rows it would delete).</summary>
    public const string MaintenancePurgeDryRun = "admin.maintenance.purge_dry_run";
    /// <summary>An incident revocation ran (outcome: <c>done</c>; details: window, client, counts, operator).</summary>
    public const string IncidentRevoked = "admin.incident.revoked";
    /// <summary>A dry run of it (outcome: <c>dry_run</c>; nothing changed).</summary>
    public const string IncidentRevokeDryRun = "admin.incident.dry_run";
    /// <summary>A person touched by an incident revocation (outcome: what: session, authorization, token, flow, password).</summary>
    public const string IncidentPersonRevoked = "incident.revoked";
    /// <summary>A back-channel logout token was delivered (outcome <c>delivered</c>) or not (<c>failed</c>, details: error).</summary>
    public const string BackchannelLogout = "logout.backchannel";
}
