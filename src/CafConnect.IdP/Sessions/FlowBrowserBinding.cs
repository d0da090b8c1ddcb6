using System.Security.Cryptography;

namespace CafConnect.IdP.Sessions;

/// <summary>
/// A random value kept in an HttpOnly cookie; a flow stores its hash and opens only in the browser holding it, so a
/// flow link copied elsewhere (or guessed) leads nowhere.
/// </summary>
public sealed class FlowBrowserBinding(IConfiguration configuration)
{
    private readonly bool _secure = configuration.GetValue("Oidc:RequireHttps", true);
    private string CookieName => _secure ? "__Host-cafconnect.flow" : "cafconnect.flow";

    public string? Read(HttpContext http) => http.Request.Cookies.TryGetValue(CookieName, out var value) && value.Length == 43 ? value : null;

    /// <summary>
    /// « Se déconnecter »: the browser drops its binding, so no journey left open in it (a recovery whose code was proven,
    /// a first login, an account creation) can be resumed by the next person at a shared computer. Flow rows are not
    /// indexed by binding: they stay until they expire, opened by no browser.
    /// </summary>
    public void Forget(HttpContext http)
    {
        if (http.Request.Cookies.ContainsKey(CookieName))
        {
            http.Response.Cookies.Delete(CookieName, new CookieOptions { Secure = _secure || http.Request.IsHttps, SameSite = SameSiteMode.Lax, Path = "/" });
        }
    }

    public string GetOrCreate(HttpContext http)
    {
        if (Read(http) is { } existing)
        {
            return existing;
        }
        var secret = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        http.Response.Cookies.Append(CookieName, secret, new CookieOptions
        {
            HttpOnly = true,
            Secure = _secure || http.Request.IsHttps,
            SameSite = SameSiteMode.Lax,
            Path = "/",
            IsEssential = true,
        });
        return secret;
    }
}
