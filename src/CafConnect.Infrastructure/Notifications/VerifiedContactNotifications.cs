using CafConnect.Domain.Accounts;

namespace CafConnect.Infrastructure.Notifications;

public static class VerifiedContactNotifications
{
    /// <summary>
    /// Queues <paramref name="kind"/> for the person's verified contact, preferring SMS (seed 003: the phone first);
    /// nothing when no contact is verified. The channel is appended to <paramref name="idempotencyKey"/>.
    /// </summary>
    public static bool EnqueueToVerifiedContact(this INotificationOutbox outbox, PersonAccount person, NotificationKind kind,
        IReadOnlyDictionary<string, string> values, string idempotencyKey)
    {
        if (person.MobilePhoneVerified && person.MobilePhone is not null)
        {
            outbox.Enqueue(new NotificationRequest(kind, NotificationChannel.Sms, person.MobilePhone, values, person.Id, idempotencyKey + ":sms"));
            return true;
        }
        if (person.EmailVerified && person.Email is not null)
        {
            outbox.Enqueue(new NotificationRequest(kind, NotificationChannel.Email, person.Email, values, person.Id, idempotencyKey + ":email"));
            return true;
        }
        return false;
    }
}
