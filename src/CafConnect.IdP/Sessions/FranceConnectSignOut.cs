using CafConnect.IdP.Federation;
using Microsoft.AspNetCore.Authentication;
using OpenIddict.Abstractions;
using OpenIddict.Client;
using OpenIddict.Client.AspNetCore;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace CafConnect.IdP.Sessions;

/// <summary>
/// The federated end of a session opened through FranceConnect: the person's logout (our logout page) and a relying
/// party's (the end-session endpoint) both end it here, then at FranceConnect. Session glue shared by the logout
/// page, the protocol's end-session endpoint and FranceConnect's post-logout callback (which reads back where to go).
/// </summary>
public static class FranceConnectSignOut
{
    internal const string LoggedOutPath = "/deconnexion/terminee";
    internal const string RelyingPartyClientItem = ".cafconnect_rp_client_id";
    internal const string RelyingPartyPostLogoutUriItem = ".cafconnect_rp_post_logout_redirect_uri";
    internal const string RelyingPartyStateItem = ".cafconnect_rp_state";

    /// <summary>
    /// Signs out at FranceConnect too when the session was opened through it: OpenIddict sends the person to
    /// FranceConnect's end-session endpoint with the ID token as hint and a state, and back to our post-logout route,
    /// which then goes on to <paramref name="relyingParty"/> when a relying party started the logout. False when there
    /// is nothing to end there, or FranceConnect cannot be reached (the session then ends here only, and the caller
    /// answers as without FranceConnect).
    /// </summary>
    public static async Task<bool> SignOutAsync(HttpContext http, string? idToken, RelyingPartyReturn? relyingParty = null)
    {
        if (idToken is null || http.RequestServices.GetService<FranceConnectOptions>() is not { Enabled: true })
        {
            return false;
        }
        var properties = new AuthenticationProperties(new Dictionary<string, string?>
        {
            [OpenIddictClientAspNetCoreConstants.Properties.ProviderName] = FranceConnectOptions.ProviderName,
            [OpenIddictClientAspNetCoreConstants.Properties.IdentityTokenHint] = idToken,
        })
        {
            RedirectUri = LoggedOutPath,
        };
        if (relyingParty is { PostLogoutRedirectUri: { Length: > 0 } })
        {
            properties.SetString(RelyingPartyClientItem, relyingParty.ClientId);
            properties.SetString(RelyingPartyPostLogoutUriItem, relyingParty.PostLogoutRedirectUri);
            properties.SetString(RelyingPartyStateItem, relyingParty.State);
        }
        try
        {
            // FranceConnect's configuration first (its end-session endpoint; cached by OpenIddict), within the timeout.
            var registration = await http.RequestServices.GetRequiredService<OpenIddictClientService>()
                .GetClientRegistrationByProviderNameAsync(FranceConnectOptions.ProviderName, http.RequestAborted);
            _ = await registration.ConfigurationManager!.GetConfigurationAsync(http.RequestAborted);
            await http.SignOutAsync(OpenIddictClientAspNetCoreDefaults.AuthenticationScheme, properties);
            return true;
        }
        catch (Exception exception) when (FranceConnectFailures.IsUnavailable(exception))
        {
            http.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(FranceConnectSignOut))
                .LogWarning(new EventId(2105, "FranceConnectLogoutUnavailable"), exception, "FranceConnect could not be reached for the logout");
            return false;
        }
    }
}

/// <summary>Where a logout started by a relying party ends, once FranceConnect's is done: its validated post_logout_redirect_uri, with its state.</summary>
public sealed record RelyingPartyReturn(string? ClientId, string? PostLogoutRedirectUri, string? State)
{
    /// <summary>What <see cref="FranceConnectSignOut.SignOutAsync"/> kept in OpenIddict's protected state token, read back on FranceConnect's post-logout callback.</summary>
    public static RelyingPartyReturn From(AuthenticationProperties? properties) => new(
        properties?.GetString(FranceConnectSignOut.RelyingPartyClientItem), properties?.GetString(FranceConnectSignOut.RelyingPartyPostLogoutUriItem),
        properties?.GetString(FranceConnectSignOut.RelyingPartyStateItem));

    /// <summary>
    /// The relying party's URI with the state (as OpenIddict's end-session response builds it), when the client still
    /// exists and still has that URI registered (exact match); null otherwise (our page).
    /// </summary>
    public async Task<string?> TargetAsync(IOpenIddictApplicationManager applications, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(ClientId) || string.IsNullOrEmpty(PostLogoutRedirectUri)
            || await applications.FindByClientIdAsync(ClientId, cancellationToken) is not { } application
            || !await applications.ValidatePostLogoutRedirectUriAsync(application, PostLogoutRedirectUri, cancellationToken))
        {
            return null;
        }
        return string.IsNullOrEmpty(State)
            ? PostLogoutRedirectUri
            : Microsoft.AspNetCore.WebUtilities.QueryHelpers.AddQueryString(PostLogoutRedirectUri, Parameters.State, State);
    }
}
