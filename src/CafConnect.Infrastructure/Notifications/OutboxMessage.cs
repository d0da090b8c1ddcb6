using Microsoft.AspNetCore.DataProtection;

namespace CafConnect.Infrastructure.Notifications;

/// <summary>
/// One message of the transactional outbox. The bodies carry codes and passwords: they are encrypted with Data
/// Protection while waiting and wiped once the message is sent (or given up). Nothing here is ever logged but the
/// id, kind, channel and a masked recipient.
/// </summary>
public sealed class OutboxMessage
{
    public Guid Id { get; set; } = Guid.NewGuid();
    public NotificationKind Kind { get; set; }
    public NotificationChannel Channel { get; set; }

    /// <summary>E-mail address, mobile number, or postal address block for a letter.</summary>
    public string Recipient { get; set; } = string.Empty;

    /// <summary>E-mail subject / letter title; never holds a value (code, password).</summary>
    public string? Subject { get; set; }

    /// <summary>Data-Protection-encrypted plain text (SMS text, e-mail text part, letter), base64; null once sent.</summary>
    public string? ProtectedTextBody { get; set; }

    /// <summary>Data-Protection-encrypted HTML part of an e-mail, base64; null once sent, and for SMS and letters.</summary>
    public string? ProtectedHtmlBody { get; set; }

    public Guid? PersonId { get; set; }

    /// <summary>Unique: the same business event never yields two messages; also passed to the gateway to de-duplicate.</summary>
    public string IdempotencyKey { get; set; } = string.Empty;

    public DateTimeOffset CreatedAt { get; set; }
    public int Attempts { get; set; }
    public DateTimeOffset NextAttemptAt { get; set; }

    /// <summary>Claimed by a dispatcher until then (another instance takes it over after a crash).</summary>
    public DateTimeOffset? LockedUntil { get; set; }
    public string? LockedBy { get; set; }

    public DateTimeOffset? SentAt { get; set; }

    /// <summary>Given up after the maximum number of attempts.</summary>
    public DateTimeOffset? FailedAt { get; set; }

    /// <summary>Exception type and a short message of the last failure; never the body.</summary>
    public string? LastError { get; set; }
}

/// <summary>Encrypts message bodies at rest (the Data Protection key ring lives in the store, shared by every instance).</summary>
public sealed class OutboxBodyProtector(IDataProtectionProvider dataProtection)
{
    private readonly IDataProtector _protector = dataProtection.CreateProtector("CafConnect.Notifications.Outbox.v1");

    public string? Protect(string? body) =>
        body is null ? null : Convert.ToBase64String(_protector.Protect(System.Text.Encoding.UTF8.GetBytes(body)));

    public string? Unprotect(string? protectedBody) =>
        protectedBody is null ? null : System.Text.Encoding.UTF8.GetString(_protector.Unprotect(Convert.FromBase64String(protectedBody)));
}
