using CafConnect.Application.Persistence;
using CafConnect.Infrastructure.Audit;
using CafConnect.Infrastructure.Persistence;
using CafConnect.Infrastructure.Sessions;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using OpenIddict.Server;

namespace CafConnect.IdP.Sessions;

/// <summary>
/// On an ordinary logout, and after a request that ended other sessions of a person (a password replaced:
/// <see cref="SessionsEndedByTheServer"/>, docs/decisions.md #44), tells the relying parties that were authorized in the
/// session and registered a <c>backchannel_logout_uri</c> (OpenID Back-Channel Logout 1.0). In the background, after the
/// request is answered: a slow or absent relying party must not hold the person's browser. Only a session whose end is
/// stored is told about (a use case that rolled back ended nothing). A delivery lost to a restart is not retried (the
/// session itself is already ended server-side); incident revocations record and retry theirs.
/// </summary>
public static class LogoutNotification
{
    /// <summary>
    /// After every request: the sessions its use case ended on the server (<see cref="SessionsEndedByTheServer"/>), each
    /// told to its relying parties as a logout is. One place for every journey that replaces a password (recovery, first
    /// login, account creation, « Changer mon mot de passe », a provisional password's first use).
    /// </summary>
    public static IApplicationBuilder UseLogoutNotificationOfSessionsEndedByTheServer(this IApplicationBuilder app) => app.Use(async (http, next) =>
    {
        await next(http);
        var ended = http.RequestServices.GetRequiredService<SessionsEndedByTheServer>();
        foreach (var sessionId in ended.Ids)
        {
            Start(http, sessionId, SessionRegistry.EndedByPasswordChange);
        }
    });

    /// <param name="reason">Why the session ended, in the audit line of each delivery (<c>reason=…</c>).</param>
    public static void Start(HttpContext http, string sessionId, string reason = SessionRegistry.EndedByLogout)
    {
        var issuer = http.RequestServices.GetRequiredService<IOptionsMonitor<OpenIddictServerOptions>>().CurrentValue.Issuer?.AbsoluteUri
            ?? $"{http.Request.Scheme}://{http.Request.Host}{http.Request.PathBase}/";
        var scopes = http.RequestServices.GetRequiredService<IServiceScopeFactory>();
        var audit = http.RequestServices.GetRequiredService<IAuditContextAccessor>().Current;
        var logger = http.RequestServices.GetRequiredService<ILogger<BackchannelLogoutSender>>();
        var stopping = http.RequestServices.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
        _ = Task.Run(async () =>
        {
            try
            {
                await using var scope = scopes.CreateAsyncScope();
                var db = scope.ServiceProvider.GetRequiredService<CafConnectDbContext>();
                var targets = await db.ProviderSessionClients.Where(l => l.SessionId == sessionId && l.LogoutDeliveredAt == null)
                    .Join(db.ProviderSessions.Where(s => s.EndedAt != null), l => l.SessionId, s => s.Id, (l, s) => new { l.ClientId, s.PersonId })
                    .Join(db.Persons, x => x.PersonId, p => p.Id, (x, p) => new { x.ClientId, p.Subject, PersonId = p.Id })
                    .ToListAsync(stopping);
                if (targets.Count == 0)
                {
                    return;
                }
                var sender = scope.ServiceProvider.GetRequiredService<BackchannelLogoutSender>();
                var deliveries = await sender.DeliverAsync(issuer, targets.Select(t => new LogoutTarget(sessionId, t.ClientId, t.Subject, t.PersonId)), cancellationToken: stopping);
                var trail = new AuditTrail(db, new FixedAuditContextAccessor(audit), scope.ServiceProvider.GetRequiredService<TimeProvider>(),
                    scope.ServiceProvider.GetService<CafConnect.Infrastructure.Observability.CafConnectMetrics>());
                foreach (var delivery in deliveries)
                {
                    trail.Append(new AuditEntry(AuditEventTypes.BackchannelLogout, delivery.Delivered ? "delivered" : "failed", delivery.Target.PersonId,
                        delivery.Target.ClientId, "reason=" + reason + (delivery.Error is null ? "" : "; error=" + delivery.Error)));
                }
                await scope.ServiceProvider.GetRequiredService<IUnitOfWork>().CommitAsync(stopping);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogWarning(e, "Back-channel logout after the end of session {SessionId} failed", sessionId);
            }
        }, CancellationToken.None);
    }
}
