using System.Globalization;
using System.Security.Claims;
using CafConnect.Application.SignIn;
using CafConnect.Domain.Identity;
using CafConnect.IdP.Protocol;
using CafConnect.IdP.Sessions;
using CafConnect.Infrastructure.Audit;
using CafConnect.Infrastructure.Clients;
using CafConnect.Infrastructure.Throttling;
using Microsoft.AspNetCore.Authentication;
using OpenIddict.Abstractions;
using OpenIddict.Server;
using OpenIddict.Server.AspNetCore;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace CafConnect.IdP.Features.Kiosk;

/// <summary>Names of the kiosks' grant: its parameters, its answers and the facts its tokens carry (docs/claims.md).</summary>
public static class IdentifierPasswordGrant
{
    public const string GrantType = CafGrantTypes.IdentifierPassword;

    /// <summary>A NIR (13 or 15 characters) or a provisional identifier (P + 8 digits), as on the login page.</summary>
    public const string IdentifierParameter = "identifier";

    public const string PasswordParameter = "password";

    /// <summary>The audit channel and the <c>caf_channel</c> claim of the kiosks in Caf offices.</summary>
    public const string Channel = "borne";

    /// <summary>With <see cref="AccountLocked"/>: seconds before the next attempt may be checked.</summary>
    public const string RetryAfterParameter = "retry_after";

    // The values of GrantRefusals.CafConnectErrorParameter: what the kiosk tells the person (docs/claims.md, "Kiosks").
    public const string InvalidCredentials = "invalid_credentials";
    public const string PasswordExpired = "password_expired";
    public const string FirstLoginRequired = "first_login_required";
    public const string AccountLocked = "account_locked";

    /// <summary>Scopes a kiosk token never carries: no ID token (the kiosk is not a relying party of a session), no refresh token.</summary>
    public static readonly IReadOnlySet<string> NeverGranted = new HashSet<string>(StringComparer.Ordinal) { Scopes.OpenId, Scopes.OfflineAccess };
}

/// <summary>
/// Section <c>Kiosk</c>: the lifetime of a kiosk's access token (a visit at the kiosk, not a session), and the failure
/// budget of a kiosk client. Every kiosk of an office — of every office, where the backend is shared — reaches the
/// provider through the kiosk backend's one address, so the per-IP budget of browsers (<c>Throttling:IpMaxFailures</c>,
/// 30 in 10 minutes) would let a few dozen mistyped passwords block every kiosk behind it. The authenticated kiosk client
/// spends a budget of its own instead, sized for a fleet of kiosks; the account's counters (delay, lock, an unknown
/// identifier's claimed-identity budget) stay the web login's (docs/decisions.md #40, docs/security.md).
/// </summary>
public sealed class KioskOptions
{
    public TimeSpan AccessTokenLifetime { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Failures (wrong passwords, unknown identifiers, refused attempts) one kiosk client may present within <see cref="ClientWindow"/>.</summary>
    public int ClientBudget { get; set; } = 300;

    public TimeSpan ClientWindow { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>How long the client's attempts are refused once its budget is spent (every kiosk behind it waits with it).</summary>
    public TimeSpan ClientBlockDuration { get; set; } = TimeSpan.FromMinutes(5);

    public SourceBudget Budget => new(ClientBudget, ClientWindow, ClientBlockDuration);

    /// <summary>Binds the section and refuses nonsense at start-up rather than at the first kiosk login.</summary>
    public static KioskOptions FromConfiguration(IConfiguration configuration)
    {
        var options = configuration.GetSection("Kiosk").Get<KioskOptions>() ?? new KioskOptions();
        if (options.AccessTokenLifetime <= TimeSpan.Zero || options.AccessTokenLifetime > TimeSpan.FromHours(1))
        {
            throw new InvalidOperationException("Kiosk:AccessTokenLifetime must be a positive duration of at most one hour (e.g. 00:05:00).");
        }
        if (options.ClientBudget < 1 || options.ClientWindow <= TimeSpan.Zero || options.ClientBlockDuration <= TimeSpan.Zero)
        {
            throw new InvalidOperationException(
                "Kiosk:ClientBudget must be at least 1 and Kiosk:ClientWindow and Kiosk:ClientBlockDuration must be positive durations (e.g. 300, 00:10:00, 00:05:00).");
        }
        return options;
    }
}

/// <summary>
/// The grant of the agency's own kiosks (<see cref="IdentifierPasswordGrant.GrantType"/>): a person types their NIR or
/// provisional identifier and their password on a kiosk in a Caf office, and the kiosk (a confidential client registered
/// with this grant, and only such a client: OpenIddict answers <c>unauthorized_client</c> to any other) exchanges them
/// for a short access token of that person. The check is <see cref="PasswordSignIn"/>, the login page's own: the same
/// secrets, the same account budget (ten wrong kiosk attempts lock the web login too, and the reverse), the same audit
/// lines, on the channel <c>borne</c>. Only its source budget differs: the authenticated kiosk client's own
/// (<see cref="KioskOptions.Budget"/>), not the per-IP one. Why only the agency's devices: docs/decisions.md #26; the
/// budget: #40.
/// </summary>
public sealed class IdentifierPasswordGrantHandler(PasswordSignIn signIn, AuditTrail audit, KioskOptions options, TimeProvider clock,
    IOpenIddictApplicationManager applications)
{
    public async Task<IResult> ExchangeAsync(HttpContext http, OpenIddictRequest request)
    {
        http.Items[HttpAuditContextAccessor.ChannelItem] = IdentifierPasswordGrant.Channel;

        // Malformed input names nobody: refused before any lookup, without spending a budget.
        var typed = (string?)request[IdentifierPasswordGrant.IdentifierParameter];
        var password = (string?)request[IdentifierPasswordGrant.PasswordParameter];
        if (string.IsNullOrWhiteSpace(typed) || !LoginIdentifier.TryParse(typed, out var identifier, out _))
        {
            return Error(OpenIddictConstants.Errors.InvalidRequest, "The identifier parameter must be a NIR (13 or 15 characters) or a provisional identifier (P followed by 8 digits).");
        }
        if (string.IsNullOrEmpty(password))
        {
            return Error(OpenIddictConstants.Errors.InvalidRequest, "The password parameter is required.");
        }
        if (password.Length is < 8 or > 24)
        {
            // The login page's own bound: no secret of any kind is shorter or longer.
            return Error(OpenIddictConstants.Errors.InvalidRequest, "The password parameter must be 8 to 24 characters.");
        }

        var scopes = request.GetScopes().Where(s => !IdentifierPasswordGrant.NeverGranted.Contains(s)).ToList();
        if (scopes.Count == 0)
        {
            scopes.Add(CafScopes.Caf);
        }

        // The kiosk client's own budget, for a client OpenIddict authenticated and that holds the grant; else (a registration
        // edited into a public client) the per-IP budget of browsers.
        var source = await applications.ThrottleSourceAsync(http, request, IdentifierPasswordGrant.GrantType, options.Budget, http.RequestAborted);
        var result = await signIn.ExecuteAsync(
            new PasswordSignInRequest(identifier, password, request.ClientId, source, SignInMethod.Kiosk),
            cancellationToken: http.RequestAborted);
        if (result.Status == PasswordSignInStatus.SignedIn)
        {
            // The login is committed; the token's line is stored with the token row, in the grant's one write
            // (Protocol/TokenWriteHandlers, docs/decisions.md #34): a token is handed out if and only if its line is stored.
            audit.Append(new AuditEntry(AuditEventTypes.TokenIssued, IdentifierPasswordGrant.GrantType, result.Person!.Id, request.ClientId,
                $"scopes={string.Join(' ', scopes)}"));
        }

        return result.Status switch
        {
            PasswordSignInStatus.SignedIn => Results.SignIn(CreatePrincipal(result.Person!.Subject, scopes, request.ClientId!), properties: null,
                OpenIddictServerAspNetCoreDefaults.AuthenticationScheme),
            PasswordSignInStatus.Throttled => Error(OpenIddictConstants.Errors.InvalidGrant, "Too many failed attempts: try again later.", IdentifierPasswordGrant.AccountLocked,
                RetryAfterSeconds(result.RetryAfter)),
            PasswordSignInStatus.ProvisionalExpired => Error(OpenIddictConstants.Errors.InvalidGrant, "The provisional password has expired: ask for a new one.", IdentifierPasswordGrant.PasswordExpired),
            PasswordSignInStatus.NeedsActions => Error(OpenIddictConstants.Errors.InvalidGrant, "The person must complete their login in a browser first.", IdentifierPasswordGrant.FirstLoginRequired),
            // The secret changed while it was being checked: for the kiosk, as for the page, a wrong password now.
            _ => Error(OpenIddictConstants.Errors.InvalidGrant, "The identifier or the password is incorrect.", IdentifierPasswordGrant.InvalidCredentials),
        };
    }

    /// <summary>At least one second, rounded up: the kiosk must never be told it may retry before it may.</summary>
    private static long RetryAfterSeconds(TimeSpan retryAfter) => Math.Max(1, (long)Math.Ceiling(retryAfter.TotalSeconds));

    /// <summary>
    /// The person's subject, the channel and the authentication facts, in the access token only (no ID token, no refresh
    /// token). What the person may do is read from the store at every userinfo call (<see cref="CafClaims.Release"/>):
    /// their own files, roles and permissions, as for a web token.
    /// </summary>
    private ClaimsPrincipal CreatePrincipal(string subject, IReadOnlyCollection<string> scopes, string clientId)
    {
        var identity = new ClaimsIdentity(authenticationType: "CafConnect.Kiosk", nameType: Claims.Name, roleType: Claims.Role);
        identity.AddClaim(new Claim(Claims.Subject, subject));
        identity.AddClaim(new Claim(CafClaimTypes.Channel, IdentifierPasswordGrant.Channel));
        identity.AddClaim(new Claim(CafClaimTypes.AuthenticationMethods, PasswordSignIn.PasswordMethod));
        identity.AddClaim(new Claim(Claims.AuthenticationTime, clock.GetUtcNow().ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture), ClaimValueTypes.Integer64));

        var principal = new ClaimsPrincipal(identity);
        principal.SetScopes(scopes);
        principal.SetAccessTokenLifetime(options.AccessTokenLifetime);
        // The kiosk is the token's audience: introspecting it, it reads the channel and the method.
        principal.SetAudiences(clientId);
        identity.SetDestinations(_ => [Destinations.AccessToken]);
        return principal;
    }

    private static IResult Error(string error, string description, string? cafconnectError = null, long? retryAfter = null) =>
        GrantRefusals.Refuse(error, description, cafconnectError,
            retryAfter is { } seconds ? new Dictionary<string, object> { [IdentifierPasswordGrant.RetryAfterParameter] = seconds } : null);
}

/// <summary>
/// Discovery is read by every relying party; the kiosks are configured by the agency, not by discovery. A grant that
/// takes a person's password must not look available to third parties (RFC 9700 §2.4), so it is left out of
/// <c>grant_types_supported</c> (docs/decisions.md #26). Registered clients holding it still use it.
/// </summary>
public static class KioskGrantDiscovery
{
    public static OpenIddictServerHandlerDescriptor Descriptor { get; } =
        OpenIddictServerHandlerDescriptor.CreateBuilder<OpenIddictServerEvents.HandleConfigurationRequestContext>()
            .UseInlineHandler(context =>
            {
                context.GrantTypes.Remove(IdentifierPasswordGrant.GrantType);
                return default;
            })
            .SetOrder(OpenIddictServerHandlers.Discovery.AttachGrantTypes.Descriptor.Order + 1_000)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();
}
