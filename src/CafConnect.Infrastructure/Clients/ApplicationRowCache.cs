using System.Collections.Concurrent;
using Microsoft.EntityFrameworkCore;
using OpenIddict.Abstractions;
using OpenIddict.Core;
using OpenIddict.EntityFrameworkCore.Models;
using CafConnect.Infrastructure.Persistence;

namespace CafConnect.Infrastructure.Clients;

/// <summary>
/// The client rows read from the store in the last <see cref="Lifetime"/>, shared by every request of this process
/// (docs/decisions.md #39). OpenIddict's own entity cache lives in the request's scope, so every grant read its client's
/// row again: one of the two or three round trips of a client-credentials grant.
/// </summary>
/// <remarks>
/// Bound on staleness: a change made through this process's application manager (admin API, configuration sync, CLI
/// in its own process) evicts the row at once here; with Redis, a change made by another process (another instance, the
/// CLI) is announced and evicts here as soon as the message arrives (<see cref="ClientRowChanges"/>,
/// <see cref="ClientChangesSubscriber"/>, docs/decisions.md #45). <see cref="Lifetime"/> bounds what a lost message
/// (Redis down, a subscriber reconnecting, a writer of an earlier version) or a process without Redis leaves stale: a
/// disabled client or a rotated secret is refused everywhere within 5 seconds at worst; tokens it already holds live
/// their own lifetime either way.
/// The rows kept here are templates never handed out: each request gets its own copy, tracked by its own context.
/// </remarks>
public sealed class ApplicationRowSnapshots(TimeProvider time)
{
    /// <summary>How long a row read from the store serves other requests.</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromSeconds(5);

    private readonly ConcurrentDictionary<string, Snapshot> _byClientId = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Snapshot> _byId = new(StringComparer.Ordinal);
    private long _generation;

    private sealed record Snapshot(OpenIddictEntityFrameworkCoreApplication Template, DateTimeOffset ExpiresAt);

    /// <summary>Taken before a store read: a row read while an eviction happened is not kept (it may predate the change).</summary>
    public long Generation => Interlocked.Read(ref _generation);

    public OpenIddictEntityFrameworkCoreApplication? FindByClientId(string clientId) => Fresh(_byClientId, clientId);

    public OpenIddictEntityFrameworkCoreApplication? FindById(string id) => Fresh(_byId, id);

    /// <summary>Keeps a copy of <paramref name="row"/> unless an eviction happened since <paramref name="generationBeforeRead"/>.</summary>
    public void Keep(OpenIddictEntityFrameworkCoreApplication row, long generationBeforeRead)
    {
        if (row.Id is null || row.ClientId is null)
        {
            return;
        }
        var snapshot = new Snapshot(Copy(row), time.GetUtcNow() + Lifetime);
        lock (_byId)
        {
            if (Interlocked.Read(ref _generation) != generationBeforeRead)
            {
                return;
            }
            _byId[row.Id] = snapshot;
            _byClientId[row.ClientId] = snapshot;
        }
    }

    /// <summary>
    /// Forgets every row, and makes a read that overlapped this call not kept: for each change made through this
    /// process's application manager, and for each change announced by another process (docs/decisions.md #45).
    /// </summary>
    public void EvictAll()
    {
        lock (_byId)
        {
            Interlocked.Increment(ref _generation);
            _byId.Clear();
            _byClientId.Clear();
        }
    }

    private OpenIddictEntityFrameworkCoreApplication? Fresh(ConcurrentDictionary<string, Snapshot> index, string key)
    {
        if (!index.TryGetValue(key, out var snapshot))
        {
            return null;
        }
        if (snapshot.ExpiresAt <= time.GetUtcNow())
        {
            index.TryRemove(new KeyValuePair<string, Snapshot>(key, snapshot));
            return null;
        }
        return snapshot.Template;
    }

    /// <summary>A detached copy of every stored column (not the navigations, which the cache never serves).</summary>
    public static OpenIddictEntityFrameworkCoreApplication Copy(OpenIddictEntityFrameworkCoreApplication row) => new()
    {
        ApplicationType = row.ApplicationType,
        ClientId = row.ClientId,
        ClientSecret = row.ClientSecret,
        ClientType = row.ClientType,
        ConcurrencyToken = row.ConcurrencyToken,
        ConsentType = row.ConsentType,
        DisplayName = row.DisplayName,
        DisplayNames = row.DisplayNames,
        Id = row.Id,
        JsonWebKeySet = row.JsonWebKeySet,
        Permissions = row.Permissions,
        PostLogoutRedirectUris = row.PostLogoutRedirectUris,
        Properties = row.Properties,
        RedirectUris = row.RedirectUris,
        Requirements = row.Requirements,
        Settings = row.Settings,
    };
}

/// <summary>
/// Whether the current request must judge its client by the row as the store holds it now (docs/decisions.md #44): set
/// by the host for the requests whose answer sends a browser somewhere the registration names — the authorization
/// endpoint (redirect URIs: a removed one must not receive a code, not even for <see cref="ApplicationRowSnapshots.Lifetime"/>)
/// and the end-session endpoint (post-logout redirect URIs). Those requests also see a disabled client refused at once.
/// Back-channel requests (token, introspection, revocation), the hot path the shared rows are for, keep them.
/// </summary>
public sealed class ApplicationRowReads
{
    /// <summary>True once <see cref="RequireStore"/> was called for this request.</summary>
    public bool FromStore { get; private set; }

    public void RequireStore() => FromStore = true;
}

/// <summary>
/// OpenIddict's entity cache for applications (replacing its per-request one): lookups by client id or id are served
/// from <see cref="ApplicationRowSnapshots"/> when fresh, as a copy attached to the request's context (so that token
/// rows can reference it and OpenIddict's writes see a tracked entity, exactly as after a store read); lookups by
/// redirect URI go to the store. Changes through the manager evict. A request that requires the store
/// (<see cref="ApplicationRowReads"/>) reads each row from the store once and keeps it for its own later lookups.
/// </summary>
public sealed class SharedApplicationCache(
    ApplicationRowSnapshots snapshots,
    IOpenIddictApplicationStore<OpenIddictEntityFrameworkCoreApplication> store,
    CafConnectDbContext db,
    ApplicationRowReads reads) : IOpenIddictApplicationCache<OpenIddictEntityFrameworkCoreApplication>
{
    // Rows this request read from the store while it required the store: OpenIddict looks the client up several times
    // per request, and the first read is as fresh as the request needs.
    private readonly Dictionary<string, OpenIddictEntityFrameworkCoreApplication> _readFromStoreByClientId = new(StringComparer.Ordinal);
    private readonly Dictionary<string, OpenIddictEntityFrameworkCoreApplication> _readFromStoreById = new(StringComparer.Ordinal);

    public ValueTask AddAsync(OpenIddictEntityFrameworkCoreApplication application, CancellationToken cancellationToken)
    {
        // Called by the manager after it created or updated a row: what others hold is older.
        snapshots.EvictAll();
        ForgetThisRequestsReads();
        return ValueTask.CompletedTask;
    }

    public ValueTask RemoveAsync(OpenIddictEntityFrameworkCoreApplication application, CancellationToken cancellationToken)
    {
        snapshots.EvictAll();
        ForgetThisRequestsReads();
        return ValueTask.CompletedTask;
    }

    public ValueTask<OpenIddictEntityFrameworkCoreApplication?> FindByClientIdAsync(string identifier, CancellationToken cancellationToken) =>
        FindAsync(identifier, snapshots.FindByClientId, _readFromStoreByClientId, store.FindByClientIdAsync, cancellationToken);

    public ValueTask<OpenIddictEntityFrameworkCoreApplication?> FindByIdAsync(string identifier, CancellationToken cancellationToken) =>
        FindAsync(identifier, snapshots.FindById, _readFromStoreById, store.FindByIdAsync, cancellationToken);

    /// <summary>
    /// The fresh snapshot under <paramref name="identifier"/>, attached to this request; else the store's row, kept for
    /// the next requests unless an eviction happened during the read. A request that requires the store
    /// (<see cref="ApplicationRowReads"/>) never takes a snapshot: its first read of the row serves its later lookups.
    /// </summary>
    private async ValueTask<OpenIddictEntityFrameworkCoreApplication?> FindAsync(
        string identifier,
        Func<string, OpenIddictEntityFrameworkCoreApplication?> findSnapshot,
        Dictionary<string, OpenIddictEntityFrameworkCoreApplication> readFromStoreThisRequest,
        Func<string, CancellationToken, ValueTask<OpenIddictEntityFrameworkCoreApplication?>> readStore,
        CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(identifier);
        if (reads.FromStore)
        {
            if (readFromStoreThisRequest.TryGetValue(identifier, out var read))
            {
                return read;
            }
        }
        else if (findSnapshot(identifier) is { } template)
        {
            return Attach(template);
        }
        var generation = snapshots.Generation;
        var row = await readStore(identifier, cancellationToken);
        Remember(row, generation);
        return row;
    }

    private void Remember(OpenIddictEntityFrameworkCoreApplication? row, long generation)
    {
        if (row is null)
        {
            return;
        }
        snapshots.Keep(row, generation);
        if (reads.FromStore && row.Id is not null && row.ClientId is not null)
        {
            _readFromStoreByClientId[row.ClientId] = row;
            _readFromStoreById[row.Id] = row;
        }
    }

    private void ForgetThisRequestsReads()
    {
        _readFromStoreByClientId.Clear();
        _readFromStoreById.Clear();
    }

    public IAsyncEnumerable<OpenIddictEntityFrameworkCoreApplication> FindByPostLogoutRedirectUriAsync(string uri, CancellationToken cancellationToken) =>
        store.FindByPostLogoutRedirectUriAsync(uri, cancellationToken);

    public IAsyncEnumerable<OpenIddictEntityFrameworkCoreApplication> FindByRedirectUriAsync(string uri, CancellationToken cancellationToken) =>
        store.FindByRedirectUriAsync(uri, cancellationToken);

    /// <summary>The request's own copy, tracked as unchanged (the one already tracked if this request has read the row).</summary>
    private OpenIddictEntityFrameworkCoreApplication Attach(OpenIddictEntityFrameworkCoreApplication template)
    {
        var applications = db.Set<OpenIddictEntityFrameworkCoreApplication>();
        if (applications.Local.FindEntry(template.Id!) is { } tracked)
        {
            return tracked.Entity;
        }
        var copy = ApplicationRowSnapshots.Copy(template);
        // The entry's state alone, not Attach: Attach walks the entity's navigations to attach a graph, and a copy has
        // none loaded (EF Core's graph attacher fell from 5.8 to 4.0 % of a client-credentials grant's samples: bench/README.md).
        db.Entry(copy).State = EntityState.Unchanged;
        return copy;
    }
}
