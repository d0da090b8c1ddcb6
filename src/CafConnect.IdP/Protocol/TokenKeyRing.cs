using CafConnect.Infrastructure.Keys;
using Microsoft.Extensions.Options;
using OpenIddict.Server;

namespace CafConnect.IdP.Protocol;

/// <summary>
/// The token keys loaded from the store at start-up. OpenIddict's options are built once; keys rotated later by
/// <c>cafconnect keys rotate</c> are picked up at the next (rolling) restart, while the retired key stays published.
/// </summary>
public sealed class TokenKeyRing
{
    private IReadOnlyList<TokenKey>? _keys;

    public IReadOnlyList<TokenKey> Keys => _keys
        ?? throw new InvalidOperationException("Token keys were not loaded: the host loads them from the store before serving requests.");

    public bool IsLoaded => _keys is not null;

    public void Load(IReadOnlyList<TokenKey> keys) => _keys = keys;
}

/// <summary>Gives OpenIddict the persisted keys: the active key first (it signs/encrypts), retired ones after (they only validate).</summary>
public sealed class TokenKeyRingConfigurator(TokenKeyRing ring) : IConfigureOptions<OpenIddictServerOptions>
{
    public void Configure(OpenIddictServerOptions options)
    {
        foreach (var key in ring.Keys.Where(k => k.Record.Use == TokenKeyUses.Signing))
        {
            options.SigningCredentials.Add(new Microsoft.IdentityModel.Tokens.SigningCredentials(key.SecurityKey, key.Record.Algorithm));
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
