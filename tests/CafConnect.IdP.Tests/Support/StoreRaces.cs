using System.Data.Common;
using CafConnect.IdP.Tests.Features.FirstLogin;
using CafConnect.Infrastructure.Persistence;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace CafConnect.IdP.Tests.Support;

/// <summary>
/// What the race tests share: a hook in the host's store contexts, and another writer committing between a journey's
/// read and its commit — at once, or "in flight" (still uncommitted while the journey's transaction runs).
/// </summary>
public static class StoreRaces
{
    /// <summary>Adds <paramref name="interceptor"/> to the store context of either provider.</summary>
    public static void AddStoreInterceptor(this IServiceCollection services, IInterceptor interceptor)
    {
        services.ConfigureDbContext<SqliteCafConnectDbContext>(o => o.AddInterceptors(interceptor));
        services.ConfigureDbContext<PostgreSqlCafConnectDbContext>(o => o.AddInterceptors(interceptor));
    }

    /// <summary>
    /// Another writer, as another request or instance would write: <paramref name="work"/> in its own scope and
    /// transaction, committed before this returns, or — <paramref name="inFlight"/> — half a second later. The task
    /// returned ends with that commit (await it before checking the store).
    /// </summary>
    public static async Task<Task> CompeteAsync(this JourneyHost host, bool inFlight, Func<CafConnectDbContext, Task> work)
    {
        var scope = host.Host.Services.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<CafConnectDbContext>();
        IDbContextTransaction? transaction = null;
        await db.Database.CreateExecutionStrategy().ExecuteAsync(async () =>
        {
            transaction = await db.Database.BeginTransactionAsync();
            await work(db);
        });
        async Task CommitAsync()
        {
            await transaction!.CommitAsync();
            await transaction.DisposeAsync();
            scope.Dispose();
        }
        if (!inFlight)
        {
            await CommitAsync();
            return Task.CompletedTask;
        }
        return Task.Run(async () =>
        {
            await Task.Delay(500);
            await CommitAsync();
        });
    }
}

/// <summary>
/// Runs an armed action once, when a store context that <paramref name="when"/> accepts is about to start a transaction
/// (a journey's commit), so that the action — another writer — comes between the journey's read and its commit.
/// </summary>
public sealed class BeforeTransactionStarts(Func<DbContext, bool> when) : DbTransactionInterceptor
{
    private Func<Task>? _action;

    public bool Fired { get; private set; }

    public void Arm(Func<Task> action) => Volatile.Write(ref _action, action);

    public override async ValueTask<InterceptionResult<DbTransaction>> TransactionStartingAsync(DbConnection connection, TransactionStartingEventData eventData,
        InterceptionResult<DbTransaction> result, CancellationToken cancellationToken = default)
    {
        if (eventData.Context is { } context && when(context) && Interlocked.Exchange(ref _action, null) is { } action)
        {
            await action();
            Fired = true;
        }
        return result;
    }
}
