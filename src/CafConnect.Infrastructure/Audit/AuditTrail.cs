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
/// An audit line is never a save point: <see cref="Append"/> adds it to the current unit of work, and it is stored when
/// the use case commits, together with the change it records (docs/decisions.md #22). A use case that only audits
/// (a refused login) still commits once at its end.
/// </summary>
public sealed class AuditTrail(CafConnectDbContext db, IAuditContextAccessor contextAccessor, TimeProvider clock)
{
    public void Append(AuditEntry entry)
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
    }

    /// <summary>Gone: it saved whatever else was pending. Kept one session so that a branch written against it fails to build with this message.</summary>
    [Obsolete("AuditTrail only appends: call Append(entry), then commit the use case's unit of work once (IUnitOfWork.CommitAsync; docs/decisions.md #22).", error: true)]
    public Task WriteAsync(AuditEntry entry, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException("AuditTrail.WriteAsync is gone: Append, then commit the unit of work.");

    private static string? Truncate(string? value, int max) => value is null || value.Length <= max ? value : value[..max];
}

/// <summary>For the CLI and background work: no HTTP request behind the event.</summary>
public sealed class FixedAuditContextAccessor(AuditContext context) : IAuditContextAccessor
{
    public AuditContext Current => context;
}
