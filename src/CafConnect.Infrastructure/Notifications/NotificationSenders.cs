namespace CafConnect.Infrastructure.Notifications;

/// <summary>A message the dispatcher hands to a sender, bodies decrypted.</summary>
public sealed record OutgoingNotification(
    Guid Id,
    NotificationKind Kind,
    NotificationChannel Channel,
    string Recipient,
    string? Subject,
    string TextBody,
    string? HtmlBody,
    string IdempotencyKey,
    DateTimeOffset CreatedAt);

/// <summary>
/// Hands a message to a gateway (SMTP relay, SMS provider, print service). Throws when the gateway did not accept it;
/// passes <see cref="OutgoingNotification.IdempotencyKey"/> on so that the gateway can drop a repeat.
/// </summary>
public interface INotificationSender
{
    Task SendAsync(OutgoingNotification message, CancellationToken cancellationToken);
}

/// <summary>Which sender serves which channel (chosen once from the configuration).</summary>
public interface INotificationSenderResolver
{
    INotificationSender For(NotificationChannel channel);
}

public sealed class NotificationSenderResolver(INotificationSender email, INotificationSender sms, INotificationSender letter) : INotificationSenderResolver
{
    public INotificationSender For(NotificationChannel channel) => channel switch
    {
        NotificationChannel.Email => email,
        NotificationChannel.Sms => sms,
        NotificationChannel.Letter => letter,
        _ => throw new ArgumentOutOfRangeException(nameof(channel)),
    };
}

/// <summary>Recipients as they may appear in logs: "j***@exemple.fr", "06******78".</summary>
public static class RecipientMask
{
    public static string Mask(NotificationChannel channel, string recipient)
    {
        if (string.IsNullOrEmpty(recipient))
        {
            return string.Empty;
        }
        switch (channel)
        {
            case NotificationChannel.Email:
                var at = recipient.LastIndexOf('@');
                return at <= 0 ? "***" : recipient[0] + "***" + recipient[at..];
            case NotificationChannel.Sms:
                var digits = new string(recipient.Where(char.IsAsciiDigit).ToArray());
                return digits.Length < 6 ? "***" : digits[..2] + new string('*', digits.Length - 4) + digits[^2..];
            default:
                return "(adresse postale)";
        }
    }
}
