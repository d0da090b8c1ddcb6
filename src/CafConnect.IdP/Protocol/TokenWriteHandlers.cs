using CafConnect.Infrastructure.Persistence;
using OpenIddict.Abstractions;
using OpenIddict.Server;
using static OpenIddict.Abstractions.OpenIddictConstants;
using static OpenIddict.Server.OpenIddictServerEvents;

namespace CafConnect.IdP.Protocol;

/// <summary>
/// One write per grant (docs/decisions.md #34): the batch of <see cref="TokenWriteBatch"/> opens when OpenIddict starts
/// signing in at the token or authorization endpoint, before it redeems the presented code or refresh token, and is
/// flushed after the last token is generated, before the answer is written. A grant whose write fails is answered with an error and never
/// with tokens.
/// </summary>
public static class TokenWriteHandlers
{
    public static OpenIddictServerBuilder AddCafConnectTokenWriteBatch(this OpenIddictServerBuilder options)
    {
        options.AddEventHandler(OpenBatch.Descriptor);
        options.AddEventHandler(FlushBatch.Descriptor);
        options.AddEventHandler(DiscardOnError.Descriptor);
        return options;
    }

    /// <summary>Before OpenIddict redeems the code or refresh token: from here its token writes wait for the flush.</summary>
    public sealed class OpenBatch(TokenWriteBatch batch) : IOpenIddictServerHandler<ProcessSignInContext>
    {
        public static OpenIddictServerHandlerDescriptor Descriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<ProcessSignInContext>()
            .UseScopedHandler<OpenBatch>()
            .SetOrder(OpenIddictServerHandlers.RedeemTokenEntry.Descriptor.Order - 500)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

        public ValueTask HandleAsync(ProcessSignInContext context)
        {
            // The token endpoint (the redeemed token and the new ones) and the authorization endpoint (the code: its row and
            // then its payload, one insert in a batch).
            if (context.EndpointType is OpenIddictServerEndpointType.Token or OpenIddictServerEndpointType.Authorization)
            {
                batch.Open();
            }
            return default;
        }
    }

    /// <summary>
    /// After every token of the answer is generated, before the answer is written: the redeemed token, the new tokens and
    /// the audit line in one save. A code or refresh token that another request redeemed meanwhile (both read it unused)
    /// is a reuse: nothing of this request is stored, and, as for any reuse, the tokens of its authorization are revoked
    /// (OpenIddict's own rule for a token presented after its redemption; RFC 6749 §4.1.2 for codes).
    /// </summary>
    public sealed class FlushBatch(TokenWriteBatch batch, IOpenIddictTokenManager tokens, ILogger<FlushBatch> logger) : IOpenIddictServerHandler<ProcessSignInContext>
    {
        public static OpenIddictServerHandlerDescriptor Descriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<ProcessSignInContext>()
            .UseScopedHandler<FlushBatch>()
            .SetOrder(OpenIddictServerHandlers.Exchange.ApplyTokenResponse<ProcessSignInContext>.Descriptor.Order - 1_000)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

        public async ValueTask HandleAsync(ProcessSignInContext context)
        {
            if (!batch.IsOpen)
            {
                return;
            }
            if (await batch.FlushAsync(context.CancellationToken) == TokenWriteOutcome.Stored)
            {
                return;
            }

            var authorizationId = context.Principal?.GetAuthorizationId();
            if (!string.IsNullOrEmpty(authorizationId))
            {
                var revoked = await tokens.RevokeByAuthorizationIdAsync(authorizationId, context.CancellationToken);
                TokenWriteLog.ReuseRevoked(logger, context.Request?.GrantType, authorizationId, revoked);
            }
            context.Reject(Errors.InvalidGrant, context.Request?.IsAuthorizationCodeGrantType() == true
                ? "The specified authorization code has already been redeemed."
                : "The specified refresh token has already been redeemed.");
        }
    }

    /// <summary>A sign-in refused after the batch opened stores nothing of it (no token row, no audit line of tokens not handed out).</summary>
    public sealed class DiscardOnError(TokenWriteBatch batch) : IOpenIddictServerHandler<ProcessErrorContext>
    {
        public static OpenIddictServerHandlerDescriptor Descriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<ProcessErrorContext>()
            .UseScopedHandler<DiscardOnError>()
            .SetOrder(int.MinValue + 50_000)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

        public ValueTask HandleAsync(ProcessErrorContext context)
        {
            if (batch.IsOpen)
            {
                batch.Discard();
            }
            return default;
        }
    }
}

internal static partial class TokenWriteLog
{
    [LoggerMessage(EventId = 3401, Level = LogLevel.Warning,
        Message = "A {GrantType} was redeemed twice at the same moment: the second request was refused and the {Revoked} tokens of authorization {AuthorizationId} were revoked.")]
    public static partial void ReuseRevoked(ILogger logger, string? grantType, string authorizationId, long revoked);
}
