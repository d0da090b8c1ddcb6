using CafConnect.Infrastructure.Clients;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace CafConnect.Infrastructure.Tests.Clients;

/// <summary>
/// PKCE is required twice — by the server for every request, and by each client's registration — so that either alone
/// still holds when the other is lost (regressions issue, item 1). This is the per-client half; the server half is
/// tested in the IdP tests (Protocol/PkceRequirementTests).
/// </summary>
public sealed class ClientDescriptorTests
{
    [TestCase(ClientKind.Confidential)]
    [TestCase(ClientKind.Public)]
    [TestCase(ClientKind.Service)]
    public void Every_kind_of_client_is_registered_with_the_PKCE_requirement(ClientKind kind)
    {
        var registration = new ClientRegistration
        {
            ClientId = "client-" + kind.ToString().ToLowerInvariant(),
            DisplayName = kind.ToString(),
            Kind = kind,
            ClientSecret = kind == ClientKind.Public ? null : "un-secret-suffisamment-long-0123456789",
            RedirectUris = kind == ClientKind.Service ? [] : ["https://www.caf.fr/callback"],
            Scopes = kind == ClientKind.Service ? [CafScopes.Admin] : ["profile"],
        };

        var descriptor = ClientAdministration.ToDescriptor(registration);

        Assert.That(descriptor.Requirements, Does.Contain(Requirements.Features.ProofKeyForCodeExchange));
    }
}
