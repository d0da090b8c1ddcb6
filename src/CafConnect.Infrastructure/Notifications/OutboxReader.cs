using CafConnect.Infrastructure.Persistence;
using Microsoft.EntityFrameworkCore;

namespace CafConnect.Infrastructure.Notifications;

/// <summary>A message as the Development page shows it, bodies decrypted (or read back from the file sink once sent).</summary>
public sealed record OutboxMessageView(
    Guid Id,
    NotificationKind Kind,
    NotificationChannel Channel,
    string Recipient,
    string? Subject,
    string? TextBody,
    string? HtmlBody,
    Guid? PersonId,
    DateTimeOffset CreatedAt,
    int Attempts,
    DateTimeOffset? NextAttemptAt,
    DateTimeOffset? SentAt,
    DateTimeOffset? FailedAt,
    string? LastError);

/// <summary>
/// Read model of the outbox for the host's Development-only page (<c>/dev/messages</c>): it shows codes and passwords,
/// so it must never be reachable outside Development. Sent messages have no body in the store any more; when the
/// file sink wrote them (the embedded default) their text is read back from the file.
/// </summary>
public sealed class OutboxReader(CafConnectDbContext db, OutboxBodyProtector protector, FileNotificationSink fileSink)
{
    public async Task<IReadOnlyList<OutboxMessageView>> LatestAsync(int count, CancellationToken cancellationToken = default)
    {
        var rows = await db.OutboxMessages.AsNoTracking()
            .OrderByDescending(m => m.CreatedAt)
            .Take(Math.Clamp(count, 1, 500))
            .ToListAsync(cancellationToken);

        var views = new List<OutboxMessageView>(rows.Count);
        foreach (var m in rows)
        {
            var text = protector.Unprotect(m.ProtectedTextBody);
            var html = protector.Unprotect(m.ProtectedHtmlBody);
            if (text is null && m.SentAt is not null && await fileSink.TryReadAsync(m.Id, cancellationToken) is { } fromFile)
            {
                (text, html) = fromFile;
            }
            views.Add(new OutboxMessageView(m.Id, m.Kind, m.Channel, m.Recipient, m.Subject, text, html, m.PersonId, m.CreatedAt,
                m.Attempts, m.SentAt is null && m.FailedAt is null ? m.NextAttemptAt : null, m.SentAt, m.FailedAt, m.LastError));
        }
        return views;
    }
}
