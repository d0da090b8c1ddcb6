using CafConnect.Infrastructure.Audit;
using CafConnect.Infrastructure.Persistence;
using CafConnect.Infrastructure.Sessions;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using OpenIddict.Server;

namespace CafConnect.IdP.Sessions;

/// <summary>
/// On an ordinary logout, tells the relying parties that were authorized in the session and registered a
/// <c>backchannel_logout_uri</c> (OpenID Back-Channel Logout 1.0). In the background, after the logout is answered: a
/// slow or absent relying party must not hold the person's browser. A delivery lost to a restart is not retried
/// (the session itself is already ended server-side); incident revocations record and retry theirs.
/// </summary>
public static class LogoutNotification
{
    public static void Start(HttpContext http, string sessionId)
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
                    .Join(db.ProviderSessions, l => l.SessionId, s => s.Id, (l, s) => new { l.ClientId, s.PersonId })
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
                    await trail.WriteAsync(new AuditEntry(AuditEventTypes.BackchannelLogout, delivery.Delivered ? "delivered" : "failed", delivery.Target.PersonId,
                        delivery.Target.ClientId, "reason=logout" + (delivery.Error is null ? "" : "; error=" + delivery.Error)), stopping);
                }
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogWarning(e, "Back-channel logout after the end of session {SessionId} failed", sessionId);
            }
        }, CancellationToken.None);
    }
}
