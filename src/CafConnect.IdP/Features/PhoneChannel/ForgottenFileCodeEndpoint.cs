using CafConnect.Application.PhoneChannel;
using CafConnect.Domain.Identity;
using CafConnect.IdP.Protocol;
using CafConnect.IdP.Sessions;
using OpenIddict.Abstractions;

namespace CafConnect.IdP.Features.PhoneChannel;

/// <summary>
/// « Code confidentiel oublié » for the voice server (seed 002, issue 16 item 9): <c>POST /connect/phone/forgotten-code</c>
/// with <c>file_number</c> (form), the client authenticated as at the token endpoint (<c>client_secret_basic</c> or
/// <c>client_secret_post</c>) and allowed the phone grant there (<see cref="ConfidentialClients"/>: a disabled client is
/// not). The answer is <c>202</c> whatever the file (docs/claims.md, "Phone channel"); the work is
/// <see cref="ForgottenFileCode"/>'s.
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
        var clientId = await applications.AuthenticateForGrantAsync(http.Request, form, LegacyCodeGrant.GrantType, http.RequestAborted);
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

    private static IResult OAuthError(int status, string error, string description) =>
        Results.Json(new Dictionary<string, string> { ["error"] = error, ["error_description"] = description }, statusCode: status);
}
