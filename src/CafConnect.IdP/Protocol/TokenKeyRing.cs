using CafConnect.Infrastructure.Keys;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using OpenIddict.Abstractions;
using OpenIddict.Server;

namespace CafConnect.IdP.Protocol;

/// <summary>
/// The token keys of this instance, loaded from the store at start-up and reloaded by <see cref="TokenKeyRingRefresher"/>
/// (keys rotated by <c>cafconnect keys rotate</c> are picked up without a restart). Each change of the ring fires a change
/// token, through which OpenIddict's server, validation and client options are rebuilt with the new keys.
/// </summary>
public sealed class TokenKeyRing
{
    private IReadOnlyList<TokenKey>? _keys;
    private IReadOnlyDictionary<string, Microsoft.IdentityModel.Tokens.SigningCredentials> _signing =
        new Dictionary<string, Microsoft.IdentityModel.Tokens.SigningCredentials>(StringComparer.Ordinal);
    private CancellationTokenSource _changed = new();

    public IReadOnlyList<TokenKey> Keys => _keys
        ?? throw new InvalidOperationException("Token keys were not loaded: the host loads them from the store before serving requests.");

    public bool IsLoaded => _keys is not null;

    /// <summary>What OpenIddict sees of the ring: each key, its use and whether it signs; a reload that changes none of it changes nothing.</summary>
    public static string Fingerprint(IReadOnlyList<TokenKey> keys) =>
        string.Join(',', keys.Select(k => $"{k.Record.Use}:{k.Record.KeyId}:{(k.IsActive ? "active" : "retired")}"));

    /// <summary>
    /// The signing credentials of a key of the ring: one instance per key, given to OpenIddict's options and to the
    /// signing-key selector alike (<see cref="TokenSigningKeySelector"/>).
    /// </summary>
    public Microsoft.IdentityModel.Tokens.SigningCredentials SigningCredentialsOf(TokenKey key) =>
        _signing.TryGetValue(key.Record.KeyId, out var credentials) ? credentials
            : new Microsoft.IdentityModel.Tokens.SigningCredentials(key.SecurityKey, key.Record.Algorithm);

    public void Load(IReadOnlyList<TokenKey> keys)
    {
        var changed = _keys is not null && Fingerprint(_keys) != Fingerprint(keys);
        // Before the keys: a request reading the new keys finds their credentials.
        _signing = keys.Where(k => TokenKeyUses.IsSigning(k.Record.Use)).ToDictionary(
            k => k.Record.KeyId, k => new Microsoft.IdentityModel.Tokens.SigningCredentials(k.SecurityKey, k.Record.Algorithm), StringComparer.Ordinal);
        _keys = keys;
        if (changed)
        {
            var previous = Interlocked.Exchange(ref _changed, new CancellationTokenSource());
            previous.Cancel();
            previous.Dispose();
        }
    }

    public IChangeToken GetChangeToken() => new CancellationChangeToken(_changed.Token);
}

/// <summary>Rebuilds <typeparamref name="TOptions"/> (OpenIddict's server, validation, client options) when the ring changes.</summary>
public sealed class TokenKeyRingChangeTokenSource<TOptions>(TokenKeyRing ring) : IOptionsChangeTokenSource<TOptions>
{
    public string? Name => Options.DefaultName;

    public IChangeToken GetChangeToken() => ring.GetChangeToken();
}

/// <summary>
/// Reloads the token keys from the store every <c>Keys:RefreshInterval</c> (1 minute): a rotation's new keys are published
/// by every instance within that interval, and they sign once the old ones retire (<c>Keys:PublicationDelay</c> after the
/// rotation, far longer), so no instance meets a token under a key it does not know (docs/decisions.md #29). A failed
/// reload (the store unreachable) keeps the keys in hand and is retried at the next tick.
/// </summary>
public sealed partial class TokenKeyRingRefresher(
    TokenKeyRing ring, IServiceScopeFactory scopes, Microsoft.Extensions.Configuration.IConfiguration configuration, ILogger<TokenKeyRingRefresher> logger)
    : Microsoft.Extensions.Hosting.BackgroundService
{
    public static readonly TimeSpan DefaultRefreshInterval = TimeSpan.FromMinutes(1);

    private TimeSpan Interval => configuration.GetValue("Keys:RefreshInterval", DefaultRefreshInterval) is var interval && interval > TimeSpan.Zero
        ? interval : DefaultRefreshInterval;

    /// <summary>One reload; true when the ring changed.</summary>
    public async Task<bool> RefreshAsync(CancellationToken cancellationToken = default)
    {
        await using var scope = scopes.CreateAsyncScope();
        var keys = await scope.ServiceProvider.GetRequiredService<TokenKeyStore>().LoadAsync(cancellationToken);
        if (!keys.Any(k => k.Record.Use == TokenKeyUses.Signing && k.IsActive))
        {
            // Never drop the last signing key (a store restored without keys): keep serving with the ones in hand.
            NoActiveKey(logger);
            return false;
        }
        var before = ring.IsLoaded ? TokenKeyRing.Fingerprint(ring.Keys) : string.Empty;
        ring.Load(keys);
        var changed = before != TokenKeyRing.Fingerprint(keys);
        if (changed)
        {
            Reloaded(logger, string.Join(',', keys.Where(k => k.IsActive).Select(k => $"{k.Record.Use}:{k.Record.KeyId}")));
        }
        return changed;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await RefreshAsync(stoppingToken);
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                Failed(logger, exception.GetType().Name);
            }
        }
    }

    [LoggerMessage(EventId = 2320, EventName = "TokenKeysReloaded", Level = LogLevel.Information,
        Message = "Token keys reloaded from the store; active (oldest signs): {ActiveKeys}")]
    private static partial void Reloaded(ILogger logger, string activeKeys);

    [LoggerMessage(EventId = 2321, EventName = "TokenKeysReloadFailed", Level = LogLevel.Warning,
        Message = "Token keys could not be reloaded ({ExceptionType}); the keys in hand are kept")]
    private static partial void Failed(ILogger logger, string exceptionType);

    [LoggerMessage(EventId = 2322, EventName = "TokenKeysNoActiveKey", Level = LogLevel.Error,
        Message = "The store holds no active signing key; the keys in hand are kept (run 'cafconnect keys rotate')")]
    private static partial void NoActiveKey(ILogger logger);
}

/// <summary>
/// Gives OpenIddict the persisted keys: the active key first (it encrypts), retired ones after (they only validate).
/// Every signing key, RSA and EC, is published in the JWKS and accepted when validating; which one signs a token is
/// <see cref="TokenSigningKeySelector"/>'s choice, not the order of this list.
/// </summary>
public sealed class TokenKeyRingConfigurator(TokenKeyRing ring) : IConfigureOptions<OpenIddictServerOptions>
{
    public void Configure(OpenIddictServerOptions options)
    {
        foreach (var key in ring.Keys.Where(k => TokenKeyUses.IsSigning(k.Record.Use)))
        {
            options.SigningCredentials.Add(ring.SigningCredentialsOf(key));
        }
        foreach (var key in ring.Keys.Where(k => k.Record.Use == TokenKeyUses.Encryption))
        {
            options.EncryptionCredentials.Add(new Microsoft.IdentityModel.Tokens.EncryptingCredentials(
                (Microsoft.IdentityModel.Tokens.SymmetricSecurityKey)key.SecurityKey,
                Microsoft.IdentityModel.Tokens.SecurityAlgorithms.Aes256KW,
                Microsoft.IdentityModel.Tokens.SecurityAlgorithms.Aes256CbcHmacSha512));
        }
    }
}

/// <summary>
/// Picks the key that signs each token OpenIddict generates (docs/decisions.md #33), right after OpenIddict's own
/// <c>AttachSecurityCredentials</c> (which takes the first key of its list): ES256 for the tokens only the provider reads
/// (access tokens — also encrypted —, refresh tokens, authorization codes, any other token of OpenIddict's own), RS256 for
/// ID tokens unless the client registered <c>id_token_signed_response_alg</c> ES256. The rule itself is
/// <see cref="TokenSigning"/>'s, shared with the back-channel logout tokens.
/// </summary>
public sealed class TokenSigningKeySelector(TokenKeyRing ring, IOpenIddictApplicationManager applications, TimeProvider clock, TokenSigningSettings settings)
    : IOpenIddictServerHandler<OpenIddictServerEvents.GenerateTokenContext>
{
    public static OpenIddictServerHandlerDescriptor Descriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<OpenIddictServerEvents.GenerateTokenContext>()
        .UseScopedHandler<TokenSigningKeySelector>()
        // After OpenIddict chose its default credentials, before the token entry is created and the token written.
        .SetOrder(OpenIddictServerHandlers.Protection.AttachSecurityCredentials.Descriptor.Order + 500)
        .SetType(OpenIddictServerHandlerType.Custom)
        .Build();

    public async ValueTask HandleAsync(OpenIddictServerEvents.GenerateTokenContext context)
    {
        var algorithm = context.TokenType == OpenIddict.Abstractions.OpenIddictConstants.TokenTypeIdentifiers.IdentityToken
            ? TokenSigning.IdTokenAlgorithmOf(await RegisteredIdTokenAlgorithmAsync(context.ClientId, context.CancellationToken))
            : TokenSigning.Es256;
        context.SigningCredentials = ring.SigningCredentialsOf(TokenSigning.SignerFor(algorithm, ring.Keys, clock.GetUtcNow(), settings.PublicationDelay));
    }

    private async ValueTask<string?> RegisteredIdTokenAlgorithmAsync(string? clientId, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(clientId) || await applications.FindByClientIdAsync(clientId, cancellationToken) is not { } application)
        {
            return null;
        }
        var properties = await applications.GetPropertiesAsync(application, cancellationToken);
        return properties.TryGetValue(CafConnect.Infrastructure.Clients.ClientAdministration.IdTokenSignedResponseAlgProperty, out var value)
            && value.ValueKind == System.Text.Json.JsonValueKind.String ? value.GetString() : null;
    }
}
