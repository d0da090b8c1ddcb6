namespace CafConnect.Infrastructure.Notifications;

public enum NotificationChannel
{
    Email,
    Sms,
    /// <summary>A letter, handed to the print service.</summary>
    Letter,
}

/// <summary>One template per kind of message, in French (plain text and HTML for e-mail, short text for SMS).</summary>
public enum NotificationKind
{
    /// <summary>Values: <c>code</c>, <c>validity</c> (e.g. "10 minutes").</summary>
    VerificationCode,
    /// <summary>Values: none required ("Vous venez de créer votre Espace Mon Compte…").</summary>
    AccountCreated,
    /// <summary>Values: <c>identifier</c> (P + 8 digits).</summary>
    ProvisionalIdReminder,
    /// <summary>Values: <c>password</c>, <c>valid_until</c> (dd/MM/yyyy).</summary>
    ProvisionalPassword,
    /// <summary>Values: none required.</summary>
    PasswordChanged,
    /// <summary>Values: <c>partner_name</c>, <c>delegated</c> ("true"/"false").</summary>
    DelegationChanged,
    /// <summary>Values: <c>duration</c> (e.g. "15 minutes"): the account was locked after failed logins.</summary>
    AccountLocked,
    /// <summary>Values: <c>holder_name</c>, <c>file_number</c>: the file holder invites a household member to create their account.</summary>
    HouseholdInvitation,
    /// <summary>Values: <c>file_number</c> (the person's file after the separation).</summary>
    SeparationRecorded,
    /// <summary>Values: <c>file_number</c> (the file's new number after its transfer to another Caf).</summary>
    FileTransferred,
    /// <summary>Values: none: the NIR is now the login, the provisional identifier no longer works.</summary>
    NirAttached,
    /// <summary>Values: <c>file_number</c>, and <c>identifier</c> (P + 8 digits) for a person without NIR: the first of a paper applicant's two letters.</summary>
    ApplicantIdentifier,
    /// <summary>Values: <c>duration</c>: the file's phone access (file number + legacy code) was locked after failed attempts.</summary>
    PhoneAccessLocked,
    /// <summary>Values: <c>new_contact</c> (masked): told to the contact the records hold when the person adds another.</summary>
    ContactChanged,
    /// <summary>Values: none: the person chose (or changed) their personal phone code in « Mon compte ».</summary>
    PhoneCodeChanged,
    /// <summary>
    /// Values: <c>code</c> (8 digits), <c>file_number</c>, <c>reason</c> (<c>oubli</c>, <c>separation</c>, <c>mutation</c>):
    /// the file's new shared phone code, to its holder by SMS or letter.
    /// </summary>
    FileCodeIssued,
}

/// <summary>A message to send, written in the same transaction as the business change that causes it.</summary>
public sealed record NotificationRequest(
    NotificationKind Kind,
    NotificationChannel Channel,
    string Recipient,
    IReadOnlyDictionary<string, string> Values,
    Guid? PersonId,
    string IdempotencyKey);

/// <summary>
/// The transactional outbox: <see cref="Enqueue"/> adds the rendered, encrypted message to the current unit of work
/// (the caller's <c>SaveChangesAsync</c> commits it with the business change); a background dispatcher sends it with
/// retries and never loses it. Message bodies (codes, passwords) are never logged.
/// </summary>
public interface INotificationOutbox
{
    void Enqueue(NotificationRequest request);
}
