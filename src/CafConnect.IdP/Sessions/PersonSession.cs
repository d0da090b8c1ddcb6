using System.Security.Claims;
using System.Security.Cryptography;
using CafConnect.Domain.Accounts;
using CafConnect.IdP.Protocol;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace CafConnect.IdP.Sessions;

/// <summary>
/// The provider's own sign-in session (a cookie), distinct from the tokens it issues to relying parties.
/// It carries only the person's internal id, subject and the facts of the authentication — never personal data.
/// </summary>
public static class PersonSession
{
    public const string Scheme = CookieAuthenticationDefaults.AuthenticationScheme;
    private const string PersonIdClaim = "cafconnect:person_id";

    /// <summary>auth_time in milliseconds: a password set in the same second as a sign-in must still be told apart.</summary>
    private const string AuthenticatedAtMsClaim = "cafconnect:auth_time_ms";

    /// <summary>FranceConnect's ID token of a session opened through FranceConnect: the hint its logout requires.</summary>
    private const string FranceConnectIdTokenClaim = "cafconnect:fc_id_token";

    /// <summary>
    /// Signs the person in with a brand-new session id, replacing any previous session on this browser. The session's
    /// row is added to the request's unit of work: the caller appends its audit line and commits once.
    /// </summary>
    /// <param name="franceConnectIdToken">For a session opened through FranceConnect: its ID token, to log out there too.</param>
    public static async Task<SessionFacts> SignInAsync(HttpContext http, PersonAccount person, string method, TimeProvider clock, string? franceConnectIdToken = null)
    {
        var facts = new SessionFacts(clock.GetUtcNow(), method, Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)));
        var identity = new ClaimsIdentity(Scheme, Claims.Subject, Claims.Role);
        identity.AddClaim(new Claim(Claims.Subject, person.Subject));
        identity.AddClaim(new Claim(PersonIdClaim, person.Id.ToString()));
        identity.AddClaim(new Claim(Claims.AuthenticationTime, facts.AuthenticatedAt.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture)));
        identity.AddClaim(new Claim(AuthenticatedAtMsClaim, facts.AuthenticatedAt.ToUnixTimeMilliseconds().ToString(System.Globalization.CultureInfo.InvariantCulture)));
        identity.AddClaim(new Claim(CafClaimTypes.AuthenticationMethods, method));
        identity.AddClaim(new Claim(CafClaimTypes.SessionId, facts.SessionId));
        if (franceConnectIdToken is not null)
        {
            identity.AddClaim(new Claim(FranceConnectIdTokenClaim, franceConnectIdToken));
        }

        // The session this browser had (if any) ends for every instance, not only in this browser: a copy of the old
        // cookie kept elsewhere is worth nothing after the new authentication.
        var registry = http.RequestServices.GetRequiredService<CafConnect.Infrastructure.Sessions.SessionRegistry>();
        var previous = await http.AuthenticateAsync(Scheme);
        if (previous.Succeeded && previous.Principal.FindFirst(CafClaimTypes.SessionId)?.Value is { } previousId)
        {
            await registry.EndAsync(previousId, CafConnect.Infrastructure.Sessions.SessionRegistry.EndedByReplacement, http.RequestAborted);
        }
        // Committed by the caller with its audit line (docs/decisions.md #22).
        registry.Start(facts.SessionId, person.Id, facts.AuthenticatedAt);

        await http.SignOutAsync(Scheme);
        await http.SignInAsync(Scheme, new ClaimsPrincipal(identity), new AuthenticationProperties { IsPersistent = false, IssuedUtc = facts.AuthenticatedAt });
        return facts;
    }

    /// <summary>
    /// Logout: ends the session server-side (every instance refuses its cookie from now on), then removes the cookie, and
    /// with it the journeys left open in this browser (<see cref="FlowBrowserBinding.Forget"/>): the next person at a
    /// shared computer resumes nothing of the previous one's.
    /// </summary>
    public static async Task SignOutAsync(HttpContext http, string reason)
    {
        if (http.User.FindFirst(CafClaimTypes.SessionId)?.Value is { } sessionId)
        {
            await http.RequestServices.GetRequiredService<CafConnect.Infrastructure.Sessions.SessionRegistry>().EndAsync(sessionId, reason, http.RequestAborted);
        }
        await http.SignOutAsync(Scheme);
        http.RequestServices.GetRequiredService<FlowBrowserBinding>().Forget(http);
    }

    /// <summary>
    /// Cookie check at every request: the session ends when the account is closed, its password was replaced after
    /// the session began (reset, provisional password): a thief's browser session dies with the old password — or
    /// the session was ended on the server (logout, replaced by a new authentication, incident revocation). One
    /// query by primary keys (person, session), so it stays cheap on every signed-in request; a session the registry
    /// does not know (opened before the registry existed) is refused too: fail closed.
    /// </summary>
    public static async Task ValidateAsync(CookieValidatePrincipalContext context)
    {
        var personId = context.Principal?.PersonId();
        var facts = context.Principal?.Facts();
        if (personId is null || facts is null)
        {
            return;
        }
        var db = context.HttpContext.RequestServices.GetRequiredService<CafConnect.Infrastructure.Persistence.CafConnectDbContext>();
        var sessionId = facts.SessionId;
        var state = await Microsoft.EntityFrameworkCore.EntityFrameworkQueryableExtensions.FirstOrDefaultAsync(
            db.Persons.Where(p => p.Id == personId.Value).Select(p => new
            {
                p.ClosedAt,
                p.PasswordSetAt,
                SessionLive = db.ProviderSessions.Any(s => s.Id == sessionId && s.PersonId == p.Id && s.EndedAt == null),
            }), context.HttpContext.RequestAborted);
        // Milliseconds when the session carries them; whole seconds (auth_time) for sessions opened before they did.
        var signedInMs = long.TryParse(context.Principal!.FindFirst(AuthenticatedAtMsClaim)?.Value, out var ms) ? ms : (long?)null;
        var stale = CafConnect.Domain.Accounts.PasswordReplacement.ReplacedSince(state?.PasswordSetAt, facts.AuthenticatedAt, signedInMs);
        if (state is null || state.ClosedAt is not null || stale || !state.SessionLive)
        {
            context.RejectPrincipal();
            await context.HttpContext.SignOutAsync(Scheme);
        }
    }

    public static string? FranceConnectIdToken(this ClaimsPrincipal principal) => principal.FindFirst(FranceConnectIdTokenClaim)?.Value;

    public static Guid? PersonId(this ClaimsPrincipal principal) =>
        Guid.TryParse(principal.FindFirst(PersonIdClaim)?.Value, out var id) ? id : null;

    public static SessionFacts? Facts(this ClaimsPrincipal principal)
    {
        if (!long.TryParse(principal.FindFirst(Claims.AuthenticationTime)?.Value, out var authTime))
        {
            return null;
        }
        var sessionId = principal.FindFirst(CafClaimTypes.SessionId)?.Value;
        var method = principal.FindFirst(CafClaimTypes.AuthenticationMethods)?.Value;
        return sessionId is null || method is null ? null : new SessionFacts(DateTimeOffset.FromUnixTimeSeconds(authTime), method, sessionId);
    }
}
