using OpenIddict.Abstractions;

namespace CafConnect.IdP.Protocol;

/// <summary>How a reuse of a code or refresh token was found.</summary>
public enum TokenReuseKind
{
    /// <summary>Two requests redeemed it at the same moment; the second one's write found the row changed (decision 34).</summary>
    LostRace,

    /// <summary>
    /// A code presented after its redemption, whose row no longer holds its payload (decision 37): found by its reference
    /// id before OpenIddict would read the payload.
    /// </summary>
    ReplayedCode,
}

/// <summary>
/// What CafConnect does, itself, when a code or refresh token comes back after its one use: revoke every token of its
/// authorization and refuse with the answer OpenIddict gives for the same reuse, so that a client sees no difference
/// between the paths that found it. OpenIddict's own check (<c>ValidateTokenEntry</c>) does the same for a refresh token
/// presented again and for a code still holding its payload (redeemed before decision 37): one rule, whichever finds it —
/// RFC 6749 §4.1.2 for codes ("SHOULD revoke all tokens previously issued based on that authorization code"), RFC 9700
/// §4.14.2 for refresh tokens (one of the two holders was not the client, and which is unknowable).
/// </summary>
public sealed class TokenReuse(IOpenIddictTokenManager tokens, ILogger<TokenReuse> logger)
{
    /// <summary>Revokes the tokens of <paramref name="authorizationId"/> (the winner's too) and writes the warning of the reuse.</summary>
    public async ValueTask RevokeAuthorizationAsync(string? authorizationId, TokenReuseKind kind, string? grantType, CancellationToken cancellationToken)
    {
        long revoked = 0;
        if (!string.IsNullOrEmpty(authorizationId))
        {
            revoked = await tokens.RevokeByAuthorizationIdAsync(authorizationId, cancellationToken);
        }
        if (kind == TokenReuseKind.LostRace)
        {
            TokenReuseLog.LostRace(logger, grantType, authorizationId, revoked);
        }
        else
        {
            TokenReuseLog.ReplayedCode(logger, authorizationId, revoked);
        }
    }

    /// <summary>OpenIddict's description of a code presented after its redemption (ID2010), word for word.</summary>
    public static string CodeAlreadyRedeemed => OpenIddictResources.GetResourceString(OpenIddictResources.ID2010);

    /// <summary>OpenIddict's link for <see cref="CodeAlreadyRedeemed"/>.</summary>
    public static string CodeAlreadyRedeemedUri => OpenIddictResources.FormatID8000(OpenIddictResources.ID2010);

    /// <summary>OpenIddict's description of a refresh token presented after its redemption (ID2012), word for word.</summary>
    public static string RefreshTokenAlreadyRedeemed => OpenIddictResources.GetResourceString(OpenIddictResources.ID2012);

    /// <summary>OpenIddict's link for <see cref="RefreshTokenAlreadyRedeemed"/>.</summary>
    public static string RefreshTokenAlreadyRedeemedUri => OpenIddictResources.FormatID8000(OpenIddictResources.ID2012);

    /// <summary>OpenIddict's description of a code expired or revoked (ID2016), word for word.</summary>
    public static string CodeNoLongerValid => OpenIddictResources.GetResourceString(OpenIddictResources.ID2016);

    /// <summary>OpenIddict's link for <see cref="CodeNoLongerValid"/>.</summary>
    public static string CodeNoLongerValidUri => OpenIddictResources.FormatID8000(OpenIddictResources.ID2016);
}

internal static partial class TokenReuseLog
{
    // Event 3401 kept from decision 34 (operators may alert on it).
    [LoggerMessage(EventId = 3401, Level = LogLevel.Warning,
        Message = "A {GrantType} was redeemed twice at the same moment: the second request was refused and the {Revoked} tokens of authorization {AuthorizationId} were revoked.")]
    public static partial void LostRace(ILogger logger, string? grantType, string? authorizationId, long revoked);

    [LoggerMessage(EventId = 3402, Level = LogLevel.Warning,
        Message = "A redeemed authorization code was presented again: it was refused and the {Revoked} tokens of authorization {AuthorizationId} were revoked.")]
    public static partial void ReplayedCode(ILogger logger, string? authorizationId, long revoked);
}
