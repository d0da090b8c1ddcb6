using CafConnect.Infrastructure.Persistence;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;

namespace CafConnect.Infrastructure.Notifications;

/// <summary>
/// Renders the message now (the wording at the time of the business event) and adds it, encrypted, to the caller's
/// unit of work: the caller's <c>SaveChangesAsync</c> commits it with the change that causes it, a rollback drops it.
/// A key already queued (in this unit of work or in the store) is ignored; two concurrent transactions with the same
/// key are stopped by the unique index (the second <c>SaveChangesAsync</c> fails, as its business change is a repeat).
/// </summary>
public sealed class NotificationOutbox(
    CafConnectDbContext db,
    NotificationTemplates templates,
    OutboxBodyProtector protector,
    TimeProvider clock,
    ILogger<NotificationOutbox> logger) : INotificationOutbox
{
    public const int MaxIdempotencyKeyLength = 200;

    public void Enqueue(NotificationRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentException.ThrowIfNullOrWhiteSpace(request.Recipient);
        ArgumentException.ThrowIfNullOrWhiteSpace(request.IdempotencyKey);
        if (request.IdempotencyKey.Length > MaxIdempotencyKeyLength)
        {
            throw new ArgumentException($"The idempotency key is longer than {MaxIdempotencyKeyLength} characters.", nameof(request));
        }

        var masked = RecipientMask.Mask(request.Channel, request.Recipient);
        var key = request.IdempotencyKey;
        var alreadyQueued = db.ChangeTracker.Entries<OutboxMessage>().Any(e => e.State != EntityState.Deleted && e.Entity.IdempotencyKey == key)
            || db.OutboxMessages.AsNoTracking().Any(m => m.IdempotencyKey == key);
        if (alreadyQueued)
        {
            NotificationLog.DuplicateIgnored(logger, request.Kind, request.Channel, masked);
            return;
        }

        var rendered = templates.Render(request.Kind, request.Channel, request.Values);
        var now = clock.GetUtcNow();
        var message = new OutboxMessage
        {
            Kind = request.Kind,
            Channel = request.Channel,
            Recipient = request.Recipient.Trim(),
            Subject = rendered.Subject,
            ProtectedTextBody = protector.Protect(rendered.Text),
            ProtectedHtmlBody = protector.Protect(rendered.Html),
            PersonId = request.PersonId,
            IdempotencyKey = key,
            CreatedAt = now,
            NextAttemptAt = now,
        };
        db.OutboxMessages.Add(message);
        NotificationLog.Enqueued(logger, message.Id, message.Kind, message.Channel, masked);
    }
}
