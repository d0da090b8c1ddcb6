using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;
using OpenIddict.EntityFrameworkCore;
using OpenIddict.EntityFrameworkCore.Models;

namespace CafConnect.Infrastructure.Persistence;

/// <summary>
/// Token and authorization rows get time-ordered ids (UUID version 7, as text) instead of the random GUID that
/// OpenIddict's entities take in their constructor (docs/decisions.md #58; bench/README.md, "Refresh in the large
/// store"). A random key puts every new row on a random leaf of the primary key's B-tree: in a store of millions of
/// tokens that leaf is rarely in PostgreSQL's cache and, after each checkpoint, its first change writes the whole page
/// to the WAL. Time-ordered keys land on the index's last leaves, which stay in memory. Set when OpenIddict instantiates
/// a new entity (its stores' extension point), so an id set by a caller is kept. The id is no secret: it proves nothing
/// (codes are found by their random reference id; access and refresh tokens are signed and encrypted), and it only
/// tells when the row was written, which its creation date column and the token's own <c>iat</c> tell already.
/// </summary>
public static class TimeOrderedIds
{
    public static OpenIddictEntityFrameworkCoreToken Assign(OpenIddictEntityFrameworkCoreToken token)
    {
        token.Id = Guid.CreateVersion7().ToString();
        return token;
    }

    public static OpenIddictEntityFrameworkCoreAuthorization Assign(OpenIddictEntityFrameworkCoreAuthorization authorization)
    {
        authorization.Id = Guid.CreateVersion7().ToString();
        return authorization;
    }
}

/// <summary>OpenIddict's Entity Framework Core authorization store, with time-ordered ids (<see cref="TimeOrderedIds"/>).</summary>
public sealed class TimeOrderedAuthorizationStore(
    IMemoryCache cache, IOpenIddictEntityFrameworkCoreContext context, IOptionsMonitor<OpenIddictEntityFrameworkCoreOptions> options)
    : OpenIddictEntityFrameworkCoreAuthorizationStore(cache, context, options)
{
    public override async ValueTask<OpenIddictEntityFrameworkCoreAuthorization> InstantiateAsync(CancellationToken cancellationToken) =>
        TimeOrderedIds.Assign(await base.InstantiateAsync(cancellationToken));
}
