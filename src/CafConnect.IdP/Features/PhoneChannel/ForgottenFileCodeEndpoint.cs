using System.Text;
using CafConnect.Application.PhoneChannel;
using CafConnect.Domain.Identity;
using CafConnect.IdP.Sessions;
using OpenIddict.Abstractions;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace CafConnect.IdP.Features.PhoneChannel;

/// <summary>
/// « Code confidentiel oublié » for the voice server (seed 002, issue 16 item 9): <c>POST /connect/phone/forgotten-code</c>
/// with <c>file_number</c> (form), the client authenticated as at the token endpoint (<c>client_secret_basic</c> or
/// <c>client_secret_post</c>) and registered, confidential, for the phone grant. The answer is <c>202</c> whatever the file
/// (docs/claims.md, "Phone channel"); the work is <see cref="ForgottenFileCode"/>'s.
/// </summary>
public static class ForgottenFileCodeEndpoint
{
    public const string Path = "/connect/phone/forgotten-code";

    public static void MapForgottenFileCode(this IEndpointRouteBuilder endpoints) =>
        endpoints.MapPost(Path, HandleAsync).DisableAntiforgery();

    private static async Task<IResult> HandleAsync(HttpContext http, IOpenIddictApplicationManager applications, ForgottenFileCode forgotten)
    {
        http.Items[HttpAuditContextAccessor.ChannelItem] = LegacyCodeGrant.Channel;
        http.Response.Headers.CacheControl = "no-store";
        if (!http.Request.HasFormContentType)
        {
            return OAuthError(400, OpenIddictConstants.Errors.InvalidRequest, "The body must be application/x-www-form-urlencoded.");
        }
        var form = await http.Request.ReadFormAsync(http.RequestAborted);
        var clientId = await AuthenticatedVoiceServerAsync(http, form, applications);
        if (clientId is null)
        {
            http.Response.Headers.WWWAuthenticate = "Basic realm=\"cafconnect\"";
            return OAuthError(401, OpenIddictConstants.Errors.InvalidClient, "The client must authenticate and be registered for the phone grant.");
        }
        var typedFile = form["file_number"];
        if (typedFile.Count != 1 || typedFile[0] is not { Length: FileNumber.Length } number || !FileNumber.TryParse(number, out var fileNumber, out _))
        {
            return OAuthError(400, OpenIddictConstants.Errors.InvalidRequest, "The file_number parameter must be exactly 7 digits.");
        }
        await forgotten.ExecuteAsync(new ForgottenFileCodeRequest(fileNumber.Value, clientId), http.RequestAborted);
        // The same answer for every file: sent, unknown, without holder, throttled (no enumeration).
        return Results.Json(new { status = "accepted" }, statusCode: StatusCodes.Status202Accepted);
    }

    /// <summary>The client id when the caller authenticated as a confidential client holding the phone grant, else null.</summary>
    private static async Task<string?> AuthenticatedVoiceServerAsync(HttpContext http, IFormCollection form, IOpenIddictApplicationManager applications)
    {
        string? clientId = null, secret = null;
        var header = http.Request.Headers.Authorization.ToString();
        if (header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
        {
            try
            {
                var decoded = Encoding.UTF8.GetString(Convert.FromBase64String(header[6..].Trim()));
                var colon = decoded.IndexOf(':', StringComparison.Ordinal);
                if (colon > 0)
                {
                    // RFC 6749 §2.3.1: both parts are form-url-encoded before the Basic encoding.
                    clientId = Uri.UnescapeDataString(decoded[..colon].Replace('+', ' '));
                    secret = Uri.UnescapeDataString(decoded[(colon + 1)..].Replace('+', ' '));
                }
            }
            catch (FormatException)
            {
                return null;
            }
        }
        else if (form["client_id"].Count == 1 && form["client_secret"].Count == 1)
        {
            clientId = form["client_id"][0];
            secret = form["client_secret"][0];
        }
        if (string.IsNullOrEmpty(clientId) || string.IsNullOrEmpty(secret)
            || await applications.FindByClientIdAsync(clientId, http.RequestAborted) is not { } application)
        {
            return null;
        }
        return await applications.HasClientTypeAsync(application, ClientTypes.Confidential, http.RequestAborted)
            && await applications.HasPermissionAsync(application, Permissions.Prefixes.GrantType + LegacyCodeGrant.GrantType, http.RequestAborted)
            && await applications.ValidateClientSecretAsync(application, secret, http.RequestAborted)
            ? clientId : null;
    }

    private static IResult OAuthError(int status, string error, string description) =>
        Results.Json(new Dictionary<string, string> { ["error"] = error, ["error_description"] = description }, statusCode: status);
}
