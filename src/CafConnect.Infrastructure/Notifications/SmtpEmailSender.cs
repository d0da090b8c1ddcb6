using System.Security.Cryptography;
using System.Text;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;

namespace CafConnect.Infrastructure.Notifications;

public enum SmtpSecurity
{
    None,
    StartTls,
    SslOnConnect,
    Auto,
}

/// <summary><c>Notifications:Smtp</c>.</summary>
public sealed class SmtpOptions
{
    public string? Host { get; set; }
    public int Port { get; set; } = 25;
    public SmtpSecurity Security { get; set; } = SmtpSecurity.Auto;
    public string? UserName { get; set; }
    public string? Password { get; set; }

    /// <summary>"Caf &lt;ne-pas-repondre@caf.fr&gt;" or a bare address.</summary>
    public string From { get; set; } = "Caf <ne-pas-repondre@caf.fr>";

    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(30);
}

/// <summary>
/// E-mail through an SMTP relay with MailKit: multipart/alternative (plain text + HTML). The Message-ID is derived
/// from the idempotency key, so a message sent twice (see <see cref="OutboxDispatcher"/>) carries the same Message-ID
/// and relays and mail clients that de-duplicate on it show it once.
/// </summary>
public sealed class SmtpEmailSender(SmtpOptions options) : INotificationSender
{
    public async Task SendAsync(OutgoingNotification message, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(options.Host))
        {
            throw new InvalidOperationException("Notifications:Smtp:Host is not set.");
        }

        var mime = Build(message, options.From);
        using var client = new SmtpClient { Timeout = (int)options.Timeout.TotalMilliseconds };
        await client.ConnectAsync(options.Host, options.Port, ToMailKit(options.Security), cancellationToken);
        if (!string.IsNullOrEmpty(options.UserName))
        {
            await client.AuthenticateAsync(options.UserName, options.Password ?? string.Empty, cancellationToken);
        }
        await client.SendAsync(mime, cancellationToken);
        await client.DisconnectAsync(quit: true, cancellationToken);
    }

    /// <summary>The MIME message (also written as <c>.eml</c> by <see cref="FileNotificationSink"/>).</summary>
    public static MimeMessage Build(OutgoingNotification message, string fromAddress)
    {
        var from = MailboxAddress.Parse(fromAddress);
        var mime = new MimeMessage
        {
            Subject = message.Subject ?? string.Empty,
            MessageId = MessageIdFor(message.IdempotencyKey, from.Domain),
            Date = message.CreatedAt,
        };
        mime.From.Add(from);
        mime.To.Add(MailboxAddress.Parse(message.Recipient));
        var body = new BodyBuilder { TextBody = message.TextBody, HtmlBody = message.HtmlBody };
        mime.Body = body.ToMessageBody();
        return mime;
    }

    /// <summary>
    /// "&lt;hex(SHA-256(key))[..32]@domain&gt;" without the brackets (MimeKit adds them): stable for one key, and the key
    /// itself (which may name a person or a flow) does not leave the service.
    /// </summary>
    public static string MessageIdFor(string idempotencyKey, string? domain)
    {
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(idempotencyKey)))[..32];
        return $"{hash}@{(string.IsNullOrWhiteSpace(domain) ? "cafconnect.local" : domain)}";
    }

    private static SecureSocketOptions ToMailKit(SmtpSecurity security) => security switch
    {
        SmtpSecurity.None => SecureSocketOptions.None,
        SmtpSecurity.StartTls => SecureSocketOptions.StartTls,
        SmtpSecurity.SslOnConnect => SecureSocketOptions.SslOnConnect,
        _ => SecureSocketOptions.Auto,
    };
}
