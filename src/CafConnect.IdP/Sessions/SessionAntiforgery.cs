using System.Security.Cryptography;
using System.Text;
using CafConnect.IdP.Protocol;
using Microsoft.AspNetCore.Antiforgery;

namespace CafConnect.IdP.Sessions;

/// <summary>
/// Binds every anti-forgery token to the provider session it was issued in (issue 7: "the anti-forgery token is bound
/// to the session"). ASP.NET Core already ties a signed-in request token to the person (their <c>sub</c>); this adds
/// the session id, so a token taken from one session — even of the same person, on the same browser — is refused in
/// another (a new login, another device), and a token issued before login is refused once signed in. Anonymous pages
/// (the login form) carry an empty value.
/// </summary>
public sealed class SessionAntiforgeryData : IAntiforgeryAdditionalDataProvider
{
    public string GetAdditionalData(HttpContext context) => context.User.FindFirst(CafClaimTypes.SessionId)?.Value ?? string.Empty;

    public bool ValidateAdditionalData(HttpContext context, string additionalData) =>
        CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(additionalData ?? string.Empty), Encoding.UTF8.GetBytes(GetAdditionalData(context)));
}
