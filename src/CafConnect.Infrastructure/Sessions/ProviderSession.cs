using CafConnect.Infrastructure.Persistence;
using Microsoft.EntityFrameworkCore;

namespace CafConnect.Infrastructure.Sessions;

/// <summary>
/// The server-side record of one sign-in session of the provider (the cookie carries its id). It exists so that a
/// session can be ended from outside the browser that holds it — logout, a new authentication on the same browser,
/// an incident revocation — and the end seen by every instance at the next request (docs/decisions.md #14).
/// </summary>
public sealed class ProviderSession
{
    /// <summary>The random session id of the cookie (also the <c>sid</c> claim of the tokens issued in it).</summary>
    public string Id { get; set; } = string.Empty;
    public Guid PersonId { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset? EndedAt { get; set; }

    /// <summary>Why it ended: <c>logout</c>, <c>replaced</c> (a new authentication on the same browser), <c>incident</c>.</summary>
    public string? EndReason { get; set; }
}

/// <summary>
/// A relying party that received an authorization in a session: whom to tell, through back-channel logout, when the
/// session is revoked. One row per (session, client); <see cref="LogoutDeliveredAt"/> makes delivery once-only.
/// </summary>
public sealed class ProviderSessionClient
{
    public string SessionId { get; set; } = string.Empty;
    public string ClientId { get; set; } = string.Empty;
    public DateTimeOffset FirstAuthorizedAt { get; set; }
    public DateTimeOffset LastAuthorizedAt { get; set; }

    /// <summary>When the client acknowledged (2xx) a logout token for this session; null while none was delivered.</summary>
    public DateTimeOffset? LogoutDeliveredAt { get; set; }
    public int LogoutAttempts { get; set; }
    public string? LastLogoutError { get; set; }
}

/// <summary>
/// The sessions a request ended on the server for a person who is not logging out there — a password replaced ends
/// every other session of the person — and whose relying parties must therefore be told by back-channel logout once
/// the request's unit of work has committed (docs/decisions.md #44). Scoped: one per request; the host reads it after
/// the request. A logout and an incident revocation tell the relying parties themselves and are not listed here.
/// </summary>
public sealed class SessionsEndedByTheServer
{
    private readonly HashSet<string> _ids = new(StringComparer.Ordinal);

    public IReadOnlyCollection<string> Ids => _ids;

    /// <summary>A use case's transaction may run again (execution strategy): the same id twice is one.</summary>
    public void Add(IEnumerable<string> sessionIds) => _ids.UnionWith(sessionIds);
}

/// <summary>Writes and reads the session registry. Cheap by design: primary-key lookups and single-row writes.</summary>
public sealed class SessionRegistry(CafConnectDbContext db, TimeProvider clock, SessionsEndedByTheServer endedByTheServer)
{
    public const string EndedByLogout = "logout";
    public const string EndedByReplacement = "replaced";
    public const string EndedByIncident = "incident";
    public const string EndedByPasswordChange = "password_changed";

    /// <summary>
    /// Records a new session (called at every authentication, with the new cookie's id), in the authentication's unit of
    /// work: the row, the login's audit line and what the login changed commit together. Until then the cookie is worth
    /// nothing (<c>PersonSession.ValidateAsync</c> refuses a session the registry does not know).
    /// </summary>
    public void Start(string sessionId, Guid personId, DateTimeOffset createdAt) =>
        db.ProviderSessions.Add(new ProviderSession { Id = sessionId, PersonId = personId, CreatedAt = createdAt });

    /// <summary>Whether the person's session is still on (not ended by a logout, a new sign-in, a password change or an incident).</summary>
    public Task<bool> IsLiveAsync(string sessionId, Guid personId, CancellationToken cancellationToken = default) =>
        db.ProviderSessions.AnyAsync(s => s.Id == sessionId && s.PersonId == personId && s.EndedAt == null, cancellationToken);

    /// <summary>Ends a session for every instance; a session already ended keeps its first end.</summary>
    public Task<int> EndAsync(string sessionId, string reason, CancellationToken cancellationToken = default)
    {
        var now = clock.GetUtcNow();
        return db.ProviderSessions.Where(s => s.Id == sessionId && s.EndedAt == null)
            .ExecuteUpdateAsync(s => s.SetProperty(x => x.EndedAt, now).SetProperty(x => x.EndReason, reason), cancellationToken);
    }

    /// <summary>
    /// Ends every open session of the person but <paramref name="exceptSessionId"/> (the one to keep, if any), and lists
    /// them in <see cref="SessionsEndedByTheServer"/>: the relying parties authorized in them are told after the commit.
    /// </summary>
    public async Task<int> EndAllOfPersonAsync(Guid personId, string? exceptSessionId, string reason, CancellationToken cancellationToken = default)
    {
        var now = clock.GetUtcNow();
        var open = db.ProviderSessions.Where(s => s.PersonId == personId && s.EndedAt == null && s.Id != (exceptSessionId ?? string.Empty));
        var ids = await open.Select(s => s.Id).ToListAsync(cancellationToken);
        var ended = await open.ExecuteUpdateAsync(s => s.SetProperty(x => x.EndedAt, now).SetProperty(x => x.EndReason, reason), cancellationToken);
        endedByTheServer.Add(ids);
        return ended;
    }

    /// <summary>
    /// Notes that <paramref name="clientId"/> got an authorization in the session. A later authorization after a
    /// delivered logout starts a new relying-party session: it may be told again.
    /// </summary>
    public async Task LinkClientAsync(string sessionId, string clientId, CancellationToken cancellationToken = default)
    {
        var now = clock.GetUtcNow();
        var updated = await db.ProviderSessionClients.Where(l => l.SessionId == sessionId && l.ClientId == clientId)
            .ExecuteUpdateAsync(s => s.SetProperty(l => l.LastAuthorizedAt, now).SetProperty(l => l.LogoutDeliveredAt, (DateTimeOffset?)null), cancellationToken);
        if (updated > 0)
        {
            return;
        }
        var link = new ProviderSessionClient { SessionId = sessionId, ClientId = clientId, FirstAuthorizedAt = now, LastAuthorizedAt = now };
        db.ProviderSessionClients.Add(link);
        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateException)
        {
            // A concurrent authorization of the same session and client inserted it first: nothing left to record.
            db.Entry(link).State = EntityState.Detached;
        }
    }
}
