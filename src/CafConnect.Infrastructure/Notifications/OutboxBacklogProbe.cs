using CafConnect.Infrastructure.Observability;
using CafConnect.Infrastructure.Persistence;
using Microsoft.EntityFrameworkCore;

namespace CafConnect.Infrastructure.Notifications;

/// <summary>
/// How much waits in the outbox: one count and one look at the oldest pending message, both on the dispatcher's index.
/// Read by the dispatcher (for the backlog metrics) and by the readiness check.
/// </summary>
public static class OutboxBacklogProbe
{
    public static async Task<OutboxBacklog> MeasureAsync(CafConnectDbContext db, TimeProvider clock, CancellationToken cancellationToken)
    {
        var pending = db.OutboxMessages.AsNoTracking().Where(m => m.SentAt == null && m.FailedAt == null);
        var count = await pending.LongCountAsync(cancellationToken);
        var oldest = count == 0 ? null : await pending.OrderBy(m => m.CreatedAt).Select(m => (DateTimeOffset?)m.CreatedAt).FirstOrDefaultAsync(cancellationToken);
        var now = clock.GetUtcNow();
        var age = oldest is { } created && created < now ? now - created : TimeSpan.Zero;
        return new OutboxBacklog(count, age, now);
    }

    /// <summary>
    /// Waiting messages whose last attempt failed (the dispatcher keeps <see cref="OutboxMessage.LastError"/> until a
    /// send succeeds), by channel: the sign that a gateway refuses or cannot be reached, whatever the backlog's size.
    /// </summary>
    public static async Task<IReadOnlyDictionary<NotificationChannel, long>> FailingByChannelAsync(CafConnectDbContext db, CancellationToken cancellationToken) =>
        await db.OutboxMessages.AsNoTracking()
            .Where(m => m.SentAt == null && m.FailedAt == null && m.LastError != null)
            .GroupBy(m => m.Channel)
            .Select(g => new { Channel = g.Key, Count = g.LongCount() })
            .ToDictionaryAsync(x => x.Channel, x => x.Count, cancellationToken);
}
