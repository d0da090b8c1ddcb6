using CafConnect.IdP.Federation;
using CafConnect.Application;
using CafConnect.IdP.Admin;
using CafConnect.IdP.Demo;
using CafConnect.IdP.Features.FirstLogin;
using CafConnect.IdP.Features.FranceConnect;
using CafConnect.IdP.Features.Login;
using CafConnect.IdP.Features.PhoneChannel;
using CafConnect.IdP.Features.ProvisionalIdRecovery;
using CafConnect.IdP.Features.Recovery;
using CafConnect.IdP.Operations;
using CafConnect.IdP.Protocol;
using CafConnect.IdP.Sessions;
using CafConnect.Infrastructure;
using CafConnect.Infrastructure.Audit;
using CafConnect.Infrastructure.Clients;
using CafConnect.Infrastructure.Keys;
using CafConnect.Infrastructure.Notifications;
using CafConnect.Infrastructure.Persistence;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.Extensions.Options;
using OpenIddict.Server;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace CafConnect.IdP.Hosting;

/// <summary>Everything the host is made of, in one readable place: services, then the request pipeline, then start-up work.</summary>
public static class CafConnectHost
{
    public static void AddCafConnect(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        var configuration = builder.Configuration;
        var requireHttps = configuration.GetValue("Oidc:RequireHttps", true);
        var storage = StorageSettings.FromConfiguration(configuration, builder.Environment.ContentRootPath);
        // Fail fast, before anything listens, on a configuration that would be unsafe in production (docs/operations.md).
        StartupChecks.ThrowIfAny(configuration, builder.Environment, storage);

        if (!builder.Environment.IsDevelopment())
        {
            // One JSON object per line for the log shipper; scopes carry the trace id (the audit correlation id).
            builder.Logging.AddJsonConsole(options =>
            {
                options.IncludeScopes = true;
                options.UseUtcTimestamp = true;
                options.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
            });
        }
        services.AddCafConnectHealth(configuration, storage);
        services.AddCafConnectTelemetry(configuration);

        services.AddHttpContextAccessor();
        // Behind nginx / a load balancer: the client's address and scheme from the trusted proxies only.
        if (ReverseProxySettings.Read(configuration) is { } forwarded)
        {
            services.Configure(forwarded);
            services.AddSingleton(new ReverseProxyEnabled());
        }
        services.AddSingleton<IAuditContextAccessor, HttpAuditContextAccessor>();
        services.AddCafConnectApplication(configuration);
        services.AddCafConnectInfrastructure(configuration, builder.Environment.ContentRootPath)
            .AddServer(options =>
            {
                if (configuration["Oidc:Issuer"] is { Length: > 0 } issuer)
                {
                    options.SetIssuer(new Uri(issuer, UriKind.Absolute));
                }

                options.SetAuthorizationEndpointUris(ProtocolEndpoints.AuthorizePath.TrimStart('/'))
                    .SetTokenEndpointUris(ProtocolEndpoints.TokenPath.TrimStart('/'))
                    .SetUserInfoEndpointUris(ProtocolEndpoints.UserInfoPath.TrimStart('/'))
                    .SetEndSessionEndpointUris(ProtocolEndpoints.EndSessionPath.TrimStart('/'))
                    .SetRevocationEndpointUris(ProtocolEndpoints.RevocationPath.TrimStart('/'))
                    .SetIntrospectionEndpointUris(ProtocolEndpoints.IntrospectionPath.TrimStart('/'))
                    .SetJsonWebKeySetEndpointUris(ProtocolEndpoints.JwksPath.TrimStart('/'));

                // Code flow only for people: no implicit, no hybrid, no password grant. Client credentials only for the
                // agency's systems (service clients, the admin API): a client needs the permission to use it.
                options.AllowAuthorizationCodeFlow().AllowRefreshTokenFlow().AllowClientCredentialsFlow();
                // The phone server's file number + 8-digit code, for clients registered with that permission only.
                options.AllowCustomFlow(LegacyCodeGrant.GrantType);
                // The agency's kiosks: a person's identifier and password, for clients registered with that permission
                // only, and not advertised in discovery (docs/decisions.md #26).
                options.AllowCustomFlow(CafConnect.IdP.Features.Kiosk.IdentifierPasswordGrant.GrantType);
                options.AddEventHandler(CafConnect.IdP.Features.Kiosk.KioskGrantDiscovery.Descriptor);
                options.RequireProofKeyForCodeExchange();
                // S256 only: "plain" would let an intercepted authorization request carry its own verifier.
                options.Configure(o => o.CodeChallengeMethods.Remove(CodeChallengeMethods.Plain));

                options.RegisterScopes(Scopes.OpenId, Scopes.Profile, Scopes.Email, Scopes.Phone, Scopes.OfflineAccess, CafScopes.Caf, CafScopes.Nir, CafScopes.Admin, CafScopes.Clients);
                options.RegisterClaims(CafClaimTypes.FileRestriction, CafClaimTypes.Channel, Claims.Subject, Claims.Name, Claims.GivenName, Claims.FamilyName, Claims.Birthdate, Claims.Gender,
                    Claims.Email, Claims.EmailVerified, Claims.PhoneNumber, Claims.PhoneNumberVerified, Claims.AuthenticationTime,
                    CafClaimTypes.AuthenticationMethods, CafClaimTypes.SessionId, CafClaimTypes.Files, CafClaimTypes.PrimoDemandeur, CafClaimTypes.Permissions, CafClaimTypes.Nir);

                options.SetAuthorizationCodeLifetime(TimeSpan.FromSeconds(60))
                    .SetAccessTokenLifetime(TimeSpan.FromMinutes(5))
                    .SetIdentityTokenLifetime(TimeSpan.FromMinutes(5))
                    .SetRefreshTokenLifetime(TimeSpan.FromDays(14));
                // A refresh token is good for exactly one use: any reuse revokes the whole authorization.
                options.SetRefreshTokenReuseLeeway(TimeSpan.Zero);

                // OpenID Back-Channel Logout 1.0: relying parties that register a backchannel_logout_uri are told when a
                // session ends (logout, incident revocation); logout tokens carry sid.
                // Every answer of the token endpoint is counted (grants by result, channel and client).
                options.AddEventHandler(GrantMetricsHandler.Descriptor);
                // ES256 for the tokens only the provider reads, RS256 ID tokens unless a client registered ES256 (decision 33).
                options.AddEventHandler(TokenSigningKeySelector.Descriptor);
                options.AddEventHandler<OpenIddictServerEvents.HandleConfigurationRequestContext>(handler => handler.UseInlineHandler(context =>
                {
                    context.Metadata["backchannel_logout_supported"] = true;
                    context.Metadata["backchannel_logout_session_supported"] = true;
                    return default;
                }));

                var aspNetCore = options.UseAspNetCore()
                    .EnableAuthorizationEndpointPassthrough()
                    .EnableTokenEndpointPassthrough()
                    .EnableUserInfoEndpointPassthrough()
                    .EnableEndSessionEndpointPassthrough()
                    .EnableStatusCodePagesIntegration();
                if (!requireHttps)
                {
                    // Only for loopback development and tests; production runs behind TLS.
                    aspNetCore.DisableTransportSecurityRequirement();
                }
                // Errors back to valid clients, bodyless userinfo POST (docs/conformance.md).
                options.AddCafConnectProtocolHandlers();
                // The token rows and the audit line of a grant in one write (docs/decisions.md #34).
                options.AddCafConnectTokenWriteBatch();
            })
            // FranceConnect as an external provider (OpenIddict's client), when FranceConnect:Enabled.
            .AddFranceConnect(configuration.GetSection("FranceConnect").Get<FranceConnectOptions>() ?? new FranceConnectOptions(), requireHttps);

        // The admin API's bearer tokens are checked against this very server (keys, expiry, revocation).
        services.AddOpenIddict().AddValidation(options =>
        {
            options.UseLocalServer();
            options.EnableTokenEntryValidation();
            // The Authorization header only (RFC 6750 §2.1): a token in the query string or a form stays in proxies' access
            // logs and browser histories (adversarial review, 6 December 2026, seventh session); the API's bodies are JSON.
            options.UseAspNetCore()
                .DisableAccessTokenExtractionFromQueryString()
                .DisableAccessTokenExtractionFromBodyForm();
        });

        // The host (not the CLI) sends what the outbox holds.
        services.AddOutboxDispatcher();
        // ...and, with Redis, evicts its client rows when another process announces a change (docs/decisions.md #45).
        services.AddClientChangesSubscriber(configuration);

        services.AddSingleton<TokenKeyRing>();
        services.AddSingleton<IConfigureOptions<OpenIddictServerOptions>, TokenKeyRingConfigurator>();
        // Keys rotated while running: reloaded every Keys:RefreshInterval, and OpenIddict's options rebuilt with them.
        services.AddSingleton<IOptionsChangeTokenSource<OpenIddictServerOptions>, TokenKeyRingChangeTokenSource<OpenIddictServerOptions>>();
        services.AddSingleton<IOptionsChangeTokenSource<OpenIddict.Validation.OpenIddictValidationOptions>, TokenKeyRingChangeTokenSource<OpenIddict.Validation.OpenIddictValidationOptions>>();
        services.AddSingleton<IOptionsChangeTokenSource<OpenIddict.Client.OpenIddictClientOptions>, TokenKeyRingChangeTokenSource<OpenIddict.Client.OpenIddictClientOptions>>();
        services.AddSingleton<TokenKeyRingRefresher>();
        services.AddHostedService(sp => sp.GetRequiredService<TokenKeyRingRefresher>());

        services.AddAuthentication(PersonSession.Scheme)
            .AddCookie(PersonSession.Scheme, options =>
            {
                options.Cookie.Name = requireHttps ? "__Host-cafconnect.session" : "cafconnect.session";
                options.Cookie.HttpOnly = true;
                options.Cookie.SameSite = SameSiteMode.Lax;
                options.Cookie.SecurePolicy = requireHttps ? CookieSecurePolicy.Always : CookieSecurePolicy.SameAsRequest;
                options.Cookie.Path = "/";
                options.LoginPath = "/connexion";
                options.LogoutPath = "/deconnexion";
                options.ReturnUrlParameter = "returnUrl";
                options.ExpireTimeSpan = configuration.GetValue("Session:IdleTimeout", TimeSpan.FromMinutes(30));
                options.SlidingExpiration = true;
                // A session older than the person's password (reset, provisional password) or of a closed account ends.
                options.Events.OnValidatePrincipal = PersonSession.ValidateAsync;
            });
        services.AddAuthorization();
        services.AddAntiforgery(options =>
        {
            options.Cookie.Name = requireHttps ? "__Host-cafconnect.af" : "cafconnect.af";
            options.Cookie.SecurePolicy = requireHttps ? CookieSecurePolicy.Always : CookieSecurePolicy.SameAsRequest;
            options.Cookie.SameSite = SameSiteMode.Strict;
        });
        // Every token is bound to the session it was issued in (a token of another session is refused).
        services.AddSingleton<Microsoft.AspNetCore.Antiforgery.IAntiforgeryAdditionalDataProvider, SessionAntiforgeryData>();

        services.AddRazorPages(options =>
        {
            options.RootDirectory = "/Features";
            options.Conventions.AuthorizeFolder("/Account");
        });

        services.AddScoped<LoginHandler>();
        services.AddScoped<LegacyCodeGrantHandler>();
        services.AddScoped<CafConnect.IdP.Features.Kiosk.IdentifierPasswordGrantHandler>();
        services.AddSingleton(CafConnect.IdP.Features.Kiosk.KioskOptions.FromConfiguration(configuration));
        services.AddSingleton<FlowBrowserBinding>();
        services.AddScoped<ReauthenticationMarkers>();
        services.AddScoped<FirstLoginJourney>();
        services.AddScoped<RecoveryJourney>();
        services.AddScoped<ProvisionalIdReminderJourney>();
        services.AddScoped<CafConnect.IdP.Features.AccountCreation.AccountCreationJourney>();
        services.AddScoped<CafConnect.IdP.Features.Account.HouseholdInvitationService>();
        services.AddSingleton<RememberedIdentifier>();
        // « Besoin d'aide ? » and the public-service pages (accessibility, legal notice, personal data, cookies).
        services.AddSingleton(configuration.GetSection("Help").Get<CafConnect.IdP.Features.PublicInformation.HelpOptions>() ?? new());
        services.AddSingleton(configuration.GetSection("Legal").Get<CafConnect.IdP.Features.PublicInformation.LegalNoticeOptions>() ?? new());
        services.AddSingleton<CafConnect.IdP.Features.PublicInformation.RetentionFigures>();
        services.AddScoped<DemoData>();
        services.AddHttpClient();
    }

    public static void UseCafConnect(this WebApplication app)
    {
        if (app.Services.GetService<ReverseProxyEnabled>() is not null)
        {
            // First: everything after (throttling, audit, HTTPS checks, the issuer) sees the client, not the proxy.
            app.UseForwardedHeaders();
        }
        app.UseMiddleware<RequestLogMiddleware>();
        // Redis or PostgreSQL unreachable: 503 with the French « momentanément indisponible » page, not a 500.
        app.UseExceptionHandler(new ExceptionHandlerOptions
        {
            ExceptionHandlingPath = "/erreur",
            StatusCodeSelector = DependencyOutage.StatusCodeFor,
        });
        // ...and relying parties on the back channel get temporarily_unavailable (JSON) rather than an HTML page.
        app.UseMiddleware<DependencyOutageMiddleware>();
        // People get a French page for errors; relying parties calling the back-channel endpoints get the bare status
        // and OpenIddict's RFC 6750 / 6749 headers and JSON, never HTML.
        app.UseWhen(http => !ProtocolEndpoints.IsBackChannel(http.Request.Path) && !AdminApi.IsAdmin(http.Request.Path) && !HealthEndpoints.IsHealth(http.Request.Path), branch => branch.UseStatusCodePagesWithReExecute("/erreur/{0}"));
        app.UseMiddleware<SecurityHeadersMiddleware>();
        app.UseMiddleware<MalformedInputMiddleware>();
        app.UseStaticFiles();
        app.UseRouting();
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseAntiforgery();
        // Relying parties hear of the sessions a password replacement ended (docs/decisions.md #44).
        app.UseLogoutNotificationOfSessionsEndedByTheServer();
        app.MapRazorPages();
        app.MapProtocolEndpoints();
        app.MapForgottenFileCode();
        app.MapFranceConnect();
        app.MapAdminApi();
        app.MapCafConnectHealth();
        // Benchmark only (bench/run.sh): Development, configured, loopback.
        app.MapBenchHashing();
        if (app.Configuration.GetValue("Demo:Enabled", false))
        {
            app.MapDemoRelyingParty();
        }
    }

    /// <summary>Before serving: migrate the store, load (or create) token keys, register configured clients, seed demo data.</summary>
    public static async Task InitializeCafConnectAsync(this WebApplication app, CancellationToken cancellationToken = default)
    {
        // Telemetry subscribes to the store's diagnostics when its providers are built, which the host would do only when it
        // starts, after this method. A pooled DbContext used here while nobody listened would remember "nobody listens" for
        // EF Core's logging cache time (1 s) and leave the store's spans out of the first requests' traces.
        _ = app.Services.GetService<OpenTelemetry.Trace.TracerProvider>();
        _ = app.Services.GetService<OpenTelemetry.Metrics.MeterProvider>();

        using var scope = app.Services.CreateScope();
        var provider = scope.ServiceProvider;
        if (app.Configuration.GetValue("Storage:MigrateOnStartup", true))
        {
            await provider.GetRequiredService<DatabaseMigrator>().MigrateAsync(cancellationToken);
        }

        await provider.GetRequiredService<CafConnect.Infrastructure.Terms.TermsOfUseCatalog>().EnsurePublishedAsync(cancellationToken);
        app.Services.GetRequiredService<TokenKeyRing>().Load(await provider.GetRequiredService<TokenKeyStore>().LoadOrCreateAsync(cancellationToken));

        // Configured clients are created when missing and otherwise left as operators (CLI) made them.
        var clients = provider.GetRequiredService<ClientAdministration>();
        foreach (var registration in app.Configuration.GetSection("Clients").Get<List<ClientRegistration>>() ?? [])
        {
            if (!await clients.ExistsAsync(registration.ClientId, cancellationToken))
            {
                await clients.AddAsync(registration, cancellationToken);
            }
        }

        if (app.Configuration.GetValue("Demo:Enabled", false))
        {
            await provider.GetRequiredService<DemoData>().SeedWhenEmptyAsync(cancellationToken);
        }
    }
}

/// <summary>Marks that <c>ReverseProxy:*</c> configured trusted proxies (the pipeline then applies forwarded headers).</summary>
internal sealed class ReverseProxyEnabled;
