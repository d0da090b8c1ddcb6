using CafConnect.Application.Persistence;
using System.Security.Claims;
using CafConnect.Domain.Accounts;
using CafConnect.IdP.Features.PhoneChannel;
using CafConnect.IdP.Sessions;
using CafConnect.Infrastructure.Accounts;
using CafConnect.Infrastructure.Audit;
using Microsoft.AspNetCore;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Primitives;
using OpenIddict.Abstractions;
using OpenIddict.Server.AspNetCore;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace CafConnect.IdP.Protocol;

/// <summary>
/// The parts of the protocol OpenIddict hands back to us (passthrough): who is signed in (authorize),
/// what a redeemed grant becomes (token), what a person releases (userinfo) and logout (end-session).
/// OpenIddict has already validated the request (client, redirect URI, PKCE, scopes) when these run.
/// </summary>
public static class ProtocolEndpoints
{
    public const string AuthorizePath = "/connect/authorize";
    public const string TokenPath = "/connect/token";
    public const string UserInfoPath = "/connect/userinfo";
    public const string EndSessionPath = "/connect/endsession";
    public const string RevocationPath = "/connect/revoke";
    public const string IntrospectionPath = "/connect/introspect";
    public const string JwksPath = "/.well-known/jwks";

    /// <summary>Carries, across the login page, the proof that this authorization request already forced a fresh login.</summary>
    internal const string ReauthenticationParameter = "cafconnect_reauth";

    /// <summary>Endpoints called by relying parties' servers, not by browsers.</summary>
    public static bool IsBackChannel(PathString path) =>
        path.StartsWithSegments(TokenPath) || path.StartsWithSegments(UserInfoPath) || path.StartsWithSegments(RevocationPath)
        || path.StartsWithSegments(IntrospectionPath) || path.StartsWithSegments(JwksPath);

    public static void MapProtocolEndpoints(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapMethods(AuthorizePath, [HttpMethods.Get, HttpMethods.Post], AuthorizeAsync).DisableAntiforgery();
        endpoints.MapPost(TokenPath, ExchangeAsync).DisableAntiforgery();
        endpoints.MapMethods(UserInfoPath, [HttpMethods.Get, HttpMethods.Post], UserInfoAsync).DisableAntiforgery();
        endpoints.MapMethods(EndSessionPath, [HttpMethods.Get, HttpMethods.Post], EndSessionAsync).DisableAntiforgery();
    }

    private static async Task<IResult> AuthorizeAsync(HttpContext http, PersonDirectory persons, AuditTrail audit, IUnitOfWork unitOfWork, IDataProtectionProvider protection, TimeProvider clock)
    {
        var request = http.GetOpenIddictServerRequest() ?? throw new InvalidOperationException("OpenIddict did not attach the authorization request.");
        var session = await http.AuthenticateAsync(PersonSession.Scheme);
        var facts = session.Succeeded ? session.Principal.Facts() : null;
        var person = session.Succeeded && session.Principal.PersonId() is { } personId ? await persons.FindByIdAsync(personId, http.RequestAborted) : null;
        var reauthProtector = protection.CreateProtector("CafConnect.Reauthentication.v1").ToTimeLimitedDataProtector();

        var mustLogin = facts is null || person is null || person.IsClosed || RequiresFreshLogin(request, facts, http, reauthProtector, clock);
        if (mustLogin)
        {
            if (request.HasPromptValue(PromptValues.None))
            {
                return Results.Forbid(ErrorProperties(Errors.LoginRequired, "The user is not signed in."), [OpenIddictServerAspNetCoreDefaults.AuthenticationScheme]);
            }

            // Come back here after the login page, without prompt=login / max_age (they would loop) but with a
            // protected note of when this forced login began, so the fresh session is recognised as satisfying them.
            var parameters = (http.Request.HasFormContentType ? http.Request.Form.AsEnumerable() : http.Request.Query.AsEnumerable())
                .Where(p => p.Key is not (Parameters.Prompt or Parameters.MaxAge or ReauthenticationParameter))
                .ToList();
            var remainingPrompt = string.Join(' ', request.GetPromptValues().Where(p => p != PromptValues.Login));
            if (remainingPrompt.Length > 0)
            {
                parameters.Add(new(Parameters.Prompt, remainingPrompt));
            }
            if (request.HasPromptValue(PromptValues.Login) || request.MaxAge is not null)
            {
                var marker = reauthProtector.Protect(clock.GetUtcNow().ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture), TimeSpan.FromMinutes(15));
                parameters.Add(new(ReauthenticationParameter, marker));
            }

            return Results.Challenge(new AuthenticationProperties { RedirectUri = http.Request.PathBase + http.Request.Path + QueryString.Create(parameters) }, [PersonSession.Scheme]);
        }

        var principal = CafClaims.CreatePrincipal(person!, request.GetScopes().ToList(), facts!);
        // Whom to tell, by back-channel logout, when this session ends (logout, incident revocation).
        await http.RequestServices.GetRequiredService<CafConnect.Infrastructure.Sessions.SessionRegistry>()
            .LinkClientAsync(facts!.SessionId, request.ClientId!, http.RequestAborted);
        audit.Append(new AuditEntry(AuditEventTypes.TokenIssued, "authorization_code", person!.Id, request.ClientId));
        await unitOfWork.CommitAsync(http.RequestAborted);
        return Results.SignIn(principal, properties: null, OpenIddictServerAspNetCoreDefaults.AuthenticationScheme);
    }

    /// <summary>prompt=login and max_age are met only by a login that happened after this request first asked for it.</summary>
    private static bool RequiresFreshLogin(OpenIddictRequest request, SessionFacts facts, HttpContext http, ITimeLimitedDataProtector protector, TimeProvider clock)
    {
        var forced = request.HasPromptValue(PromptValues.Login)
            || (request.MaxAge is { } maxAge && clock.GetUtcNow() - facts.AuthenticatedAt > TimeSpan.FromSeconds(maxAge));
        var marker = (string?)request[ReauthenticationParameter];
        if (marker is null)
        {
            return forced;
        }
        try
        {
            var requestedAt = DateTimeOffset.FromUnixTimeSeconds(long.Parse(protector.Unprotect(marker), System.Globalization.CultureInfo.InvariantCulture));
            return facts.AuthenticatedAt < requestedAt;
        }
        catch (System.Security.Cryptography.CryptographicException)
        {
            return true;
        }
    }

    private static async Task<IResult> ExchangeAsync(HttpContext http, PersonDirectory persons, AuditTrail audit, IUnitOfWork unitOfWork, LegacyCodeGrantHandler phone)
    {
        var request = http.GetOpenIddictServerRequest() ?? throw new InvalidOperationException("OpenIddict did not attach the token request.");
        if (request.IsClientCredentialsGrantType())
        {
            // A service client (the admin API): OpenIddict checked its secret, its permission for this grant and for each
            // requested scope. The token names the client only; no person is behind it.
            var identity = new ClaimsIdentity(OpenIddictServerAspNetCoreDefaults.AuthenticationScheme, Claims.Name, Claims.Role);
            identity.SetClaim(Claims.Subject, request.ClientId);
            identity.SetScopes(request.GetScopes());
            identity.SetDestinations(_ => [Destinations.AccessToken]);
            audit.Append(new AuditEntry(AuditEventTypes.TokenIssued, request.GrantType, null, request.ClientId,
                $"scopes={string.Join(' ', request.GetScopes())}"));
            await unitOfWork.CommitAsync(http.RequestAborted);
            return Results.SignIn(new ClaimsPrincipal(identity), properties: null, OpenIddictServerAspNetCoreDefaults.AuthenticationScheme);
        }

        if (request.GrantType == LegacyCodeGrant.GrantType)
        {
            return await phone.ExchangeAsync(http, request);
        }
        if (!request.IsAuthorizationCodeGrantType() && !request.IsRefreshTokenGrantType())
        {
            return Results.Forbid(ErrorProperties(Errors.UnsupportedGrantType, "This grant type is not supported."), [OpenIddictServerAspNetCoreDefaults.AuthenticationScheme]);
        }

        // The code or refresh token was validated by OpenIddict (signature, expiry, client, PKCE, not redeemed).
        var redeemed = (await http.AuthenticateAsync(OpenIddictServerAspNetCoreDefaults.AuthenticationScheme)).Principal;
        var subject = redeemed?.GetClaim(Claims.Subject);
        var person = subject is null ? null : await persons.FindBySubjectAsync(subject, http.RequestAborted);
        var facts = redeemed is null ? null : SessionFactsFromToken(redeemed);
        if (person is null || person.IsClosed || facts is null)
        {
            return Results.Forbid(ErrorProperties(Errors.InvalidGrant, "The account bound to this grant is no longer active."), [OpenIddictServerAspNetCoreDefaults.AuthenticationScheme]);
        }

        // Claims are rebuilt from the store, so a refresh reflects today's files and roles.
        var principal = CafClaims.CreatePrincipal(person, redeemed!.GetScopes().ToList(), facts);
        audit.Append(new AuditEntry(AuditEventTypes.TokenIssued, request.GrantType, person.Id, request.ClientId));
        await unitOfWork.CommitAsync(http.RequestAborted);
        return Results.SignIn(principal, properties: null, OpenIddictServerAspNetCoreDefaults.AuthenticationScheme);
    }

    private static SessionFacts? SessionFactsFromToken(ClaimsPrincipal principal)
    {
        var sessionId = principal.GetClaim(CafClaimTypes.SessionId);
        var method = principal.GetClaim(CafClaimTypes.AuthenticationMethods) ?? "pwd";
        return long.TryParse(principal.GetClaim(Claims.AuthenticationTime), out var authTime) && sessionId is not null
            ? new SessionFacts(DateTimeOffset.FromUnixTimeSeconds(authTime), method, sessionId)
            : null;
    }

    private static async Task<IResult> UserInfoAsync(HttpContext http, PersonDirectory persons)
    {
        var principal = (await http.AuthenticateAsync(OpenIddictServerAspNetCoreDefaults.AuthenticationScheme)).Principal;
        var subject = principal?.GetClaim(Claims.Subject);
        var person = subject is null ? null : await persons.FindBySubjectAsync(subject, http.RequestAborted);
        if (person is null || person.IsClosed)
        {
            return Results.Challenge(ErrorProperties(Errors.InvalidToken, "The token is not bound to an active account."), [OpenIddictServerAspNetCoreDefaults.AuthenticationScheme]);
        }

        http.Response.Headers.CacheControl = "no-store";
        http.Response.Headers.Pragma = "no-cache";
        // A phone token names one file: never release another (docs/decisions.md #13).
        return Results.Json(CafClaims.Release(person, principal!.GetScopes(), principal!.GetClaim(CafClaimTypes.FileRestriction)));
    }

    private static async Task<IResult> EndSessionAsync(HttpContext http, AuditTrail audit, IUnitOfWork unitOfWork)
    {
        var request = http.GetOpenIddictServerRequest() ?? throw new InvalidOperationException("OpenIddict did not attach the end-session request.");

        // Without an ID token hint nobody vouches for the request: ask the person, and never follow a redirect.
        if (string.IsNullOrEmpty(request.IdTokenHint))
        {
            return Results.Redirect("/deconnexion");
        }

        var session = await http.AuthenticateAsync(PersonSession.Scheme);
        var sessionId = session.Succeeded ? session.Principal.FindFirst(CafClaimTypes.SessionId)?.Value : null;
        await PersonSession.SignOutAsync(http, CafConnect.Infrastructure.Sessions.SessionRegistry.EndedByLogout);
        if (session.Succeeded)
        {
            audit.Append(new AuditEntry(AuditEventTypes.Logout, "rp_initiated", session.Principal.PersonId(), request.ClientId));
            await unitOfWork.CommitAsync(http.RequestAborted);
        }
        if (sessionId is not null)
        {
            LogoutNotification.Start(http, sessionId);
        }

        // OpenIddict validated the hint and checked that post_logout_redirect_uri is registered; without one, show our page.
        return Results.SignOut(new AuthenticationProperties { RedirectUri = "/deconnexion/terminee" }, [OpenIddictServerAspNetCoreDefaults.AuthenticationScheme]);
    }

    // Protocol error descriptions stay in ASCII English: RFC 6749 §5.2 restricts their character set.
    private static AuthenticationProperties ErrorProperties(string error, string description) => new(new Dictionary<string, string?>
    {
        [OpenIddictServerAspNetCoreConstants.Properties.Error] = error,
        [OpenIddictServerAspNetCoreConstants.Properties.ErrorDescription] = description,
    });
}
