using CafConnect.Infrastructure.Clients;
using OpenIddict.Server;
using static OpenIddict.Server.OpenIddictServerEvents;

namespace CafConnect.IdP.Protocol;

/// <summary>
/// The authorization and end-session endpoints judge the client by its row as the store holds it now, not by the row
/// shared for 5 seconds across requests (docs/decisions.md #39, #44): their answer sends the browser to a URI the
/// registration names, and a URI removed from it — by the admin API or the CLI on another instance — must not receive a
/// code or a logout redirect in those seconds. A disabled client is refused there at once too. The token, introspection
/// and revocation endpoints keep the shared rows (their hot path; what staleness allows there is in decision 44).
/// </summary>
public sealed class ClientRowsFromStore(ApplicationRowReads reads) : IOpenIddictServerHandler<ProcessRequestContext>
{
    public static OpenIddictServerHandlerDescriptor Descriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<ProcessRequestContext>()
        .UseScopedHandler<ClientRowsFromStore>()
        // Right after OpenIddict knows the endpoint, before any handler looks the client up.
        .SetOrder(OpenIddictServerHandlers.InferEndpointType.Descriptor.Order + 100)
        .SetType(OpenIddictServerHandlerType.Custom)
        .Build();

    public ValueTask HandleAsync(ProcessRequestContext context)
    {
        if (context.EndpointType is OpenIddictServerEndpointType.Authorization or OpenIddictServerEndpointType.EndSession)
        {
            reads.RequireStore();
        }
        return ValueTask.CompletedTask;
    }
}
