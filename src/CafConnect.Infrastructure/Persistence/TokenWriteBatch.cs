using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;
using OpenIddict.EntityFrameworkCore;
using OpenIddict.EntityFrameworkCore.Models;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace CafConnect.Infrastructure.Persistence;

/// <summary>How the one write of a grant ended.</summary>
public enum TokenWriteOutcome
{
    /// <summary>Everything the request had pending — the redeemed token, the new tokens, the audit line — is stored.</summary>
    Stored,

    /// <summary>
    /// The code or refresh token this grant redeems was redeemed (or revoked) by another request since it was read: nothing
    /// of this request is stored. A reuse, to be answered as one.
    /// </summary>
    AlreadyRedeemed,
}

/// <summary>
/// The token rows of one grant, written once (docs/decisions.md #34). OpenIddict saves each token entry on its own: the
/// redeemed code or refresh token, then the access, refresh and ID tokens, each a round trip and an implicit transaction,
/// and our audit line before them. While a batch is open (from just before OpenIddict redeems the presented token to
/// just before it writes the answer: <c>CafConnect.IdP.Protocol.TokenWriteHandlers</c>), <see cref="BatchedTokenStore"/>
/// only adds those rows to the request's store context, and <see cref="FlushAsync"/> saves them with everything else the
/// request has pending — the audit line — in one <c>SaveChanges</c>: one transaction, through the provider's retrying
/// execution strategy. So a token is handed out if and only if it and its audit line are stored, and the check of the
/// redeemed row's concurrency token (one use of a code or refresh token) is made in the same transaction as the inserts.
/// Outside a batch (revocation, introspection, the CLI, the admin API) the store saves at once, as OpenIddict's does.
/// </summary>
public sealed class TokenWriteBatch(CafConnectDbContext db, CoalescedInserts? coalesced = null, Audit.AuditTrail? audit = null)
{
    public bool IsOpen { get; private set; }

    public void Open() => IsOpen = true;

    /// <summary>
    /// Saves what the request has pending, once. On a lost race for the redeemed token, or any failure, nothing of the
    /// request stays pending: a later save of this context can never store tokens that were not handed out.
    /// </summary>
    public async Task<TokenWriteOutcome> FlushAsync(CancellationToken cancellationToken)
    {
        IsOpen = false;
        var transactionBehavior = db.Database.AutoTransactionBehavior;
        try
        {
            // SaveChanges runs in the provider's execution strategy: retried only on failures the server certainly did
            // not apply (docs/decisions.md #29), in one transaction when it holds more than one statement.
            if (IsOneImplicitTransaction())
            {
                if (await TryCoalescedInsertAsync())
                {
                    return TokenWriteOutcome.Stored;
                }
                db.Database.AutoTransactionBehavior = AutoTransactionBehavior.Never;
            }
            await db.SaveChangesAsync(cancellationToken);
            return TokenWriteOutcome.Stored;
        }
        catch (DbUpdateConcurrencyException conflict) when (conflict.Entries.Any(e => e.Entity is OpenIddictEntityFrameworkCoreToken { Status: "redeemed" }))
        {
            Discard();
            return TokenWriteOutcome.AlreadyRedeemed;
        }
        catch
        {
            Discard();
            throw;
        }
        finally
        {
            db.Database.AutoTransactionBehavior = transactionBehavior;
        }
    }

    /// <summary>
    /// Whether PostgreSQL itself makes this write atomic, so that EF Core's BEGIN and COMMIT (a round trip, about 6 % of a
    /// client-credentials grant's CPU: docs/decisions.md #47) buy nothing. EF Core sends a save's statements as one Npgsql
    /// batch, and PostgreSQL runs a batch sent without a transaction as one implicit transaction: if any statement fails,
    /// none is kept. That holds for inserts only (a client-credentials grant: the access token and the audit line). A write
    /// that updates or deletes keeps the explicit transaction: EF Core checks an UPDATE's affected rows (the one use of a
    /// code or refresh token) only after the batch ran, when an implicit transaction has already committed the inserts
    /// beside it.
    /// </summary>
    private bool IsOneImplicitTransaction()
    {
        if (!db.Database.IsNpgsql() || db.Database.CurrentTransaction is not null)
        {
            return false;
        }
        var inserts = 0;
        foreach (var entry in db.ChangeTracker.Entries())
        {
            switch (entry.State)
            {
                case EntityState.Added:
                    inserts++;
                    break;
                case EntityState.Modified or EntityState.Deleted:
                    return false;
            }
        }
        return inserts > 1;
    }

    /// <summary>
    /// Inserts only (a client-credentials grant) go with other requests' inserts when PostgreSQL holds the tokens
    /// (<see cref="CoalescedInserts"/>, docs/decisions.md #48). Once stored, the rows leave this context, as after a save
    /// nothing more is written of them; the audit lines among them are counted as a save counts them.
    /// </summary>
    private async Task<bool> TryCoalescedInsertAsync()
    {
        if (coalesced is null)
        {
            return false;
        }
        var entries = db.ChangeTracker.Entries().Where(e => e.State == EntityState.Added).ToList();
        if (!coalesced.CanWrite(entries) || !await coalesced.TryInsertAsync(entries))
        {
            return false;
        }
        audit?.CountStoredElsewhere(entries.Select(e => e.Entity));
        foreach (var entry in entries)
        {
            entry.State = EntityState.Detached;
        }
        return true;
    }

    /// <summary>Drops whatever the request had pending (a sign-in refused after the batch opened, a failed flush).</summary>
    public void Discard()
    {
        IsOpen = false;
        db.ChangeTracker.Clear();
    }
}

/// <summary>
/// OpenIddict's Entity Framework Core token store, whose creations and updates wait for the grant's one write while a
/// <see cref="TokenWriteBatch"/> is open (registered with <c>ReplaceTokenStore</c>, OpenIddict's extension point).
/// </summary>
public sealed class BatchedTokenStore(
    IMemoryCache cache, IOpenIddictEntityFrameworkCoreContext context, IOptionsMonitor<OpenIddictEntityFrameworkCoreOptions> options, TokenWriteBatch batch)
    : OpenIddictEntityFrameworkCoreTokenStore(cache, context, options)
{
    /// <summary>A new token, keyed by a time-ordered id (<see cref="TimeOrderedIds"/>).</summary>
    public override async ValueTask<OpenIddictEntityFrameworkCoreToken> InstantiateAsync(CancellationToken cancellationToken) =>
        TimeOrderedIds.Assign(await base.InstantiateAsync(cancellationToken));

    public override async ValueTask CreateAsync(OpenIddictEntityFrameworkCoreToken token, CancellationToken cancellationToken)
    {
        if (!batch.IsOpen)
        {
            await base.CreateAsync(token, cancellationToken);
            return;
        }
        // The key is set here (before the write), so OpenIddict can put the token's id in the token before the write.
        (await Context.GetDbContextAsync(cancellationToken)).Add(token);
    }

    public override async ValueTask UpdateAsync(OpenIddictEntityFrameworkCoreToken token, CancellationToken cancellationToken)
    {
        ClearPayloadOnceRedeemed(token);
        if (!batch.IsOpen)
        {
            await base.UpdateAsync(token, cancellationToken);
            return;
        }
        var store = await Context.GetDbContextAsync(cancellationToken);
        var entry = store.Entry(token);
        if (entry.State == EntityState.Added)
        {
            // Created in this batch (a code and then its payload): the one insert carries the change.
            return;
        }
        // As OpenIddict's store does, but checked at the flush: the row is written only if nobody changed it since it was
        // read (the original concurrency token is in the UPDATE's WHERE clause).
        token.ConcurrencyToken = Guid.NewGuid().ToString();
        if (entry.State == EntityState.Detached)
        {
            store.Attach(token);
            store.Update(token);
        }
        // A token read by this request (a redeemed code or refresh token: FindByIdAsync tracks it) is left to change
        // detection at the flush, which writes the columns that changed — status, redemption date, concurrency token —
        // rather than every column as Update would (the payload and properties are the largest; bench/README.md, "Refresh").
    }

    /// <summary>
    /// A token by its id, with its authorization, as OpenIddict's store reads it but without joining its client's row and
    /// through a query compiled once (bench/README.md, "Refresh"). OpenIddict reads a token by id at every use of a refresh
    /// token and at every validation of an access token; what it then asks of the token's client is its id
    /// (<see cref="GetApplicationIdAsync"/>), which the token row holds. The authorization is included because OpenIddict
    /// checks it next and finds it among the tracked entities instead of querying it.
    /// </summary>
    public override ValueTask<OpenIddictEntityFrameworkCoreToken?> FindByIdAsync(string identifier, CancellationToken cancellationToken) =>
        FindWithAuthorizationAsync(identifier, byReferenceId: false, cancellationToken);

    /// <summary>A token by its reference id (an authorization code: codes are reference tokens here), read as <see cref="FindByIdAsync"/>.</summary>
    public override ValueTask<OpenIddictEntityFrameworkCoreToken?> FindByReferenceIdAsync(string identifier, CancellationToken cancellationToken) =>
        FindWithAuthorizationAsync(identifier, byReferenceId: true, cancellationToken);

    private async ValueTask<OpenIddictEntityFrameworkCoreToken?> FindWithAuthorizationAsync(string identifier, bool byReferenceId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(identifier);
        var store = await Context.GetDbContextAsync(cancellationToken);
        // As OpenIddict's store: a token this request already tracks (created or read) is the one answered.
        foreach (var entry in store.ChangeTracker.Entries<OpenIddictEntityFrameworkCoreToken>())
        {
            if ((byReferenceId ? entry.Entity.ReferenceId : entry.Entity.Id) == identifier)
            {
                return entry.Entity;
            }
        }
        var queries = CompiledQueries.GetValue(store.Model, static _ => new TokenQueries());
        return await (byReferenceId ? queries.ByReferenceId : queries.ById)(store, identifier, cancellationToken);
    }

    private sealed class TokenQueries
    {
        public readonly Func<DbContext, string, CancellationToken, Task<OpenIddictEntityFrameworkCoreToken?>> ById =
            EF.CompileAsyncQuery((DbContext store, string identifier, CancellationToken _) =>
                store.Set<OpenIddictEntityFrameworkCoreToken>().Include(t => t.Authorization).AsTracking().FirstOrDefault(t => t.Id == identifier));

        public readonly Func<DbContext, string, CancellationToken, Task<OpenIddictEntityFrameworkCoreToken?>> ByReferenceId =
            EF.CompileAsyncQuery((DbContext store, string identifier, CancellationToken _) =>
                store.Set<OpenIddictEntityFrameworkCoreToken>().Include(t => t.Authorization).AsTracking().FirstOrDefault(t => t.ReferenceId == identifier));
    }

    // A compiled query serves one model only (EF Core refuses another): one set per model, so that a process holding several
    // (the tests: SQLite and PostgreSQL side by side) compiles them once for each.
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<Microsoft.EntityFrameworkCore.Metadata.IModel, TokenQueries> CompiledQueries = new();

    /// <summary>The token's client id from the row's foreign key when the client's row was not loaded with it (<see cref="FindByIdAsync"/>).</summary>
    public override async ValueTask<string?> GetApplicationIdAsync(OpenIddictEntityFrameworkCoreToken token, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(token);
        if (token.Application is not null)
        {
            return token.Application.Id;
        }
        var store = await Context.GetDbContextAsync(cancellationToken);
        var entry = store.Entry(token);
        return entry.State == EntityState.Detached
            ? await base.GetApplicationIdAsync(token, cancellationToken)
            : entry.Property<string?>(ApplicationForeignKey).CurrentValue;
    }

    /// <summary>The shadow foreign key OpenIddict's model gives a token's client (the column of the same name).</summary>
    private const string ApplicationForeignKey = "ApplicationId";

    /// <summary>
    /// A redeemed authorization code keeps no payload (docs/decisions.md #37). Codes are reference tokens: the row holds
    /// the whole encrypted code (≈ 3 KB, the largest part of a session's storage), which OpenIddict needs only to redeem
    /// it. What a replay needs — the row, found by its reference id, its status, type, expiry and authorization — stays;
    /// <c>CafConnect.IdP.Protocol.RedeemedCodes</c> answers a replay of such a row as OpenIddict answers a replayed code.
    /// Cleared in the same write that marks the code redeemed (the grant's one write, or nothing at all). Refresh tokens
    /// are not reference tokens here: their rows hold no payload to clear.
    /// </summary>
    private static void ClearPayloadOnceRedeemed(OpenIddictEntityFrameworkCoreToken token)
    {
        // The type as OpenIddict writes it (its URN), or as versions before OpenIddict 5 wrote it.
        if (token is { Type: TokenTypeIdentifiers.Private.AuthorizationCode or "authorization_code", Status: Statuses.Redeemed })
        {
            token.Payload = null;
        }
    }

    // Revocations change each row's concurrency token as well as its status. OpenIddict's bulk revocations set the status
    // alone, so a refresh or code redemption that read the token before a revocation (a password reset, a file event, an
    // incident) and wrote after it still matched the concurrency token it had read: its "redeemed" overwrote "revoked" and
    // it handed out fresh tokens. With a new concurrency token the redemption's write finds the row changed and is refused
    // as a lost race (TokenWriteBatch.FlushAsync), in every journey that revokes through the token manager. And the rows
    // are chosen by the UPDATE, pass after pass, until none is left (RevokeAsync below, docs/decisions.md #38): OpenIddict's
    // manager routes its bulk revocations, and OpenIddict's server its reuse detection (RevokeByAuthorizationIdAsync),
    // to these overrides.

    public override async ValueTask<long> RevokeBySubjectAsync(string subject, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(subject);
        var store = await Context.GetDbContextAsync(cancellationToken);
        return await RevokeAsync(store.Set<OpenIddictEntityFrameworkCoreToken>().Where(t => t.Subject == subject), cancellationToken);
    }

    public override async ValueTask<long> RevokeByAuthorizationIdAsync(string identifier, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(identifier);
        var store = await Context.GetDbContextAsync(cancellationToken);
        return await RevokeAsync(store.Set<OpenIddictEntityFrameworkCoreToken>().Where(t => t.Authorization!.Id == identifier), cancellationToken);
    }

    public override async ValueTask<long> RevokeByApplicationIdAsync(string identifier, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(identifier);
        var store = await Context.GetDbContextAsync(cancellationToken);
        return await RevokeAsync(store.Set<OpenIddictEntityFrameworkCoreToken>().Where(t => t.Application!.Id == identifier), cancellationToken);
    }

    public override async ValueTask<long> RevokeAsync(string? subject, string? client, string? status, string? type, CancellationToken cancellationToken)
    {
        var store = await Context.GetDbContextAsync(cancellationToken);
        IQueryable<OpenIddictEntityFrameworkCoreToken> tokens = store.Set<OpenIddictEntityFrameworkCoreToken>();
        if (!string.IsNullOrEmpty(subject)) tokens = tokens.Where(t => t.Subject == subject);
        if (!string.IsNullOrEmpty(client)) tokens = tokens.Where(t => t.Application!.Id == client);
        if (!string.IsNullOrEmpty(status)) tokens = tokens.Where(t => t.Status == status);
        if (!string.IsNullOrEmpty(type)) tokens = tokens.Where(t => t.Type == type);
        return await RevokeAsync(tokens, cancellationToken);
    }

    /// <summary>
    /// Revokes every token <paramref name="tokens"/> matches that is not revoked yet, each with a new concurrency token,
    /// and returns how many it changed. The rows are chosen by the UPDATE itself (docs/decisions.md #38), never listed
    /// first, and the UPDATE runs again until it changes nothing, because one statement is not enough on PostgreSQL: its
    /// UPDATE sees the rows committed when the statement started. A refresh that marked its token redeemed before this
    /// statement reached it makes the statement wait for the refresh's commit, then revoke that token, but the tokens the
    /// refresh inserted in the same transaction are not in the statement's snapshot and would stay valid (their access
    /// token accepted by introspection and userinfo for its 5 minutes). The next statement sees them: a pass that
    /// changes nothing means no refresh of a matched token was in flight, and every refresh that starts later finds its
    /// token's concurrency token changed and stores nothing (<see cref="TokenWriteBatch.FlushAsync"/>). On SQLite, whose
    /// writers take turns, the second pass is a no-op.
    /// </summary>
    public static async Task<int> RevokeAsync(IQueryable<OpenIddictEntityFrameworkCoreToken> tokens, CancellationToken cancellationToken)
    {
        var revoked = 0;
        for (var pass = 1; ; pass++)
        {
            var changed = Guid.NewGuid().ToString();
            var count = await tokens.Where(t => t.Status != Statuses.Revoked)
                .ExecuteUpdateAsync(s => s.SetProperty(t => t.Status, Statuses.Revoked).SetProperty(t => t.ConcurrencyToken, changed), cancellationToken);
            revoked += count;
            if (count == 0)
            {
                return revoked;
            }
            if (pass == MaxRevocationPasses)
            {
                // A pass finds rows only if a refresh had locked a matched token before the previous pass reached it;
                // the passes follow each other within milliseconds and a new refresh needs a whole request. Rows still
                // appearing after 20 passes mean something keeps minting tokens: fail rather than report a revocation
                // that left valid tokens (in the caller's transaction nothing is changed; outside one, what the passes
                // revoked stays revoked).
                throw new InvalidOperationException($"tokens were still being issued after {MaxRevocationPasses} revocation passes");
            }
        }
    }

    private const int MaxRevocationPasses = 20;
}
