using CafConnect.Infrastructure.Audit;
using CafConnect.IdP.Protocol;

namespace CafConnect.IdP.Sessions;

/// <summary>Fills each audit record with the request's facts: channel, IP, user agent, session and correlation id.</summary>
public sealed class HttpAuditContextAccessor(IHttpContextAccessor accessor) : IAuditContextAccessor
{
    public AuditContext Current
    {
        get
        {
            var http = accessor.HttpContext;
            if (http is null)
            {
                return AuditContext.None;
            }
            return new AuditContext(
                // Browser journeys are "web"; a back-channel feature that speaks for another channel says so (the phone server: "telephone").
                Channel: http.Items[ChannelItem] as string ?? "web",
                IpAddress: http.Connection.RemoteIpAddress?.ToString(),
                UserAgent: http.Request.Headers.UserAgent.ToString(),
                // A sign-in during this request wins over the session the request came with (the one it replaces).
                SessionId: http.Items[SessionIdItem] as string ?? http.User.FindFirst(CafClaimTypes.SessionId)?.Value,
                CorrelationId: System.Diagnostics.Activity.Current?.TraceId.ToString() ?? http.TraceIdentifier);
        }
    }

    /// <summary>Set by a sign-in during the request, before the new cookie is read back on the next one.</summary>
    public const string SessionIdItem = "cafconnect:session-id";

    /// <summary>Set by a request that acts for a channel other than the web (e.g. the phone server's grant).</summary>
    public const string ChannelItem = "cafconnect:channel";
}
