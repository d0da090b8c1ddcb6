using System.Net;

namespace CafConnect.Infrastructure.Throttling;

/// <summary>
/// Where an attempt to check a secret comes from, and so which source budget it spends besides the account's: a client
/// IP (the per-IP budget of browsers, <c>Throttling:Ip*</c>, keyed by <see cref="ThrottleKeys.ForIp"/>), or an
/// authenticated confidential client that relays many people from one address (the voice server, the kiosks' backend),
/// which spends a budget of its own under <see cref="ThrottleKeys.ForClient"/> instead. The account's own counters are
/// the same whatever the source.
/// </summary>
public sealed record ThrottleSource
{
    private ThrottleSource(IPAddress? ip, string? clientId, SourceBudget? clientBudget)
    {
        Ip = ip;
        ClientId = clientId;
        ClientBudget = clientBudget;
    }

    /// <summary>The connection's remote address (null when unknown: every such attempt shares one budget).</summary>
    public IPAddress? Ip { get; }

    /// <summary>The authenticated client whose own budget applies; null for an IP source.</summary>
    public string? ClientId { get; }

    public SourceBudget? ClientBudget { get; }

    public static ThrottleSource FromIp(IPAddress? address) => new(address, null, null);

    /// <summary>
    /// The budget of a client that relays many people. Only for a client id the token endpoint authenticated (its
    /// secret checked, the grant permitted): never one a request merely names, or anyone could spend (or exhaust) a
    /// client's budget instead of their IP's. The IdP builds it in one place (<c>ConfidentialClients.ThrottleSourceAsync</c>).
    /// </summary>
    public static ThrottleSource FromAuthenticatedClient(string clientId, SourceBudget budget)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(clientId);
        ArgumentNullException.ThrowIfNull(budget);
        return new(null, clientId, budget);
    }
}
