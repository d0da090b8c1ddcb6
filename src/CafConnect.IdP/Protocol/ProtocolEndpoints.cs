using CafConnect.Domain.Households;
using CafConnect.Application.Persistence;
using System.Security.Claims;
using CafConnect.Domain.Accounts;
using CafConnect.IdP.Features.PhoneChannel;
using CafConnect.IdP.Sessions;
using CafConnect.Infrastructure.Accounts;
using CafConnect.Infrastructure.Audit;
using CafConnect.Infrastructure.Clients;
using CafConnect.Infrastructure.Sessions;
using Microsoft.AspNetCore;
using Microsoft.AspNetCore.Authentication;
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

    /// <summary>Carries, across the login page, the marker of the login this authorization request asked for (<see cref="ReauthenticationMarkers"/>).</summary>
    internal const string ReauthenticationParameter = "cafconnect_reauth";

    /// <summary>Endpoints called by relying parties' servers, not by browsers.</summary>
    public static bool IsBackChannel(PathString path) =>
        path.StartsWithSegments(TokenPath) || path.StartsWithSegments(UserInfoPath) || path.StartsWithSegments(RevocationPath)
        || path.StartsWithSegments(IntrospectionPath) || path.StartsWithSegments(JwksPath)
        || path.StartsWithSegments(ForgottenFileCodeEndpoint.Path);

    public static void MapProtocolEndpoints(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapMethods(AuthorizePath, [HttpMethods.Get, HttpMethods.Post], AuthorizeAsync).DisableAntiforgery();
        endpoints.MapPost(TokenPath, ExchangeAsync).DisableAntiforgery();
        endpoints.MapMethods(UserInfoPath, [HttpMethods.Get, HttpMethods.Post], UserInfoAsync).DisableAntiforgery();
        endpoints.MapMethods(EndSessionPath, [HttpMethods.Get, HttpMethods.Post], EndSessionAsync).DisableAntiforgery();
    }

    private static async Task<IResult> AuthorizeAsync(HttpContext http, PersonDirectory persons, AuditTrail audit, ReauthenticationMarkers markers, TimeProvider clock,
        IOpenIddictApplicationManager applications)
    {
        var request = http.GetOpenIddictServerRequest() ?? throw new InvalidOperationException("OpenIddict did not attach the authorization request.");
        // A kiosk's browser serves one person after another (docs/decisions.md #53): the session the previous visitor left
        // in it must never answer the next one's request, so a kiosk client's every request asks the login prompt=login asks.
        var sharedDevice = await applications.IsSharedDeviceClientAsync(request.ClientId, http.RequestAborted);
        var session = await http.AuthenticateAsync(PersonSession.Scheme);
        var facts = session.Succeeded ? session.Principal.Facts() : null;
        // The claims' one query (PersonDirectory.FindForClaimsAsync), fresh at each request like the token endpoint's.
        var person = session.Succeeded && session.Principal.PersonId() is { } personId ? await persons.FindForClaimsAsync(personId, http.RequestAborted) : null;
        var signedIn = facts is not null && person is not null && !person.IsClosed;

        var parameters = (http.Request.HasFormContentType ? http.Request.Form.AsEnumerable() : http.Request.Query.AsEnumerable())
            .Where(p => p.Key != ReauthenticationParameter)
            .ToList();

        // A login this very request asked for (prompt=login, max_age, a hint naming someone else) has happened, in this
        // browser, since it was asked: the marker says so once (ReauthenticationMarkers).
        var marker = (string?)request[ReauthenticationParameter];
        var loggedInForThisRequest = signedIn && marker is not null && await markers.ConsumeAsync(http, marker, request.ClientId, Flatten(parameters), facts);

        // With a marker the request was stripped of prompt=login / max_age: only the login it asked for will do.
        var mustLogin = !signedIn || (marker is not null ? !loggedInForThisRequest : sharedDevice || RequiresFreshLogin(request, facts!, clock));

        // Core §3.1.2.1 (id_token_hint): a relying party naming a person other than the one signed in never gets a code
        // for the one signed in. OpenIddict validated the hint (issued by us, signature, audience); an invalid one names nobody.
        if (!mustLogin && !string.IsNullOrEmpty(request.IdTokenHint)
            && (await http.AuthenticateAsync(OpenIddictServerAspNetCoreDefaults.AuthenticationScheme)).Principal?.GetClaim(Claims.Subject) != person!.Subject)
        {
            if (request.HasPromptValue(PromptValues.None) || loggedInForThisRequest)
            {
                // Silently, or still someone else after the login this request asked for: an error, never the wrong person.
                return Results.Forbid(ErrorProperties(Errors.LoginRequired, "The person named by id_token_hint is not signed in."), [OpenIddictServerAspNetCoreDefaults.AuthenticationScheme]);
            }
            mustLogin = true;
        }

        if (mustLogin)
        {
            if (request.HasPromptValue(PromptValues.None))
            {
                return Results.Forbid(ErrorProperties(Errors.LoginRequired, "The user is not signed in."), [OpenIddictServerAspNetCoreDefaults.AuthenticationScheme]);
            }

            // Come back here after the login page, without prompt=login / max_age (they would loop) but with a marker
            // of this request, so the fresh session is recognised as the login it asked for.
            parameters.RemoveAll(p => p.Key is Parameters.Prompt or Parameters.MaxAge);
            var remainingPrompt = string.Join(' ', request.GetPromptValues().Where(p => p != PromptValues.Login));
            if (remainingPrompt.Length > 0)
            {
                parameters.Add(new(Parameters.Prompt, remainingPrompt));
            }
            var returnPath = http.Request.PathBase + http.Request.Path;
            if (sharedDevice || request.HasPromptValue(PromptValues.Login) || request.MaxAge is not null || !string.IsNullOrEmpty(request.IdTokenHint))
            {
                var minted = await markers.MintAsync(http, request.ClientId!, Flatten(parameters), returnPath + QueryString.Create(parameters), signedIn ? facts : null);
                parameters.Add(new(ReauthenticationParameter, minted));
            }

            return Results.Challenge(new AuthenticationProperties { RedirectUri = returnPath + QueryString.Create(parameters) }, [PersonSession.Scheme]);
        }

        var principal = CafClaims.CreatePrincipal(person!, request.GetScopes().ToList(), facts!);
        // Whom to tell, by back-channel logout, when this session ends (logout, incident revocation).
        await http.RequestServices.GetRequiredService<SessionRegistry>()
            .LinkClientAsync(facts!.SessionId, request.ClientId!, http.RequestAborted);
        // Stored with OpenIddict's writes of the authorization and the code (TokenWriteHandlers, docs/decisions.md #34).
        audit.Append(new AuditEntry(AuditEventTypes.TokenIssued, "authorization_code", person!.Id, request.ClientId));
        return Results.SignIn(principal, properties: null, OpenIddictServerAspNetCoreDefaults.AuthenticationScheme);
    }

    /// <summary>
    /// prompt=login, or a session older than max_age. Compared in seconds: a max_age beyond what a TimeSpan holds
    /// (<c>9223372036854775807</c>, valid per Core §3.1.2.1) threw, a 500. One too large for a number (20 digits) reaches
    /// here as none: any age.
    /// </summary>
    private static bool RequiresFreshLogin(OpenIddictRequest request, SessionFacts facts, TimeProvider clock) =>
        request.HasPromptValue(PromptValues.Login)
        || (request.MaxAge is { } maxAge && (clock.GetUtcNow() - facts.AuthenticatedAt).TotalSeconds > maxAge);

    private static List<KeyValuePair<string, string?>> Flatten(IEnumerable<KeyValuePair<string, StringValues>> parameters) =>
        parameters.SelectMany(p => p.Value.Select(value => new KeyValuePair<string, string?>(p.Key, value))).ToList();

    private static async Task<IResult> ExchangeAsync(HttpContext http, PersonDirectory persons, AuditTrail audit, LegacyCodeGrantHandler phone,
        CafConnect.IdP.Features.Kiosk.IdentifierPasswordGrantHandler kiosk)
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
            // Stored with the token row, in the grant's one write (TokenWriteHandlers, docs/decisions.md #34): a token is
            // handed out if and only if its audit line is stored.
            audit.Append(new AuditEntry(AuditEventTypes.TokenIssued, request.GrantType, null, request.ClientId,
                $"scopes={string.Join(' ', request.GetScopes())}"));
            return Results.SignIn(new ClaimsPrincipal(identity), properties: null, OpenIddictServerAspNetCoreDefaults.AuthenticationScheme);
        }

        if (request.GrantType == LegacyCodeGrant.GrantType)
        {
            return await phone.ExchangeAsync(http, request);
        }
        if (request.GrantType == CafConnect.IdP.Features.Kiosk.IdentifierPasswordGrant.GrantType)
        {
            return await kiosk.ExchangeAsync(http, request);
        }
        if (!request.IsAuthorizationCodeGrantType() && !request.IsRefreshTokenGrantType())
        {
            return Results.Forbid(ErrorProperties(Errors.UnsupportedGrantType, "This grant type is not supported."), [OpenIddictServerAspNetCoreDefaults.AuthenticationScheme]);
        }

        // The code or refresh token was validated by OpenIddict (signature, expiry, client, PKCE, not redeemed).
        var redeemed = (await http.AuthenticateAsync(OpenIddictServerAspNetCoreDefaults.AuthenticationScheme)).Principal;
        var subject = redeemed?.GetClaim(Claims.Subject);
        // One query, every time: the claims reflect the store as it is now (a withdrawn delegation shows at the next refresh).
        var person = subject is null ? null : await persons.FindForClaimsAsync(subject, http.RequestAborted);
        var facts = redeemed is null ? null : SessionFactsFromToken(redeemed);
        if (person is null || person.IsClosed || facts is null)
        {
            return Results.Forbid(ErrorProperties(Errors.InvalidGrant, "The account bound to this grant is no longer active."), [OpenIddictServerAspNetCoreDefaults.AuthenticationScheme]);
        }
        // The revocations of a password replacement cannot see a code or a refresh that commits just after them
        // (docs/decisions.md #38): the grant is refused at its use instead, by the session cookie's own rule.
        if (PasswordReplacement.ReplacedSince(person.PasswordSetAt, facts.AuthenticatedAt))
        {
            return Results.Forbid(ErrorProperties(Errors.InvalidGrant, "The password was replaced after the sign-in behind this grant."), [OpenIddictServerAspNetCoreDefaults.AuthenticationScheme]);
        }
        // A code is redeemed within its minute: the sign-in behind it must still be on (no logout, no incident since).
        if (request.IsAuthorizationCodeGrantType()
            && !await http.RequestServices.GetRequiredService<SessionRegistry>().IsLiveAsync(facts.SessionId, person.Id, http.RequestAborted))
        {
            return Results.Forbid(ErrorProperties(Errors.InvalidGrant, "The sign-in behind this code has ended."), [OpenIddictServerAspNetCoreDefaults.AuthenticationScheme]);
        }

        // Claims are rebuilt from the store, so a refresh reflects today's files and roles.
        var principal = CafClaims.CreatePrincipal(person, redeemed!.GetScopes().ToList(), facts);
        // Stored with the redeemed token and the new ones, in the grant's one write (TokenWriteHandlers, docs/decisions.md #34).
        audit.Append(new AuditEntry(AuditEventTypes.TokenIssued, request.GrantType, person.Id, request.ClientId));
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
        var person = subject is null ? null : await persons.FindForClaimsAsync(subject, http.RequestAborted);
        if (person is null || person.IsClosed)
        {
            return Results.Challenge(ErrorProperties(Errors.InvalidToken, "The token is not bound to an active account."), [OpenIddictServerAspNetCoreDefaults.AuthenticationScheme]);
        }

        http.Response.Headers.CacheControl = "no-store";
        http.Response.Headers.Pragma = "no-cache";
        // A phone token from the file's shared code names one file: never release another (docs/decisions.md #13), and on
        // it only what every adult who may use that code may do (docs/decisions.md #25), computed from today's file.
        var token = principal!;
        var onlyFile = token.GetClaim(CafClaimTypes.FileRestriction);
        IReadOnlyList<string>? sharedCodePermissions = null;
        if (onlyFile is not null && token.GetClaim(CafClaimTypes.AuthenticationMethods) == LegacyCodeGrant.AuthenticationMethod)
        {
            var file = await persons.FindFileAsync(onlyFile, http.RequestAborted);
            sharedCodePermissions = file is null ? [] : HouseholdPermissions.ForSharedFileCode(file);
        }
        return Results.Json(CafClaims.Release(person, token.GetScopes(), onlyFile, sharedCodePermissions));
    }

    private static async Task<IResult> EndSessionAsync(HttpContext http, AuditTrail audit, IUnitOfWork unitOfWork)
    {
        var request = http.GetOpenIddictServerRequest() ?? throw new InvalidOperationException("OpenIddict did not attach the end-session request.");

        // Without an ID token hint nobody vouches for the request: ask the person, and never follow a redirect.
        if (string.IsNullOrEmpty(request.IdTokenHint))
        {
            return Results.Redirect(LogoutConfirmationPath);
        }

        // RP-Initiated Logout 1.0 §2-3. OpenIddict validated the hint — issued by this provider (signature by one of our
        // keys: "alg": "none" and other keys fail, issuer, token type) — and checked post_logout_redirect_uri and
        // client_id against the client it was issued to (an error page otherwise). A hint that does not validate gives
        // no principal: it is treated as no hint.
        var hint = (await http.AuthenticateAsync(OpenIddictServerAspNetCoreDefaults.AuthenticationScheme)).Principal;
        var hintSubject = hint?.GetClaim(Claims.Subject);
        if (hintSubject is null)
        {
            return Results.Redirect(LogoutConfirmationPath);
        }

        var session = await http.AuthenticateAsync(PersonSession.Scheme);
        if (session.Succeeded && !HintNamesThisSession(hint!, session.Principal))
        {
            // Another person's hint, or the hint of a session already ended, never ends this session without asking,
            // and never sends the browser anywhere (RP-Initiated Logout 1.0 §2).
            return Results.Redirect(LogoutConfirmationPath);
        }

        var sessionId = session.Succeeded ? session.Principal.FindFirst(CafClaimTypes.SessionId)?.Value : null;
        // A session opened through FranceConnect ends there too, as « Me déconnecter » does.
        var franceConnectIdToken = session.Succeeded ? session.Principal.FranceConnectIdToken() : null;
        await PersonSession.SignOutAsync(http, CafConnect.Infrastructure.Sessions.SessionRegistry.EndedByLogout);
        if (session.Succeeded)
        {
            audit.Append(new AuditEntry(AuditEventTypes.Logout, "rp_initiated", session.Principal.PersonId(), request.ClientId,
                franceConnectIdToken is null ? null : "franceconnect=true"));
            await unitOfWork.CommitAsync(http.RequestAborted);
        }
        if (sessionId is not null)
        {
            LogoutNotification.Start(http, sessionId);
        }

        // Through FranceConnect's end-session endpoint first: the relying party's post_logout_redirect_uri (validated
        // above by OpenIddict) and state ride in OpenIddict's client state token, and FranceConnect's return sends the
        // browser on to them (FranceConnectEndpoints.PostLogoutCallbackAsync, via RelyingPartyReturn.From). Our session is already over either way.
        if (await FranceConnectSignOut.SignOutAsync(http, franceConnectIdToken,
                new RelyingPartyReturn(request.ClientId ?? SingleAudience(hint!), request.PostLogoutRedirectUri, request.State)))
        {
            return Results.Empty;
        }

        // To the post_logout_redirect_uri OpenIddict validated, with the state; without one, our page.
        return Results.SignOut(new AuthenticationProperties { RedirectUri = "/deconnexion/terminee" }, [OpenIddictServerAspNetCoreDefaults.AuthenticationScheme]);
    }

    /// <summary>
    /// The hint was issued in the browser's current session: same person and same session id (<c>sid</c>, the
    /// registry's id, which every ID token of this provider carries). A hint without <c>sid</c> vouches for no session,
    /// as a code or refresh token without one is refused (<see cref="SessionFactsFromToken"/>): the person is asked.
    /// </summary>
    private static bool HintNamesThisSession(ClaimsPrincipal hint, ClaimsPrincipal session) =>
        hint.GetClaim(Claims.Subject) is { } subject && subject == session.FindFirst(Claims.Subject)?.Value
        && hint.GetClaim(CafClaimTypes.SessionId) is { } sessionId && sessionId == session.FindFirst(CafClaimTypes.SessionId)?.Value;

    /// <summary>The client an ID token hint was issued to (the one OpenIddict checked post_logout_redirect_uri against).</summary>
    private static string? SingleAudience(ClaimsPrincipal hint) => hint.GetAudiences() is [var audience] ? audience : null;

    /// <summary>« Voulez-vous vous déconnecter ? »: the person decides; nothing redirects from there.</summary>
    private const string LogoutConfirmationPath = "/deconnexion";

    // Protocol error descriptions stay in ASCII English: RFC 6749 §5.2 restricts their character set.
    private static AuthenticationProperties ErrorProperties(string error, string description) => new(new Dictionary<string, string?>
    {
        [OpenIddictServerAspNetCoreConstants.Properties.Error] = error,
        [OpenIddictServerAspNetCoreConstants.Properties.ErrorDescription] = description,
    });
}
