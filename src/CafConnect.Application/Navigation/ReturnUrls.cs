using CafConnect.Infrastructure.Clients;
using Microsoft.AspNetCore.WebUtilities;

namespace CafConnect.Application.Navigation;

/// <summary>
/// Where a journey (login, account creation, first login, FranceConnect…) may send the browser when it ends, and which
/// relying party it is for: the one rule every journey calls, so none can drift into an open redirect or a 500.
/// </summary>
public static class ReturnUrls
{
    /// <summary>« Mon compte »: where any unusable return URL falls back.</summary>
    public const string AccountHome = "/mon-compte";

    /// <summary>The pending authorization request a login resumes.</summary>
    public const string AuthorizePath = "/connect/authorize";

    private const int MaxLength = 4096;

    /// <summary>
    /// The URL itself when it is a path of this site that can go in a <c>Location</c> header as is, else null:
    /// it starts with one <c>/</c> (not <c>//</c> nor <c>/\</c>, which browsers read as another host), and holds
    /// printable ASCII only (a control, a space or a non-ASCII character — e.g. <c>/%E3%80%80/evil.com</c> once
    /// decoded — is refused rather than guessed at: some browsers fold them into <c>//</c>, and a header cannot hold them).
    /// </summary>
    public static string? Usable(string? url)
    {
        if (url is not { Length: > 0 and <= MaxLength } || url[0] != '/')
        {
            return null;
        }
        if (url.Length > 1 && url[1] is '/' or '\\')
        {
            return null;
        }
        foreach (var character in url)
        {
            if (character is < '!' or > '~' or '\\')
            {
                return null;
            }
        }
        return Uri.TryCreate(url, UriKind.Relative, out _) ? url : null;
    }

    /// <summary>The URL when usable, else « Mon compte ».</summary>
    public static string OrAccountHome(string? url) => Usable(url) ?? AccountHome;

    /// <summary>True for a usable URL that resumes an authorization request (the relying party is waiting).</summary>
    public static bool IsAuthorizationRequest(string? url) =>
        Usable(url) is { } usable && (usable == AuthorizePath || usable.StartsWith(AuthorizePath + "?", StringComparison.Ordinal));

    /// <summary>The <c>client_id</c> written in a usable authorization-request URL, unchecked (see <see cref="RelyingParties"/>).</summary>
    internal static string? ClaimedClientId(string? url)
    {
        if (!IsAuthorizationRequest(url))
        {
            return null;
        }
        var query = url!.IndexOf('?') is var index and >= 0 ? url[index..] : string.Empty;
        return QueryHelpers.ParseQuery(query).TryGetValue("client_id", out var values) && values.Count == 1 && values[0] is { Length: > 0 and <= 100 } clientId
            ? clientId
            : null;
    }
}

/// <summary>
/// Which registered relying party a return URL is for. Only a client the provider knows is ever named in the audit trail
/// or a flow: a <c>client_id</c> typed into a URL is a claim, and anyone could otherwise write any text into the trail
/// of a person whose NIR they know.
/// </summary>
public sealed class RelyingParties(ClientAdministration clients)
{
    /// <summary>The registered client the return URL's authorization request names, or null (none, or unknown).</summary>
    public async Task<string?> RegisteredClientOfAsync(string? returnUrl, CancellationToken cancellationToken = default) =>
        ReturnUrls.ClaimedClientId(returnUrl) is { } clientId && await clients.ExistsAsync(clientId, cancellationToken) ? clientId : null;
}
