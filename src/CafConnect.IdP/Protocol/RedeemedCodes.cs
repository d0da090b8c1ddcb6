using OpenIddict.Abstractions;
using OpenIddict.Server;
using static OpenIddict.Abstractions.OpenIddictConstants;
using static OpenIddict.Server.OpenIddictServerEvents;

namespace CafConnect.IdP.Protocol;

/// <summary>
/// A redeemed authorization code's row keeps no payload (docs/decisions.md #37; cleared by <c>BatchedTokenStore</c> in
/// the write that redeems it). OpenIddict reads a reference token's payload as soon as it finds the row
/// (<c>ValidateReferenceTokenIdentifier</c>, which throws when it is empty) and only then, from the decrypted code, checks
/// its expiry and its entry (<c>ValidateTokenEntry</c>: a redeemed code revokes its authorization's tokens). For a row
/// without payload this handler, just before OpenIddict's, gives the answer OpenIddict would have given, from what the
/// row still holds — status, type, expiry, authorization:
/// <list type="bullet">
/// <item>redeemed and not expired: a replay. The tokens of its authorization are revoked (<see cref="TokenReuse"/>, the
/// rule of every reuse) and the request is refused as OpenIddict refuses a replayed code (ID2010, <c>invalid_grant</c> at
/// the token endpoint);</item>
/// <item>expired, or revoked (a replay already revoked it, a logout, an incident): refused as "no longer valid" (ID2016),
/// nothing revoked — as OpenIddict, which checks the expiry before the entry.</item>
/// </list>
/// A row that still holds its payload (a code not yet redeemed, or redeemed before the change) is left to OpenIddict.
/// </summary>
public sealed class RedeemedCodes(IOpenIddictTokenManager tokens, TokenReuse reuse) : IOpenIddictServerHandler<ValidateTokenContext>
{
    public static OpenIddictServerHandlerDescriptor Descriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<ValidateTokenContext>()
        .AddFilter<OpenIddictServerHandlerFilters.RequireDegradedModeDisabled>()
        .AddFilter<OpenIddictServerHandlerFilters.RequireTokenStorageEnabled>()
        .UseScopedHandler<RedeemedCodes>()
        .SetOrder(OpenIddictServerHandlers.Protection.ValidateReferenceTokenIdentifier.Descriptor.Order - 500)
        .SetType(OpenIddictServerHandlerType.Custom)
        .Build();

    public async ValueTask HandleAsync(ValidateTokenContext context)
    {
        // Codes are presented at the token endpoint (a code alone) and at introspection and revocation (any type).
        if (context.ValidTokenTypes.Count > 0 && !context.ValidTokenTypes.Contains(TokenTypeIdentifiers.Private.AuthorizationCode))
        {
            return;
        }
        if (string.IsNullOrEmpty(context.Token) || context.SecurityTokenHandler.CanReadToken(context.Token))
        {
            return; // a JWT, not a reference id
        }
        // OpenIddict's own lookup, which its handler repeats right after from the request's entity cache.
        var token = await tokens.FindByReferenceIdAsync(context.Token, context.CancellationToken);
        if (token is null
            || !await tokens.HasTypeAsync(token, TokenTypeIdentifiers.Private.AuthorizationCode, context.CancellationToken)
            || !string.IsNullOrEmpty(await tokens.GetPayloadAsync(token, context.CancellationToken)))
        {
            return;
        }

        var expired = !context.DisableLifetimeValidation
            && await tokens.GetExpirationDateAsync(token, context.CancellationToken) is { } expiresAt
            && expiresAt + context.TokenValidationParameters.ClockSkew < context.Options.TimeProvider.GetUtcNow();
        if (!expired && await tokens.HasStatusAsync(token, Statuses.Redeemed, context.CancellationToken))
        {
            await reuse.RevokeAuthorizationAsync(await tokens.GetAuthorizationIdAsync(token, context.CancellationToken),
                TokenReuseKind.ReplayedCode, context.Request?.GrantType, context.CancellationToken);
            context.Reject(Errors.InvalidToken, TokenReuse.CodeAlreadyRedeemed, TokenReuse.CodeAlreadyRedeemedUri);
            return;
        }
        context.Reject(Errors.InvalidToken, TokenReuse.CodeNoLongerValid, TokenReuse.CodeNoLongerValidUri);
    }
}
