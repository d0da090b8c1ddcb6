using System.Security.Cryptography;
using System.Text;
using CafConnect.Application.Persistence;
using CafConnect.IdP.Sessions;
using CafConnect.Infrastructure.Flows;
using Microsoft.EntityFrameworkCore;

namespace CafConnect.IdP.Protocol;

/// <summary>
/// The proof, carried across the login page, that a login was asked for by one authorization request (prompt=login,
/// max_age, or an id_token_hint naming someone else): a flow row, so it is bound to this browser (its binding cookie),
/// to the client and to the exact parameters of the request, lives 10 minutes and is used once. Minted in one browser,
/// it is nothing in another; replayed, it is nothing either — a new login is asked.
/// </summary>
public sealed class ReauthenticationMarkers(FlowStore flows, FlowBrowserBinding binding, IUnitOfWork unitOfWork, TimeProvider clock)
{
    public const string FlowType = "reauthentication";
    public static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(10);

    private sealed class MarkerContext
    {
        public DateTimeOffset RequestedAt { get; set; }
        public string RequestHash { get; set; } = string.Empty;
        /// <summary>The session of this browser when the login was asked for (none: null).</summary>
        public string? SessionId { get; set; }
    }

    /// <summary>A marker for the authorization request that will come back with <paramref name="parameters"/>.</summary>
    public async Task<string> MintAsync(HttpContext http, string clientId, IReadOnlyList<KeyValuePair<string, string?>> parameters, string returnUrl, SessionFacts? session)
    {
        var flow = flows.Add(FlowType, "pending", null, clientId, returnUrl, Lifetime, binding.GetOrCreate(http),
            new MarkerContext { RequestedAt = clock.GetUtcNow(), RequestHash = HashOf(parameters), SessionId = session?.SessionId });
        // Stored before the browser is sent to the login page with it.
        await unitOfWork.CommitAsync(http.RequestAborted);
        return flow.Id;
    }

    /// <summary>
    /// True when <paramref name="marker"/> was minted in this browser for this client and these very parameters, is
    /// still valid and unused, and <paramref name="session"/> was opened by a login since (a new session, authenticated
    /// no earlier than the second it was asked); the marker is used up here, whatever the answer.
    /// </summary>
    public async Task<bool> ConsumeAsync(HttpContext http, string marker, string? clientId, IReadOnlyList<KeyValuePair<string, string?>> parameters, SessionFacts? session)
    {
        var context = await ConsumeAsync(http, marker, clientId, parameters);
        // auth_time has a precision of one second; the new session id is what proves a login happened in between.
        return context is not null && session is not null && session.SessionId != context.SessionId
            && session.AuthenticatedAt >= DateTimeOffset.FromUnixTimeSeconds(context.RequestedAt.ToUnixTimeSeconds());
    }

    private async Task<MarkerContext?> ConsumeAsync(HttpContext http, string marker, string? clientId, IReadOnlyList<KeyValuePair<string, string?>> parameters)
    {
        var (lookup, flow) = await flows.FindAsync(marker, FlowType, binding.Read(http), http.RequestAborted);
        if (lookup != FlowLookup.Found || flow is null || !string.Equals(flow.ClientId, clientId, StringComparison.Ordinal))
        {
            return null;
        }
        var context = FlowStore.ReadContext<MarkerContext>(flow);
        if (!CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(context.RequestHash), Encoding.ASCII.GetBytes(HashOf(parameters))))
        {
            return null;
        }
        try
        {
            // Used up at once, in a commit of its own: the concurrency stamp lets only one request win.
            flows.Complete(flow);
            await unitOfWork.CommitAsync(http.RequestAborted);
        }
        catch (DbUpdateConcurrencyException)
        {
            // Used at the same moment by another request: only one wins.
            return null;
        }
        return context;
    }

    /// <summary>
    /// Whether <paramref name="returnUrl"/> is an authorization request waiting for a login made for it (it carries a
    /// marker): whatever signs the person in on its way back — the login page, FranceConnect — must authenticate them
    /// afresh, not answer from a session it already holds.
    /// </summary>
    public static bool IsAskedBy(string? returnUrl) =>
        CafConnect.Application.Navigation.ReturnUrls.IsAuthorizationRequest(returnUrl)
        && returnUrl!.IndexOf('?') is var index and >= 0
        && Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(returnUrl[index..]).ContainsKey(ProtocolEndpoints.ReauthenticationParameter);

    /// <summary>The request's parameters, order aside.</summary>
    private static string HashOf(IEnumerable<KeyValuePair<string, string?>> parameters)
    {
        var canonical = string.Join('&', parameters
            .Select(p => Uri.EscapeDataString(p.Key) + "=" + Uri.EscapeDataString(p.Value ?? string.Empty))
            .Order(StringComparer.Ordinal));
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(canonical)));
    }
}
