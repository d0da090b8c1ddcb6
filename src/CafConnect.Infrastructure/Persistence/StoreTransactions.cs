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
    /// attempt stay, still to be inserted: the save does not accept the tracked changes, they are accepted once the
    /// strategy returned, i.e. after the commit (EF Core's pattern for an explicit transaction under a retrying strategy;
    /// accepted at the save, a commit that failed would have left them marked stored, and the retry would have lost them).
    /// Changes to loaded entities are set again by the work (values, never increments). A work that throws ends the
    /// attempt: the transaction is rolled back as it is disposed, and nothing is accepted.
    /// </remarks>
    /// <param name="afterSave">
    /// What must follow the write inside the same transaction (e.g. lifting a lock in the throttle's store once the new
    /// password is written): run after the one save, before the commit, on every attempt. It must add nothing to the
    /// context — nothing would save it (a second save would write the first one's rows again, as they are accepted only
    /// after the commit), so anything it adds makes the call throw and the transaction roll back.
    /// </param>
    public static async Task<T> InTransactionAsync<T>(this DbContext db, Func<CancellationToken, Task<T>> work, CancellationToken cancellationToken,
        Func<CancellationToken, Task>? afterSave = null)
    {
        var pendingBefore = db.ChangeTracker.Entries().Where(e => e.State == EntityState.Added)
            .Select(e => e.Entity).ToHashSet(ReferenceEqualityComparer.Instance);
        var attempts = 0;
        var result = await db.Database.CreateExecutionStrategy().ExecuteAsync(async ct =>
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
            await db.SaveChangesAsync(acceptAllChangesOnSuccess: false, ct);
            if (afterSave is not null)
            {
                var pending = PendingEntries(db);
                await afterSave(ct);
                if (PendingEntries(db) != pending)
                {
                    throw new InvalidOperationException("the after-save step added changes that nothing would save");
                }
            }
            await transaction.CommitAsync(ct);
            return result;
        }, cancellationToken);
        db.ChangeTracker.AcceptAllChanges();
        return result;
    }

    private static int PendingEntries(DbContext db) =>
        db.ChangeTracker.Entries().Count(e => e.State is EntityState.Added or EntityState.Modified or EntityState.Deleted);

    /// <inheritdoc cref="InTransactionAsync{T}(DbContext, Func{CancellationToken, Task{T}}, CancellationToken, Func{CancellationToken, Task}?)"/>
    public static Task InTransactionAsync(this DbContext db, Func<CancellationToken, Task> work, CancellationToken cancellationToken) =>
        db.InTransactionAsync(async ct =>
        {
            await work(ct);
            return true;
        }, cancellationToken);
}
