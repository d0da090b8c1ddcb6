using CafConnect.Infrastructure.Observability;
using CafConnect.Infrastructure.Persistence;

namespace CafConnect.Infrastructure.Audit;

/// <summary>The request-independent facts of an audit record; the host fills in IP, user agent, session and correlation.</summary>
public sealed record AuditEntry(string Type, string? Outcome = null, Guid? PersonId = null, string? ClientId = null, string? Details = null);

public sealed record AuditContext(string? Channel, string? IpAddress, string? UserAgent, string? SessionId, string? CorrelationId)
{
    public static readonly AuditContext None = new(null, null, null, null, null);
}

public interface IAuditContextAccessor
{
    AuditContext Current { get; }
}

/// <summary>
/// Appends to the audit table. Writes are inserts only; nothing in the product updates or deletes a row.
/// Every login, lock and token goes through here, so the login, lockout and token metrics are counted here too
/// (<see cref="CafConnectMetrics.Audited"/>), after the row is committed.
/// </summary>
public sealed class AuditTrail(CafConnectDbContext db, IAuditContextAccessor contextAccessor, TimeProvider clock, CafConnectMetrics? metrics = null)
{
    public async Task WriteAsync(AuditEntry entry, CancellationToken cancellationToken = default)
    {
        var context = contextAccessor.Current;
        db.AuditEvents.Add(new AuditEvent
        {
            OccurredAt = clock.GetUtcNow(),
            Type = entry.Type,
            Outcome = entry.Outcome,
            PersonId = entry.PersonId,
            ClientId = entry.ClientId,
            Details = entry.Details,
            Channel = context.Channel,
            IpAddress = context.IpAddress,
            UserAgent = Truncate(context.UserAgent, 512),
            SessionId = context.SessionId,
            CorrelationId = context.CorrelationId,
        });
        await db.SaveChangesAsync(cancellationToken);
        metrics?.Audited(entry, context);
    }

    private static string? Truncate(string? value, int max) => value is null || value.Length <= max ? value : value[..max];
}

/// <summary>For the CLI and background work: no HTTP request behind the event.</summary>
public sealed class FixedAuditContextAccessor(AuditContext context) : IAuditContextAccessor
{
    public AuditContext Current => context;
}
