using OpenIddict.Abstractions;
using OpenIddict.Server;
using static OpenIddict.Abstractions.OpenIddictConstants;
using static OpenIddict.Server.OpenIddictServerEvents;

namespace CafConnect.IdP.Protocol;

public static partial class ProtocolHandlers
{
    /// <summary>
    /// A code presented with a wrong <c>code_verifier</c> is spent (adversarial review, 6 December 2026, seventh session).
    /// OpenIddict's check (<c>ValidateCodeVerifier</c>, which this handler replaces and runs unchanged) refuses it with
    /// <c>invalid_grant</c> (ID2052) and leaves the code valid: whoever stole a code could try verifiers for its 60 seconds,
    /// and the client's own redemption afterwards still succeeded. Here, when that check refuses a verifier the code was
    /// not issued for, the code's row is revoked: every later presentation — the attacker's next guess, the client's own —
    /// is "no longer valid" (ID2016, <c>invalid_grant</c>). A code is used once, a failed use included. Nothing else is
    /// revoked: no token was issued from the code (RFC 6749 §4.1.2's revocation is for a code redeemed twice,
    /// <see cref="RedeemedCodes"/>). A missing verifier is refused before the code is read (OpenIddict's PKCE requirement)
    /// and spends nothing.
    /// </summary>
    public sealed class CodeSpentByAWrongVerifier(IOpenIddictTokenManager tokens, ILogger<CodeSpentByAWrongVerifier> logger)
        : IOpenIddictServerHandler<ValidateTokenRequestContext>
    {
        private static readonly OpenIddictServerHandlers.Exchange.ValidateCodeVerifier OpenIddictCheck = new();

        public static OpenIddictServerHandlerDescriptor Descriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<ValidateTokenRequestContext>()
            .UseScopedHandler<CodeSpentByAWrongVerifier>()
            .SetOrder(OpenIddictServerHandlers.Exchange.ValidateCodeVerifier.Descriptor.Order)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

        public async ValueTask HandleAsync(ValidateTokenRequestContext context)
        {
            await OpenIddictCheck.HandleAsync(context);
            if (!context.IsRejected || context.Error != Errors.InvalidGrant || !context.Request.IsAuthorizationCodeGrantType()
                || context.AuthorizationCodePrincipal?.GetTokenId() is not { Length: > 0 } codeId)
            {
                return;
            }
            if (await tokens.FindByIdAsync(codeId, context.CancellationToken) is not { } code)
            {
                return;
            }
            // A concurrent redemption with the right verifier may have redeemed it meanwhile: TryRevokeAsync then fails, and
            // that redemption stands.
            var revoked = await tokens.TryRevokeAsync(code, context.CancellationToken);
            CodeSpentLog.WrongVerifier(logger, context.ClientId, await tokens.GetAuthorizationIdAsync(code, context.CancellationToken), revoked);
        }
    }
}

internal static partial class CodeSpentLog
{
    [LoggerMessage(EventId = 3403, Level = LogLevel.Warning,
        Message = "An authorization code of client {ClientId} (authorization {AuthorizationId}) was presented with a wrong code_verifier: refused, and the code revoked: {Revoked}.")]
    public static partial void WrongVerifier(ILogger logger, string? clientId, string? authorizationId, bool revoked);
}
