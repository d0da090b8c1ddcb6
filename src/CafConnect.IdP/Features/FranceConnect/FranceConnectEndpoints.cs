using CafConnect.IdP.Federation;
using CafConnect.Application.Navigation;
using CafConnect.Application.Persistence;
using CafConnect.IdP.Protocol;
using CafConnect.IdP.Sessions;
using CafConnect.Infrastructure.Audit;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;
using OpenIddict.Client;
using OpenIddict.Abstractions;
using OpenIddict.Client.AspNetCore;
using static OpenIddict.Abstractions.OpenIddictConstants;
using ProtocolErrors = OpenIddict.Abstractions.OpenIddictConstants.Errors;

namespace CafConnect.IdP.Features.FranceConnect;

/// <summary>
/// FranceConnect as an external provider, through OpenIddict's client: « S'identifier avec FranceConnect » starts an
/// authorization code flow (state, nonce and — when FranceConnect offers it — PKCE, all checked by OpenIddict;
/// <c>acr_values=eidas1</c>), FranceConnect's answer comes back to <see cref="FranceConnectOptions.CallbackPath"/>, and
/// its logout is chained to ours. The pending <c>/connect/authorize</c> request rides in OpenIddict's state token
/// (encrypted and signed with the provider's keys) as a local return URL, checked again when it comes back.
/// </summary>
public static class FranceConnectEndpoints
{
    private static readonly string[] AcceptedAcr = ["eidas1", "eidas2", "eidas3"];

    /// <summary>Registers OpenIddict's client for FranceConnect (only when <c>FranceConnect:Enabled</c>).</summary>
    public static OpenIddictBuilder AddFranceConnect(this OpenIddictBuilder builder, FranceConnectOptions options, bool requireHttps)
    {
        options.Validate();
        builder.Services.AddSingleton(options);
        if (!options.Enabled)
        {
            return builder;
        }

        builder.Services.AddScoped<FranceConnectSignIn>();
        builder.Services.AddScoped<CafConnect.Infrastructure.Accounts.ExternalLoginDirectory>();
        builder.Services.AddSingleton<Microsoft.Extensions.Options.IConfigureOptions<OpenIddictClientOptions>, TokenKeyRingClientConfigurator>();
        return builder.AddClient(client =>
        {
            client.AllowAuthorizationCodeFlow();
            client.SetRedirectionEndpointUris(FranceConnectOptions.CallbackPath.TrimStart('/'))
                .SetPostLogoutRedirectionEndpointUris(FranceConnectOptions.PostLogoutCallbackPath.TrimStart('/'));
            // The state token outlives the person's stay at FranceConnect (account choice, password, consent).
            client.SetStateTokenLifetime(TimeSpan.FromMinutes(15));

            var aspNetCore = client.UseAspNetCore()
                .EnableRedirectionEndpointPassthrough()
                .EnablePostLogoutRedirectionEndpointPassthrough()
                // Errors (access_denied, a tampered state…) come to our handler, which shows a French page.
                .EnableErrorPassthrough()
                // Any other error of OpenIddict's client: our French status-code page rather than a bare protocol answer.
                .EnableStatusCodePagesIntegration();
            aspNetCore.Configure(o =>
            {
                // The correlation cookie that binds FranceConnect's answer to this browser: a top-level GET comes back
                // (query response mode), so Lax suffices; __Host- prefix under TLS like our other cookies.
                o.CookieBuilder.Name = requireHttps ? "__Host-cafconnect.fc" : "cafconnect.fc";
                o.CookieBuilder.SameSite = SameSiteMode.Lax;
                o.CookieBuilder.SecurePolicy = requireHttps ? CookieSecurePolicy.Always : CookieSecurePolicy.SameAsRequest;
                o.CookieBuilder.Path = "/";
                o.CookieBuilder.HttpOnly = true;
            });
            if (!requireHttps)
            {
                aspNetCore.DisableTransportSecurityRequirement();
            }

            // Every call to FranceConnect within FranceConnect:BackchannelTimeout (the HttpClient's timeout ends a call
            // that never gets an answer), and no retry: OpenIddict's default resilience pipeline retries with back-off,
            // which kept a person waiting about 16 s for an unreachable FranceConnect before the error page.
            client.UseSystemNetHttp()
                .SetProductInformation(typeof(FranceConnectEndpoints).Assembly)
                .ConfigureHttpClient(http => http.Timeout = options.BackchannelTimeout)
                .SetHttpResiliencePipeline(_ => { });

            var registration = new OpenIddictClientRegistration
            {
                Issuer = new Uri(options.Issuer!, UriKind.Absolute),
                ProviderName = FranceConnectOptions.ProviderName,
                ProviderDisplayName = "FranceConnect",
                ClientId = options.ClientId,
                ClientSecret = options.ClientSecret,
                RedirectUri = HostUri(options.RedirectUri),
                PostLogoutRedirectUri = HostUri(options.PostLogoutRedirectUri),
                // FranceConnect does not offer pushed authorization requests.
                DisablePushedAuthorizationRequests = true,
            };
            foreach (var scope in options.ScopeList)
            {
                registration.Scopes.Add(scope);
            }
            client.AddRegistration(registration);
        });
    }

    /// <summary>
    /// An absolute http(s) URI as is; a path relative to the host (OpenIddict resolves it against the request's base).
    /// Not <c>UriKind.RelativeOrAbsolute</c>: on Linux it reads "/franceconnect/retour" as a file:// URI.
    /// </summary>
    internal static Uri HostUri(string value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var absolute) && (absolute.Scheme == Uri.UriSchemeHttps || absolute.Scheme == Uri.UriSchemeHttp)
            ? absolute
            : new Uri(value.TrimStart('/'), UriKind.Relative);

    public static void MapFranceConnect(this IEndpointRouteBuilder endpoints)
    {
        if (endpoints.ServiceProvider.GetRequiredService<FranceConnectOptions>() is not { Enabled: true })
        {
            return;
        }
        // A form post with an anti-forgery token (bound from the form): no other site can start a FranceConnect login here.
        endpoints.MapPost(FranceConnectOptions.StartPath, StartAsync);
        endpoints.MapMethods(FranceConnectOptions.CallbackPath, [HttpMethods.Get, HttpMethods.Post], CallbackAsync).DisableAntiforgery();
        endpoints.MapMethods(FranceConnectOptions.PostLogoutCallbackPath, [HttpMethods.Get, HttpMethods.Post], PostLogoutCallbackAsync).DisableAntiforgery();
    }

    /// <summary>« S'identifier avec FranceConnect »: off to FranceConnect, the return URL in the (protected) state.</summary>
    private static async Task<IResult> StartAsync(HttpContext http, FranceConnectOptions options, AuditTrail audit, IUnitOfWork unitOfWork, RelyingParties relyingParties, ILoggerFactory loggers, TimeProvider clock, [FromForm(Name = "returnUrl")] string? returnUrl)
    {
        var parameters = new Dictionary<string, object?> { [Parameters.AcrValues] = options.AcrValues };
        var items = new Dictionary<string, string?> { [OpenIddictClientAspNetCoreConstants.Properties.ProviderName] = FranceConnectOptions.ProviderName };
        var redirectUri = ReturnUrls.OrAccountHome(returnUrl);
        if (ReauthenticationMarkers.IsAskedBy(redirectUri))
        {
            // The pending request asked for a login made for it (prompt=login, max_age, another person's hint, every kiosk
            // request: decision 53). FranceConnect keeps a session of its own in the browser and would answer at once with
            // whoever signed in there before — at a kiosk, the previous visitor (adversarial review, 6 December 2026,
            // seventh session): FranceConnect is asked to authenticate the person afresh too, and its answer is checked
            // for it (FreshLoginAtFranceConnect).
            FreshLoginAtFranceConnect.Ask(parameters, items, clock.GetUtcNow());
        }
        var properties = new AuthenticationProperties(items, parameters)
        {
            RedirectUri = redirectUri,
        };
        try
        {
            // Run here rather than as a deferred result: FranceConnect's discovery document is read now, and an
            // unreachable FranceConnect must give our French page, not a 500.
            // FranceConnect's configuration first (cached by OpenIddict): when it cannot be read, OpenIddict would
            // answer the challenge with a bare protocol error.
            var registration = await http.RequestServices.GetRequiredService<OpenIddictClientService>()
                .GetClientRegistrationByProviderNameAsync(FranceConnectOptions.ProviderName, http.RequestAborted);
            _ = await registration.ConfigurationManager!.GetConfigurationAsync(http.RequestAborted);
            await http.ChallengeAsync(OpenIddictClientAspNetCoreDefaults.AuthenticationScheme, properties);
            return Results.Empty;
        }
        catch (Exception exception) when (FranceConnectFailures.IsUnavailable(exception))
        {
            loggers.CreateLogger(typeof(FranceConnectEndpoints)).LogWarning(new EventId(2102, "FranceConnectUnavailable"), exception, "FranceConnect could not be reached");
            audit.Append(new AuditEntry(AuditEventTypes.FranceConnectFailed, "unavailable", null, await relyingParties.RegisteredClientOfAsync(properties.RedirectUri, http.RequestAborted)));
            await unitOfWork.CommitAsync(http.RequestAborted);
            return Results.Redirect(FranceConnectOptions.ErrorPath + "?motif=indisponible" + ReturnQuery(properties.RedirectUri!, "&"));
        }
    }

    private static async Task<IResult> CallbackAsync(HttpContext http, FranceConnectOptions options, FranceConnectSignIn signIn, AuditTrail audit, IUnitOfWork unitOfWork, RelyingParties relyingParties, ILoggerFactory loggers)
    {
        var logger = loggers.CreateLogger(typeof(FranceConnectEndpoints));
        AuthenticateResult result;
        try
        {
            result = await ReadAnswerAsync(http);
        }
        catch (Exception exception) when (FranceConnectFailures.IsUnavailable(exception))
        {
            // FranceConnect unreachable, or a response OpenIddict cannot use.
            logger.LogWarning(new EventId(2102, "FranceConnectUnavailable"), exception, "FranceConnect's answer could not be processed");
            audit.Append(new AuditEntry(AuditEventTypes.FranceConnectFailed, "unavailable"));
            await unitOfWork.CommitAsync(http.RequestAborted);
            return Results.Redirect(FranceConnectOptions.ErrorPath + "?motif=indisponible");
        }

        var returnUrl = ReturnUrls.OrAccountHome(result.Properties?.RedirectUri);
        var clientId = await relyingParties.RegisteredClientOfAsync(returnUrl, http.RequestAborted);
        if (!result.Succeeded || result.Principal is null)
        {
            var error = result.Properties?.GetString(OpenIddictClientAspNetCoreConstants.Properties.Error);
            var reason = error switch
            {
                ProtocolErrors.AccessDenied => "access_denied",
                // FranceConnect's token or userinfo endpoint could not be reached, or answered an error of its own.
                ProtocolErrors.ServerError or ProtocolErrors.TemporarilyUnavailable => "unavailable",
                _ => "invalid_response",
            };
            logger.LogInformation(new EventId(2103, "FranceConnectRefused"), "FranceConnect's answer was refused: {Error} {Description}",
                error, result.Properties?.GetString(OpenIddictClientAspNetCoreConstants.Properties.ErrorDescription));
            audit.Append(new AuditEntry(AuditEventTypes.FranceConnectFailed, reason, null, clientId, error is null ? null : $"error={Truncate(error, 64)}"));
            await unitOfWork.CommitAsync(http.RequestAborted);
            var motif = reason switch { "access_denied" => "annule", "unavailable" => "indisponible", _ => "invalide" };
            return Results.Redirect(FranceConnectOptions.ErrorPath + "?motif=" + motif + ReturnQuery(returnUrl, "&"));
        }

        if (FreshLoginAtFranceConnect.IsStale(result, out var authTime))
        {
            // A login was asked and FranceConnect answered with an older one (or did not say when): the session it already
            // had, perhaps someone else's. Nobody is signed in.
            logger.LogInformation(new EventId(2106, "FranceConnectStaleAuthentication"),
                "FranceConnect answered a login request with an earlier authentication (auth_time {AuthTime})", authTime ?? "(none)");
            audit.Append(new AuditEntry(AuditEventTypes.FranceConnectFailed, "stale_authentication", null, clientId, $"auth_time={Truncate(authTime ?? "(none)", 32)}"));
            await unitOfWork.CommitAsync(http.RequestAborted);
            return Results.Redirect(FranceConnectOptions.ErrorPath + "?motif=reconnexion" + ReturnQuery(returnUrl, "&"));
        }

        var acr = result.Principal.FindFirst(Claims.AuthenticationContextReference)?.Value;
        if (acr is null || !AcceptedAcr.Contains(acr, StringComparer.Ordinal))
        {
            audit.Append(new AuditEntry(AuditEventTypes.FranceConnectFailed, "insufficient_acr", null, clientId, $"acr={Truncate(acr ?? "(none)", 32)}"));
            await unitOfWork.CommitAsync(http.RequestAborted);
            return Results.Redirect(FranceConnectOptions.ErrorPath + "?motif=invalide" + ReturnQuery(returnUrl, "&"));
        }

        var pivot = PivotIdentity.From(result.Principal);
        if (pivot is null || pivot.BirthDate is null || pivot.FamilyName.Length == 0 || pivot.GivenNames.Length == 0)
        {
            audit.Append(new AuditEntry(AuditEventTypes.FranceConnectFailed, "incomplete_identity", null, clientId));
            await unitOfWork.CommitAsync(http.RequestAborted);
            return Results.Redirect(FranceConnectOptions.ErrorPath + "?motif=incomplet" + ReturnQuery(returnUrl, "&"));
        }

        var idToken = result.Properties?.GetTokenValue(OpenIddictClientAspNetCoreConstants.Tokens.BackchannelIdentityToken)
            ?? result.Properties?.GetTokenValue(OpenIddictClientAspNetCoreConstants.Tokens.FrontchannelIdentityToken);
        try
        {
            var outcome = await signIn.SignInAsync(http, pivot, idToken, returnUrl, clientId, http.RequestAborted);
            return Results.Redirect(outcome.RedirectTo);
        }
        catch (DbUpdateException exception)
        {
            // The same identity linked twice at once (two tabs): the unique index refused the second; try again.
            logger.LogWarning(new EventId(2104, "FranceConnectLinkConflict"), exception, "FranceConnect link could not be saved");
            return Results.Redirect(FranceConnectOptions.ErrorPath + "?motif=indisponible" + ReturnQuery(returnUrl, "&"));
        }
    }

    /// <summary>
    /// Back from FranceConnect's logout: its state is checked, then the relying party that asked for the logout (its
    /// post_logout_redirect_uri with its state, kept in OpenIddict's protected state token and checked again against the
    /// client's registration), else our "vous êtes déconnecté" page.
    /// </summary>
    private static async Task<IResult> PostLogoutCallbackAsync(HttpContext http, AuditTrail audit, IUnitOfWork unitOfWork, IOpenIddictApplicationManager applications)
    {
        var result = await ReadAnswerAsync(http);
        if (!result.Succeeded)
        {
            audit.Append(new AuditEntry(AuditEventTypes.FranceConnectFailed, "logout_invalid_response"));
            await unitOfWork.CommitAsync(http.RequestAborted);
            return Results.Redirect(FranceConnectSignOut.LoggedOutPath);
        }
        var relyingParty = RelyingPartyReturn.From(result.Properties);
        return Results.Redirect(await relyingParty.TargetAsync(applications, http.RequestAborted) ?? FranceConnectSignOut.LoggedOutPath);
    }

    /// <summary>
    /// FranceConnect's answer, as OpenIddict's client validates it. It comes in the query of a GET or in a form POST; a
    /// POST with no form body (none, JSON, text, multipart) is no answer at all, and is refused as an invalid one: OpenIddict
    /// 7.8 rejects such a request when it extracts it, yet goes on authenticating it and throws a NullReferenceException in
    /// its state-token handler — a 500 for anyone posting to the two return addresses (adversarial review, 6 December 2026,
    /// seventh session).
    /// </summary>
    private static async Task<AuthenticateResult> ReadAnswerAsync(HttpContext http) =>
        HttpMethods.IsPost(http.Request.Method) && !IsUrlEncodedForm(http.Request.ContentType)
            ? AuthenticateResult.NoResult()
            : await http.AuthenticateAsync(OpenIddictClientAspNetCoreDefaults.AuthenticationScheme);

    /// <summary>The one form OpenIddict reads (multipart is a form to ASP.NET Core, not to OpenIddict).</summary>
    private static bool IsUrlEncodedForm(string? contentType) =>
        Microsoft.Net.Http.Headers.MediaTypeHeaderValue.TryParse(contentType, out var type)
        && string.Equals(type.MediaType.Value, "application/x-www-form-urlencoded", StringComparison.OrdinalIgnoreCase);

    private static string ReturnQuery(string returnUrl, string separator) =>
        ReturnUrls.IsAuthorizationRequest(returnUrl) ? $"{separator}returnUrl={Uri.EscapeDataString(returnUrl)}" : string.Empty;

    private static string Truncate(string value, int max) => value.Length <= max ? value : value[..max];
}

/// <summary>OpenIddict's client protects its state tokens with the provider's own keys (shared by every instance).</summary>
public sealed class TokenKeyRingClientConfigurator(TokenKeyRing ring) : Microsoft.Extensions.Options.IConfigureOptions<OpenIddictClientOptions>
{
    public void Configure(OpenIddictClientOptions options)
    {
        foreach (var key in ring.Keys.Where(k => k.Record.Use == CafConnect.Infrastructure.Keys.TokenKeyUses.Signing))
        {
            options.SigningCredentials.Add(new Microsoft.IdentityModel.Tokens.SigningCredentials(key.SecurityKey, key.Record.Algorithm));
        }
        foreach (var key in ring.Keys.Where(k => k.Record.Use == CafConnect.Infrastructure.Keys.TokenKeyUses.Encryption))
        {
            options.EncryptionCredentials.Add(new Microsoft.IdentityModel.Tokens.EncryptingCredentials(
                (Microsoft.IdentityModel.Tokens.SymmetricSecurityKey)key.SecurityKey,
                Microsoft.IdentityModel.Tokens.SecurityAlgorithms.Aes256KW,
                Microsoft.IdentityModel.Tokens.SecurityAlgorithms.Aes256CbcHmacSha512));
        }
    }
}
