using System.Net;
using Microsoft.AspNetCore.HttpOverrides;

namespace CafConnect.IdP.Hosting;

/// <summary>
/// <c>ReverseProxy:*</c>: which immediate peers may tell the provider the client's address and scheme through
/// <c>X-Forwarded-For</c> / <c>X-Forwarded-Proto</c>. Only those: a request from any other peer keeps its own address
/// (per-IP throttling and the audit trail must not trust a header anyone can send).
/// </summary>
public static class ReverseProxySettings
{
    /// <summary>Reads the trusted proxies; null when none is configured (forwarded headers are then ignored).</summary>
    public static Action<ForwardedHeadersOptions>? Read(IConfiguration configuration)
    {
        var section = configuration.GetSection("ReverseProxy");
        var proxies = section.GetSection("TrustedProxies").Get<string[]>() ?? [];
        var networks = section.GetSection("TrustedNetworks").Get<string[]>() ?? [];
        if (proxies.Length == 0 && networks.Length == 0)
        {
            return null;
        }

        var addresses = proxies.Select(p => IPAddress.TryParse(p.Trim(), out var address)
            ? address
            : throw new InvalidOperationException($"ReverseProxy:TrustedProxies: '{p}' is not an IP address")).ToList();
        var ranges = networks.Select(n => System.Net.IPNetwork.TryParse(n.Trim(), out var network)
            ? network
            : throw new InvalidOperationException($"ReverseProxy:TrustedNetworks: '{n}' is not a network in CIDR notation (e.g. 10.0.0.0/8)")).ToList();
        var forwardLimit = section.GetValue("ForwardLimit", 1);
        if (forwardLimit < 1)
        {
            throw new InvalidOperationException("ReverseProxy:ForwardLimit: expected at least 1 (the number of trusted proxies in a row)");
        }

        return options =>
        {
            options.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto;
            // The defaults trust loopback: replace them with exactly what the operator listed.
            options.KnownProxies.Clear();
            options.KnownIPNetworks.Clear();
            foreach (var address in addresses)
            {
                options.KnownProxies.Add(address);
            }
            foreach (var range in ranges)
            {
                options.KnownIPNetworks.Add(range);
            }
            // Only the right-most entries, added by our own proxies, are believed; what a client put in front is ignored.
            options.ForwardLimit = forwardLimit;
            options.RequireHeaderSymmetry = false;
        };
    }
}
