using System.Security.Cryptography;
using CafConnect.Infrastructure.Flows;
using Microsoft.AspNetCore.DataProtection;

namespace CafConnect.IdP.Sessions;

/// <summary>
/// FranceConnect's ID token is needed after its callback for one thing only: the <c>id_token_hint</c> of the logout at
/// FranceConnect. It also carries the person's certified identity (names, birth date and place), so when a first-login
/// flow has to keep it until the session opens it is stored encrypted and time-limited with Data Protection (the key
/// ring the session cookie and the outbox use), never in clear in the flow's context; the matching needs nothing of it.
/// It expires with the first-login flow that keeps it (<see cref="FlowLifetimes.FirstLogin"/>). Session glue: the
/// FranceConnect callback protects it, the first-login journey unprotects it when it opens the session.
/// </summary>
public static class FranceConnectLogoutHint
{
    private const string Purpose = "CafConnect.FranceConnect.LogoutHint.v1";

    public static string? Protect(HttpContext http, string? idToken) =>
        idToken is null ? null : Protector(http).Protect(idToken, FlowLifetimes.FirstLogin);

    /// <summary>The ID token, or null when absent, expired or not ours (the session then ends here only).</summary>
    public static string? Unprotect(HttpContext http, string? protectedIdToken)
    {
        if (protectedIdToken is null)
        {
            return null;
        }
        try
        {
            return Protector(http).Unprotect(protectedIdToken);
        }
        catch (CryptographicException)
        {
            return null;
        }
    }

    private static ITimeLimitedDataProtector Protector(HttpContext http) =>
        http.RequestServices.GetRequiredService<IDataProtectionProvider>().CreateProtector(Purpose).ToTimeLimitedDataProtector();
}
