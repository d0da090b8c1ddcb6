using System.Text.Json;
using CafConnect.Infrastructure.Admin;
using CafConnect.Infrastructure.Audit;
using CafConnect.Infrastructure.Persistence;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.EntityFrameworkCore;

namespace CafConnect.Application.Admin;

/// <summary>
/// Runs an admin request once per id: the change, its audit rows, its outbox messages and the record of the answer are
/// one transaction. A replay with the same payload gets the stored answer; a different payload under the same id, a 409.
/// Two concurrent deliveries of one id: the unique key lets one commit, the other answers as a replay.
/// </summary>
public sealed class IdempotentAdminRequests(CafConnectDbContext db, IDataProtectionProvider protection, AuditTrail audit, TimeProvider clock)
{
    public async Task<AdminResponse> RunAsync(string key, string payloadHash, Func<CancellationToken, Task<AdminResponse>> work, CancellationToken cancellationToken)
    {
        if (await ReplayAsync(key, payloadHash, cancellationToken) is { } earlier)
        {
            return earlier;
        }

        // Outbox bodies are encrypted with the Data Protection key ring, kept in the store: create it before the
        // transaction if needed (inside, SQLite would need a second connection while the first holds the lock).
        protection.CreateProtector("CafConnect.Admin.KeyRingCheck").Protect([0]);

        var strategy = db.Database.CreateExecutionStrategy();
        try
        {
            return await strategy.ExecuteAsync(async ct =>
            {
                db.ChangeTracker.Clear();
                await using var transaction = await db.Database.BeginTransactionAsync(ct);
                var response = await work(ct);
                if (!response.Succeeded)
                {
                    // Nothing of a refused request is kept.
                    await transaction.RollbackAsync(ct);
                    db.ChangeTracker.Clear();
                    if (response.RefusalAudit is { } refusal)
                    {
                        // Outside the rolled-back transaction: the refusal itself is kept.
                        audit.Append(refusal);
                        await db.SaveChangesAsync(ct);
                    }
                    return response;
                }
                db.Set<ProcessedAdminRequest>().Add(new ProcessedAdminRequest
                {
                    Key = key,
                    PayloadHash = payloadHash,
                    StatusCode = response.Status,
                    Response = response.Body?.GetRawText() ?? "{}",
                    ProcessedAt = clock.GetUtcNow(),
                });
                await db.SaveChangesAsync(ct);
                await transaction.CommitAsync(ct);
                return response;
            }, cancellationToken);
        }
        catch (DbUpdateException)
        {
            // Another delivery of the same id committed first (unique key): answer as that one did.
            db.ChangeTracker.Clear();
            if (await ReplayAsync(key, payloadHash, cancellationToken) is { } concurrent)
            {
                return concurrent;
            }
            throw;
        }
    }

    private async Task<AdminResponse?> ReplayAsync(string key, string payloadHash, CancellationToken cancellationToken)
    {
        var earlier = await db.Set<ProcessedAdminRequest>().AsNoTracking().FirstOrDefaultAsync(r => r.Key == key, cancellationToken);
        if (earlier is null)
        {
            return null;
        }
        if (!string.Equals(earlier.PayloadHash, payloadHash, StringComparison.Ordinal))
        {
            return AdminResponse.Failure(AdminProblem.Conflict("idempotency_conflict",
                "This id was already used for a request with a different payload; use a new id for a new request."));
        }
        using var document = JsonDocument.Parse(earlier.Response);
        return new AdminResponse(earlier.StatusCode, document.RootElement.Clone(), null) { Replayed = true };
    }
}
