using System.Net.Http.Headers;
using System.Text;
using CafConnect.Infrastructure.Clients;
using CafConnect.Infrastructure.Throttling;
using Microsoft.AspNetCore;
using OpenIddict.Abstractions;
using OpenIddict.Server;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace CafConnect.IdP.Protocol;

/// <summary>
/// A confidential client's right to a grant, judged as OpenIddict's token endpoint judges it, for the places that stand
/// beside that endpoint: the phone and kiosk grants' handlers (whose source budget depends on it) and the phone channel's forgotten-code
/// endpoint (which OpenIddict does not serve, so authenticates the client itself). One rule for both: confidential, the
/// token endpoint permitted (a disabled client has no endpoint permission left: ClientAdministration), the grant
/// permitted, and — where the client is not already authenticated — its secret checked by the application manager.
/// </summary>
public static class ConfidentialClients
{
    /// <summary>Whether the registered client <paramref name="clientId"/> may use <paramref name="grantType"/> at the token endpoint.</summary>
    public static async Task<bool> MayUseGrantAsync(this IOpenIddictApplicationManager applications, string? clientId, string grantType,
        CancellationToken cancellationToken) =>
        !string.IsNullOrEmpty(clientId)
        && await applications.FindByClientIdAsync(clientId, cancellationToken) is { } application
        && await MayUseGrantAsync(applications, application, grantType, cancellationToken);

    /// <summary>
    /// A client whose browser serves one person after another: a kiosk in a Caf office, the clients registered for the
    /// identifier-password grant (docs/decisions.md #26). Its journeys never reuse the session a previous visitor left in
    /// the browser (#53) and never remember an identifier on the device (the login page). The one test of "shared device".
    /// </summary>
    public static Task<bool> IsSharedDeviceClientAsync(this IOpenIddictApplicationManager applications, string? clientId, CancellationToken cancellationToken) =>
        applications.MayUseGrantAsync(clientId, CafGrantTypes.IdentifierPassword, cancellationToken);

    /// <summary>
    /// The source budget a token request of a relaying grant spends (the voice server's legacy-code grant, the kiosks'
    /// identifier-password grant; docs/decisions.md #13, #40): the authenticated client's own
    /// <paramref name="clientBudget"/> when the client is confidential and holds <paramref name="grantType"/> — so
    /// OpenIddict, before the handler ran, checked its secret (<c>invalid_client</c> otherwise) and its permission
    /// (<c>unauthorized_client</c>) — and otherwise (a registration edited into a public client, which authenticates
    /// nothing) the per-IP budget of browsers. The client id is therefore never one the request merely names. Only for the
    /// token endpoint's own handlers: anywhere else nothing has authenticated the client yet.
    /// </summary>
    public static async Task<ThrottleSource> ThrottleSourceAsync(this IOpenIddictApplicationManager applications, HttpContext http,
        OpenIddictRequest request, string grantType, SourceBudget clientBudget, CancellationToken cancellationToken)
    {
        if (http.GetOpenIddictServerEndpointType() != OpenIddictServerEndpointType.Token || request.GrantType != grantType)
        {
            throw new InvalidOperationException("A client's source budget is chosen only in the token endpoint's handler of its grant, after OpenIddict authenticated the client.");
        }
        return await applications.MayUseGrantAsync(request.ClientId, grantType, cancellationToken)
            ? ThrottleSource.FromAuthenticatedClient(request.ClientId!, clientBudget)
            : ThrottleSource.FromIp(http.Connection.RemoteIpAddress);
    }

    /// <summary>
    /// The client id when the request authenticates a client (<c>client_secret_basic</c>, or else <c>client_secret_post</c>
    /// in <paramref name="form"/>, RFC 6749 §2.3.1) that may use <paramref name="grantType"/>; null otherwise.
    /// </summary>
    public static async Task<string?> AuthenticateForGrantAsync(this IOpenIddictApplicationManager applications, HttpRequest request,
        IFormCollection form, string grantType, CancellationToken cancellationToken)
    {
        if (Credentials(request, form) is not { } credentials
            || await applications.FindByClientIdAsync(credentials.ClientId, cancellationToken) is not { } application)
        {
            return null;
        }
        return await MayUseGrantAsync(applications, application, grantType, cancellationToken)
            && await applications.ValidateClientSecretAsync(application, credentials.Secret, cancellationToken)
            ? credentials.ClientId : null;
    }

    private static async Task<bool> MayUseGrantAsync(IOpenIddictApplicationManager applications, object application, string grantType,
        CancellationToken cancellationToken) =>
        await applications.HasClientTypeAsync(application, ClientTypes.Confidential, cancellationToken)
        && await applications.HasPermissionAsync(application, Permissions.Endpoints.Token, cancellationToken)
        && await applications.HasPermissionAsync(application, Permissions.Prefixes.GrantType + grantType, cancellationToken);

    /// <summary>The client id and secret the request carries, both non-empty, or null.</summary>
    private static (string ClientId, string Secret)? Credentials(HttpRequest request, IFormCollection form)
    {
        if (AuthenticationHeaderValue.TryParse(request.Headers.Authorization.ToString(), out var header)
            && string.Equals(header.Scheme, "Basic", StringComparison.OrdinalIgnoreCase))
        {
            try
            {
                var decoded = Encoding.UTF8.GetString(Convert.FromBase64String(header.Parameter ?? string.Empty));
                var colon = decoded.IndexOf(':', StringComparison.Ordinal);
                // RFC 6749 §2.3.1: both parts are form-url-encoded before the Basic encoding.
                return colon > 0 ? NonEmpty(FormDecoded(decoded[..colon]), FormDecoded(decoded[(colon + 1)..])) : null;
            }
            catch (FormatException)
            {
                return null;
            }
        }
        return form[Parameters.ClientId].Count == 1 && form[Parameters.ClientSecret].Count == 1
            ? NonEmpty(form[Parameters.ClientId][0], form[Parameters.ClientSecret][0])
            : null;
    }

    private static string FormDecoded(string value) => Uri.UnescapeDataString(value.Replace('+', ' '));

    private static (string ClientId, string Secret)? NonEmpty(string? clientId, string? secret) =>
        string.IsNullOrEmpty(clientId) || string.IsNullOrEmpty(secret) ? null : (clientId, secret);
}
