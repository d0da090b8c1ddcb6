using CafConnect.Infrastructure.Clients;
using CafConnect.Infrastructure.Persistence;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection.Extensions;
using OpenIddict.Abstractions;
using OpenIddict.EntityFrameworkCore.Models;
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
        // The write that redeems a code clears its payload (BatchedTokenStore); a replay is answered from the row alone
        // (docs/decisions.md #37). The two go together: without this handler OpenIddict fails on a replayed code.
        options.AddEventHandler(RedeemedCodes.Descriptor);
        options.Services.TryAddScoped<TokenReuse>();
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
    /// <remarks>
    /// A client deleted by another process (another instance, the CLI) in the last seconds may still be served here from
    /// the shared client-row cache (docs/decisions.md #39): OpenIddict authenticated it from that row, and the write fails
    /// on the token row's reference to the deleted application row. The grant is then answered as OpenIddict answers an
    /// unknown client, <c>invalid_client</c> (401), and the cache forgets its rows so the next request is refused before any
    /// work. Any other failed write is still an error, never tokens.
    /// Still needed with Redis's change announcements (docs/decisions.md #45): they evict the row on every instance as the
    /// delete commits, but a message can be lost (Redis down, this instance's subscriber reconnecting, a CLI of an earlier
    /// version or without Redis configured), and a grant already past its client lookup when the message arrives writes
    /// after the delete.
    /// </remarks>
    public sealed class FlushBatch(TokenWriteBatch batch, TokenReuse reuse, ApplicationRowSnapshots clientRows, CafConnectDbContext db)
        : IOpenIddictServerHandler<ProcessSignInContext>
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
            TokenWriteOutcome outcome;
            try
            {
                outcome = await batch.FlushAsync(context.CancellationToken);
            }
            catch (DbUpdateException) when (context.EndpointType is OpenIddictServerEndpointType.Token)
            {
                // The batch was discarded: nothing of this grant is pending, the question below reads the store itself.
                if (!await ClientIsGoneAsync(context.Request?.ClientId, context.CancellationToken))
                {
                    throw;
                }
                clientRows.EvictAll();
                context.Reject(Errors.InvalidClient, OpenIddictResources.FormatID2052(Parameters.ClientId),
                    OpenIddictResources.FormatID8000(OpenIddictResources.ID2052));
                return;
            }
            if (outcome == TokenWriteOutcome.Stored)
            {
                return;
            }

            await reuse.RevokeAuthorizationAsync(context.Principal?.GetAuthorizationId(), TokenReuseKind.LostRace, context.Request?.GrantType, context.CancellationToken);
            if (context.Request?.IsAuthorizationCodeGrantType() == true)
            {
                context.Reject(Errors.InvalidGrant, TokenReuse.CodeAlreadyRedeemed, TokenReuse.CodeAlreadyRedeemedUri);
            }
            else
            {
                context.Reject(Errors.InvalidGrant, TokenReuse.RefreshTokenAlreadyRedeemed, TokenReuse.RefreshTokenAlreadyRedeemedUri);
            }
        }

        /// <summary>Whether the store no longer holds the client the request authenticated as (read past the row cache).</summary>
        private async Task<bool> ClientIsGoneAsync(string? clientId, CancellationToken cancellationToken) =>
            !string.IsNullOrEmpty(clientId)
            && !await db.Set<OpenIddictEntityFrameworkCoreApplication>().AsNoTracking().AnyAsync(a => a.ClientId == clientId, cancellationToken);
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
