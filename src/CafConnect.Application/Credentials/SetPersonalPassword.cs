using CafConnect.Domain.Accounts;
using CafConnect.Domain.Passwords;
using CafConnect.Infrastructure.Accounts;
using CafConnect.Infrastructure.Audit;
using CafConnect.Infrastructure.Notifications;
using CafConnect.Infrastructure.Security;

namespace CafConnect.Application.Credentials;

/// <summary>Why a personal password is being set: decides the audit event and whether the person is told.</summary>
public enum PasswordSettingReason
{
    /// <summary>The account's first personal password (first login with the legacy code or a provisional one, account creation).</summary>
    FirstPassword,
    /// <summary>A required action replaced an expired password or one set by an agent or an incident response.</summary>
    RequiredReplacement,
    /// <summary>« Mot de passe oublié ? » after the code.</summary>
    Recovery,
    /// <summary>« Changer mon mot de passe » from « Mon compte ».</summary>
    Change,
}

/// <param name="KeepSessionId">The provider session making the change, kept open (« Changer mon mot de passe »); null ends them all.</param>
/// <param name="IdempotencyKey">Key of the « mot de passe modifié » message.</param>
/// <param name="KeepFlowId">The journey setting the password (first login, recovery), which goes on; every other open journey of the person ends.</param>
public sealed record SetPersonalPasswordRequest(
    PersonAccount Person, string? Password, string? Confirmation, PasswordSettingReason Reason, string IdempotencyKey,
    string? ClientId = null, string? KeepSessionId = null, string? AuditOutcome = null, string? KeepFlowId = null);

/// <summary>Refused: <see cref="Field"/> is <see cref="PasswordField"/> or <see cref="ConfirmationField"/>, with the French message.</summary>
public sealed record SetPersonalPasswordResult(string? Field, string? Message)
{
    public const string PasswordField = "Password";
    public const string ConfirmationField = "Confirmation";
    public bool Succeeded => Field is null;
    public static readonly SetPersonalPasswordResult Done = new(null, null);
}

/// <summary>
/// The one way a personal password is set, whatever the journey (first login, account creation, recovery,
/// « Changer mon mot de passe »): the personal-password rules against the file's facts, the confirmation, not the
/// current secret again; then the Argon2id hash, the end of any pending provisional password and of the « choose a new
/// password » action, the revocations of <see cref="PasswordSettingPolicy"/>, the message to the verified contact
/// (not for an account's first password) and the audit row. Nothing is committed here: the caller's unit of work does.
/// </summary>
public sealed class SetPersonalPassword(
    PersonDirectory persons, ISecretHasher hasher, LegacySecretVerifiers secrets, PasswordSettingPolicy policy,
    INotificationOutbox outbox, AuditTrail audit, TimeProvider clock)
{
    public const string SameAsCurrentMessage = "Choisissez un mot de passe différent de votre mot de passe actuel.";

    /// <summary>Checks the rules only: what the page says before anything is stored.</summary>
    public async Task<SetPersonalPasswordResult> CheckAsync(SetPersonalPasswordRequest request, CancellationToken cancellationToken)
    {
        var person = request.Person;
        var check = PersonalPasswordPolicy.Check(request.Password, await persons.PasswordContextOfAsync(person, cancellationToken));
        if (!check.IsAccepted)
        {
            return new(SetPersonalPasswordResult.PasswordField, string.Join(" ", check.Violations.Select(v => v.Message)));
        }
        if (!string.Equals(request.Password, request.Confirmation, StringComparison.Ordinal))
        {
            return new(SetPersonalPasswordResult.ConfirmationField, PasswordRules.ConfirmationMismatchMessage);
        }
        if (person.PasswordHash is not null && person.CredentialKind == CredentialKind.Personal
            && secrets.Verify(request.Password!, person.PasswordHash) != SecretVerification.Failed)
        {
            return new(SetPersonalPasswordResult.PasswordField, SameAsCurrentMessage);
        }
        return SetPersonalPasswordResult.Done;
    }

    public async Task<SetPersonalPasswordResult> ExecuteAsync(SetPersonalPasswordRequest request, CancellationToken cancellationToken)
    {
        var refused = await CheckAsync(request, cancellationToken);
        if (!refused.Succeeded)
        {
            return refused;
        }
        return await ApplyAsync(request, hasher.Hash(request.Password!), cancellationToken);
    }

    /// <summary>
    /// Hashes a password that passed <see cref="CheckAsync"/> without setting it: a journey that must prove something
    /// else first (the records' contact at a first login with the file's code) keeps the hash, never the password, and
    /// sets it with <see cref="ApplyAsync"/> once the proof is made.
    /// </summary>
    public string HashForLater(string checkedPassword) => hasher.Hash(checkedPassword);

    /// <summary>Sets <paramref name="hash"/> (of a password that passed <see cref="CheckAsync"/>) with everything that goes with a new password.</summary>
    public async Task<SetPersonalPasswordResult> ApplyAsync(SetPersonalPasswordRequest request, string hash, CancellationToken cancellationToken)
    {
        var person = request.Person;
        person.PasswordHash = hash;
        person.CredentialKind = CredentialKind.Personal;
        person.PasswordSetAt = clock.GetUtcNow();
        person.PendingProvisionalPasswordHash = null;
        person.PendingProvisionalPasswordIssuedAt = null;
        person.RequiredActions.RemoveAll(a => a.Action == RequiredAction.ChooseNewPassword);
        person.ConcurrencyStamp = Guid.NewGuid();
        if (request.Reason != PasswordSettingReason.FirstPassword)
        {
            outbox.EnqueueToVerifiedContact(person, NotificationKind.PasswordChanged, new Dictionary<string, string>(), request.IdempotencyKey);
        }
        await policy.RevokeAsync(person, request.KeepSessionId, cancellationToken, request.KeepFlowId);
        var (type, outcome) = request.Reason == PasswordSettingReason.Recovery
            ? (AuditEventTypes.PasswordReset, request.AuditOutcome)
            : (AuditEventTypes.PasswordChanged, request.AuditOutcome ?? request.Reason.ToString());
        // Appended to the caller's unit of work, which commits the new secret, the revocations and this line together.
        audit.Append(new AuditEntry(type, outcome, person.Id, request.ClientId));
        return SetPersonalPasswordResult.Done;
    }
}
