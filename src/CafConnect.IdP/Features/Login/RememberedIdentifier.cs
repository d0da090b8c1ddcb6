using CafConnect.Domain.Identity;
using Microsoft.AspNetCore.DataProtection;

namespace CafConnect.IdP.Features.Login;

/// <summary>
/// "Se souvenir de moi" remembers the identifier only — never a session — in an encrypted cookie, and the page
/// shows it masked. Forgetting is one link away.
/// </summary>
public sealed class RememberedIdentifier(IDataProtectionProvider protection, IConfiguration configuration)
{
    public sealed record Remembered(string Value, string Masked);

    private readonly IDataProtector _protector = protection.CreateProtector("CafConnect.RememberedIdentifier.v1");
    private readonly bool _secure = configuration.GetValue("Oidc:RequireHttps", true);
    private string CookieName => _secure ? "__Host-cafconnect.remember" : "cafconnect.remember";

    public Remembered? Read(HttpContext http, LoginIdentifierKind kind)
    {
        if (!http.Request.Cookies.TryGetValue(CookieName, out var cookie))
        {
            return null;
        }
        try
        {
            var parts = _protector.Unprotect(cookie).Split('|', 2);
            if (parts.Length != 2 || parts[0] != kind.ToString())
            {
                return null;
            }
            var value = parts[1];
            return new Remembered(value, value.Length <= 3 ? new string('•', value.Length) : new string('•', value.Length - 3) + value[^3..]);
        }
        catch (System.Security.Cryptography.CryptographicException)
        {
            return null;
        }
    }

    public void Remember(HttpContext http, LoginIdentifierKind kind, string identifier) =>
        http.Response.Cookies.Append(CookieName, _protector.Protect($"{kind}|{identifier.Trim()}"), new CookieOptions
        {
            HttpOnly = true,
            Secure = _secure || http.Request.IsHttps,
            SameSite = SameSiteMode.Lax,
            Path = "/",
            // 13 months: the longest the CNIL accepts for a cookie.
            MaxAge = TimeSpan.FromDays(395),
        });

    public void Forget(HttpContext http)
    {
        if (http.Request.Cookies.ContainsKey(CookieName))
        {
            http.Response.Cookies.Delete(CookieName, new CookieOptions { Path = "/", Secure = _secure || http.Request.IsHttps });
        }
    }
}
