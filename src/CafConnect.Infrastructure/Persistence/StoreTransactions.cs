using Microsoft.EntityFrameworkCore;

namespace CafConnect.Infrastructure.Persistence;

/// <summary>
/// One explicit transaction through the provider's execution strategy (PostgreSQL and SQL Server retry, docs/decisions.md
/// #29): <paramref name="work"/>, the save and the commit, run again from the start when the strategy retries.
/// </summary>
public static class StoreTransactions
{
    /// <remarks>
    /// A retry follows a failure after which the server applied nothing, but the context still holds what the failed
    /// attempt added (its audit rows, its outbox message): those are dropped before the work runs again, or the retry
    /// would store them twice (or fail on the message's unique idempotency key). Rows the context held before the first
    /// attempt stay; changes to loaded entities are set again by the work (values, never increments).
    /// </remarks>
    public static Task<T> InTransactionAsync<T>(this DbContext db, Func<CancellationToken, Task<T>> work, CancellationToken cancellationToken)
    {
        var pendingBefore = db.ChangeTracker.Entries().Where(e => e.State == EntityState.Added)
            .Select(e => e.Entity).ToHashSet(ReferenceEqualityComparer.Instance);
        var attempts = 0;
        return db.Database.CreateExecutionStrategy().ExecuteAsync(async ct =>
        {
            if (attempts++ > 0)
            {
                foreach (var added in db.ChangeTracker.Entries().Where(e => e.State == EntityState.Added && !pendingBefore.Contains(e.Entity)).ToList())
                {
                    added.State = EntityState.Detached;
                }
            }
            await using var transaction = await db.Database.BeginTransactionAsync(ct);
            var result = await work(ct);
            await db.SaveChangesAsync(ct);
            await transaction.CommitAsync(ct);
            return result;
        }, cancellationToken);
    }
}
