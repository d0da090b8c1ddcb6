using CafConnect.Infrastructure.Persistence;

namespace CafConnect.Application.Persistence;

/// <summary>
/// The one save point of a use case. Everything a use case changes — the person, the flow, the outbox messages, the
/// audit lines (<see cref="Infrastructure.Audit.AuditTrail.Append"/>) — is pending in the request's store context until
/// the use case calls <see cref="CommitAsync"/>, once, at its end: either all of it is stored or none (docs/decisions.md #22).
/// </summary>
public interface IUnitOfWork
{
    Task CommitAsync(CancellationToken cancellationToken = default);
}

/// <summary>The unit of work of one request (or one CLI command): the scoped EF Core context.</summary>
internal sealed class StoreUnitOfWork(CafConnectDbContext db) : IUnitOfWork
{
    public Task CommitAsync(CancellationToken cancellationToken = default) => db.SaveChangesAsync(cancellationToken);
}
