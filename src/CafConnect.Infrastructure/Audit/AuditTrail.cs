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
/// An audit line is never a save point: <see cref="Append"/> adds it to the current unit of work, and it is stored when
/// the use case commits, together with the change it records (docs/decisions.md #22). A use case that only audits
/// (a refused login) still commits once at its end.
/// Every login, lock and token goes through here, so the login, lockout and token metrics are counted here too
/// (<see cref="CafConnectMetrics.Audited"/>), once the row is stored: a line whose unit of work fails or is dropped
/// counts nothing.
/// </summary>
public sealed class AuditTrail
{
    private readonly CafConnectDbContext _db;
    private readonly IAuditContextAccessor _contextAccessor;
    private readonly TimeProvider _clock;
    private readonly CafConnectMetrics? _metrics;
    private readonly List<(AuditEvent Row, AuditEntry Entry, AuditContext Context)> _uncounted = [];

    public AuditTrail(CafConnectDbContext db, IAuditContextAccessor contextAccessor, TimeProvider clock, CafConnectMetrics? metrics = null)
    {
        _db = db;
        _contextAccessor = contextAccessor;
        _clock = clock;
        _metrics = metrics;
        if (metrics is not null)
        {
            db.SavedChanges += (_, _) => CountStored();
        }
    }

    public void Append(AuditEntry entry)
    {
        var context = _contextAccessor.Current;
        var row = new AuditEvent
        {
            OccurredAt = _clock.GetUtcNow(),
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
        };
        _db.AuditEvents.Add(row);
        if (_metrics is not null)
        {
            _uncounted.Add((row, entry, context));
        }
    }

    /// <summary>After a save: the lines now stored are counted; lines dropped from the context (a failed attempt undone) never are.</summary>
    private void CountStored()
    {
        for (var i = _uncounted.Count - 1; i >= 0; i--)
        {
            var (row, entry, context) = _uncounted[i];
            var state = _db.Entry(row).State;
            if (state == Microsoft.EntityFrameworkCore.EntityState.Added)
            {
                continue;
            }
            _uncounted.RemoveAt(i);
            if (state != Microsoft.EntityFrameworkCore.EntityState.Detached)
            {
                _metrics!.Audited(entry, context);
            }
        }
    }

    /// <summary>
    /// The lines among <paramref name="entities"/> were stored by a write outside this context's save (the grants' group
    /// commit, <see cref="Persistence.CoalescedInserts"/>): counted as a save counts them, before they leave the context.
    /// </summary>
    public void CountStoredElsewhere(IEnumerable<object> entities)
    {
        if (_metrics is null)
        {
            return;
        }
        var stored = entities.OfType<AuditEvent>().ToHashSet(ReferenceEqualityComparer.Instance);
        for (var i = _uncounted.Count - 1; i >= 0; i--)
        {
            var (row, entry, context) = _uncounted[i];
            if (stored.Contains(row))
            {
                _uncounted.RemoveAt(i);
                _metrics.Audited(entry, context);
            }
        }
    }

    private static string? Truncate(string? value, int max) => value is null || value.Length <= max ? value : value[..max];
}

/// <summary>For the CLI and background work: no HTTP request behind the event.</summary>
public sealed class FixedAuditContextAccessor(AuditContext context) : IAuditContextAccessor
{
    public AuditContext Current => context;
}
