using System.Security.Cryptography;
using CafConnect.Infrastructure.Clients;
using CafConnect.Infrastructure.Keys;
using CafConnect.Infrastructure.Persistence;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Polly;

namespace CafConnect.Infrastructure.Sessions;

/// <summary>How logout tokens are delivered (<c>BackchannelLogout:*</c>).</summary>
public sealed class BackchannelLogoutOptions
{
    /// <summary>Each POST gives up after this long (a slow relying party must not hold an incident run).</summary>
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Retries after a network error, a timeout, a 408, 429 or 5xx (exponential backoff with jitter).</summary>
    public int MaxRetries { get; set; } = 2;
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Lifetime of a logout token (its <c>exp</c>): enough for retries, short against replay.</summary>
    public TimeSpan TokenLifetime { get; set; } = TimeSpan.FromMinutes(2);
}

/// <summary>One (session, client) pair to tell.</summary>
public sealed record LogoutTarget(string SessionId, string ClientId, string Subject, Guid PersonId);

/// <summary>What happened to one logout token.</summary>
public sealed record LogoutDelivery(LogoutTarget Target, bool Delivered, string? Error);

/// <summary>
/// OpenID Connect Back-Channel Logout 1.0: builds logout tokens (signed JWTs, <c>typ</c> <c>logout+jwt</c>, with
/// <c>iss</c>, <c>aud</c>, <c>iat</c>, <c>exp</c>, <c>jti</c>, <c>sub</c>, <c>sid</c> and the logout event, no
/// <c>nonce</c>) with the key that signs the client's ID tokens (RS256 unless it registered ES256: Back-Channel Logout
/// §2.4, the same keys as for ID tokens; docs/decisions.md #33), POSTs them to each client's registered
/// <c>backchannel_logout_uri</c>, and records each delivery on the session's client link so that a token is delivered
/// once per (session, client). A relying party that fails is reported, never fatal.
/// </summary>
public sealed class BackchannelLogoutSender(
    IHttpClientFactory httpClients,
    TokenKeyStore keys,
    ClientAdministration clients,
    CafConnectDbContext db,
    TimeProvider clock,
    BackchannelLogoutOptions options,
    TokenSigningSettings signingSettings,
    ILogger<BackchannelLogoutSender> logger,
    Observability.CafConnectMetrics? metrics = null)
{
    public const string HttpClientName = "backchannel-logout";
    public const string LogoutEvent = "http://schemas.openid.net/event/backchannel-logout";

    private IReadOnlyList<TokenKey>? _keys;
    private readonly Dictionary<string, SigningCredentials> _signing = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ClientRegistration?> _registrations = new(StringComparer.Ordinal);

    private async Task<ClientRegistration?> RegistrationOfAsync(string clientId, CancellationToken cancellationToken)
    {
        if (!_registrations.TryGetValue(clientId, out var registration))
        {
            registration = await clients.FindAsync(clientId, cancellationToken);
            _registrations[clientId] = registration;
        }
        return registration;
    }

    /// <summary>The logout URI registered by <paramref name="clientId"/>, or null when it registered none.</summary>
    public async Task<Uri?> LogoutUriOfAsync(string clientId, CancellationToken cancellationToken = default) =>
        (await RegistrationOfAsync(clientId, cancellationToken))?.BackchannelLogoutUri is { } value ? new Uri(value, UriKind.Absolute) : null;

    /// <summary>A signed logout token for one session at one client.</summary>
    public async Task<string> CreateLogoutTokenAsync(string issuer, LogoutTarget target, CancellationToken cancellationToken = default)
    {
        var algorithm = TokenSigning.IdTokenAlgorithmOf((await RegistrationOfAsync(target.ClientId, cancellationToken))?.IdTokenSignedResponseAlg);
        if (!_signing.TryGetValue(algorithm, out var signing))
        {
            _signing[algorithm] = signing = await CurrentSigningCredentialsAsync(algorithm, cancellationToken);
        }
        var now = clock.GetUtcNow().UtcDateTime;
        var handler = new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false };
        return handler.CreateToken(new SecurityTokenDescriptor
        {
            TokenType = "logout+jwt",
            Issuer = issuer,
            Audience = target.ClientId,
            IssuedAt = now,
            Expires = now + options.TokenLifetime,
            SigningCredentials = signing,
            Claims = new Dictionary<string, object>
            {
                [JwtRegisteredClaimNames.Jti] = Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(16)),
                [JwtRegisteredClaimNames.Sub] = target.Subject,
                ["sid"] = target.SessionId,
                ["events"] = new Dictionary<string, object> { [LogoutEvent] = new Dictionary<string, object>() },
            },
        });
    }

    /// <summary>
    /// Delivers a logout token to each target whose client registered a URI, records the outcome on its link, and
    /// returns one result per target that has a URI (targets without one are skipped).
    /// </summary>
    public async Task<IReadOnlyList<LogoutDelivery>> DeliverAsync(string issuer, IEnumerable<LogoutTarget> targets, IProgress<LogoutDelivery>? progress = null,
        CancellationToken cancellationToken = default)
    {
        var results = new List<LogoutDelivery>();
        var http = httpClients.CreateClient(HttpClientName);
        foreach (var target in targets)
        {
            if (await LogoutUriOfAsync(target.ClientId, cancellationToken) is not { } uri)
            {
                continue;
            }
            var token = await CreateLogoutTokenAsync(issuer, target, cancellationToken);
            string? error = null;
            try
            {
                using var response = await http.PostAsync(uri, new FormUrlEncodedContent([new("logout_token", token)]), cancellationToken);
                if (!response.IsSuccessStatusCode)
                {
                    error = $"HTTP {(int)response.StatusCode}";
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or TimeoutException or Polly.Timeout.TimeoutRejectedException
                && !cancellationToken.IsCancellationRequested)
            {
                error = e is HttpRequestException ? "network error: " + e.Message : "timed out";
            }

            var now = clock.GetUtcNow();
            var link = db.ProviderSessionClients.Where(l => l.SessionId == target.SessionId && l.ClientId == target.ClientId);
            if (error is null)
            {
                await link.ExecuteUpdateAsync(s => s
                    .SetProperty(l => l.LogoutAttempts, l => l.LogoutAttempts + 1)
                    .SetProperty(l => l.LogoutDeliveredAt, now)
                    .SetProperty(l => l.LastLogoutError, (string?)null), cancellationToken);
            }
            else
            {
                var recorded = error.Length > 500 ? error[..500] : error;
                await link.ExecuteUpdateAsync(s => s
                    .SetProperty(l => l.LogoutAttempts, l => l.LogoutAttempts + 1)
                    .SetProperty(l => l.LastLogoutError, recorded), cancellationToken);
            }
            if (error is not null)
            {
                // The client and the session id only: the token is a credential for that session's logout.
                logger.LogWarning("Back-channel logout to client {ClientId} for session {SessionId} failed: {Error}", target.ClientId, target.SessionId, error);
            }
            metrics?.BackchannelLogout(target.ClientId, error is null);
            var delivery = new LogoutDelivery(target, error is null, error);
            results.Add(delivery);
            progress?.Report(delivery);
        }
        return results;
    }

    private async Task<SigningCredentials> CurrentSigningCredentialsAsync(string algorithm, CancellationToken cancellationToken)
    {
        // The host's rule (docs/decisions.md #29, #33): the oldest active key of the algorithm, once every instance knows it.
        _keys ??= await keys.LoadAsync(cancellationToken);
        var key = TokenSigning.SignerFor(algorithm, _keys, clock.GetUtcNow(), signingSettings.PublicationDelay);
        return new SigningCredentials(key.SecurityKey, key.Record.Algorithm);
    }
}

public static class BackchannelLogoutRegistration
{
    public static IServiceCollection AddCafConnectBackchannelLogout(this IServiceCollection services, Microsoft.Extensions.Configuration.IConfiguration configuration)
    {
        var options = Microsoft.Extensions.Configuration.ConfigurationBinder.Get<BackchannelLogoutOptions>(configuration.GetSection("BackchannelLogout")) ?? new BackchannelLogoutOptions();
        services.AddSingleton(options);
        services.AddScoped<BackchannelLogoutSender>();
        services.AddHttpClient(BackchannelLogoutSender.HttpClientName, client => client.Timeout = Timeout.InfiniteTimeSpan)
            .AddResilienceHandler("backchannel-logout", pipeline =>
            {
                if (options.MaxRetries > 0)
                {
                    pipeline.AddRetry(new HttpRetryStrategyOptions
                    {
                        MaxRetryAttempts = options.MaxRetries,
                        Delay = options.RetryDelay,
                        BackoffType = DelayBackoffType.Exponential,
                        UseJitter = true,
                    });
                }
                pipeline.AddTimeout(options.AttemptTimeout);
            });
        return services;
    }
}
