using Microsoft.AspNetCore.Authentication;
using OpenIddict.Server.AspNetCore;

namespace CafConnect.IdP.Protocol;

/// <summary>
/// The refusals of CafConnect's own token grants (the phone channel's and the kiosks'): an RFC 6749 §5.2 error object
/// whose <c>error</c> stays standard, with beside it the <see cref="CafConnectErrorParameter"/> that the caller's
/// software tells apart (docs/claims.md). One name and one shape for every grant, so a client reads them alike.
/// </summary>
public static class GrantRefusals
{
    /// <summary>The extra member of the error object naming CafConnect's own reason (docs/claims.md).</summary>
    public const string CafConnectErrorParameter = "cafconnect_error";

    /// <summary>
    /// The refusal as the grant's result; <paramref name="extraParameters"/> are further members of the error object
    /// (OpenIddict copies the properties' parameters into it).
    /// </summary>
    public static IResult Refuse(string error, string description, string? cafconnectError = null,
        IReadOnlyDictionary<string, object>? extraParameters = null)
    {
        var properties = new AuthenticationProperties(new Dictionary<string, string?>
        {
            [OpenIddictServerAspNetCoreConstants.Properties.Error] = error,
            [OpenIddictServerAspNetCoreConstants.Properties.ErrorDescription] = description,
        });
        if (cafconnectError is not null)
        {
            properties.Parameters[CafConnectErrorParameter] = cafconnectError;
        }
        foreach (var (name, value) in extraParameters ?? new Dictionary<string, object>())
        {
            properties.Parameters[name] = value;
        }
        return Results.Forbid(properties, [OpenIddictServerAspNetCoreDefaults.AuthenticationScheme]);
    }
}
