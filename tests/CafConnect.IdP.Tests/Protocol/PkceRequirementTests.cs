using System.Net;
using CafConnect.IdP.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using OpenIddict.Abstractions;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace CafConnect.IdP.Tests.Protocol;

/// <summary>
/// The server-level PKCE requirement (<c>RequireProofKeyForCodeExchange</c>) on its own: a client registered straight
/// through OpenIddict's application manager, without the per-client requirement <c>ClientAdministration</c> always
/// adds, still cannot get a code without a challenge (regressions issue, item 1).
/// </summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
public sealed class PkceRequirementTests(StoreKind kind) : StoreFixture(kind)
{
    private const string RedirectUri = "http://127.0.0.1:5200/callback";

    [TestCase(ClientTypes.Public, TestName = "A public client registered without the PKCE requirement is still refused without code_challenge")]
    [TestCase(ClientTypes.Confidential, TestName = "A confidential client registered without the PKCE requirement is still refused without code_challenge")]
    public async Task Server_requires_PKCE_even_when_the_client_registration_does_not(string clientType)
    {
        var clientId = "sans-exigence-pkce-" + clientType;
        using (var scope = Host.Services.CreateScope())
        {
            var applications = scope.ServiceProvider.GetRequiredService<IOpenIddictApplicationManager>();
            var descriptor = new OpenIddictApplicationDescriptor
            {
                ClientId = clientId,
                ClientType = clientType,
                ClientSecret = clientType == ClientTypes.Confidential ? "un-secret-suffisamment-long-0123456789" : null,
                ConsentType = ConsentTypes.Implicit,
                RedirectUris = { new Uri(RedirectUri) },
                Permissions =
                {
                    Permissions.Endpoints.Authorization, Permissions.Endpoints.Token,
                    Permissions.GrantTypes.AuthorizationCode, Permissions.ResponseTypes.Code,
                },
            };
            await applications.CreateAsync(descriptor);
            Assert.That(descriptor.Requirements, Is.Empty, "the client carries no PKCE requirement of its own");
        }

        var parameters = OidcDriver.AuthorizationParameters(new TestClient(clientId, null, RedirectUri, null), pkce: null, scope: "openid");
        var response = await NewBrowser().AuthorizeAsync(parameters);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Redirect), "the error goes back to the client");
        var answer = OidcDriver.ToAuthorizationResponse(response);
        Assert.That(answer.Location.GetLeftPart(UriPartial.Path), Is.EqualTo(RedirectUri), "refused, not sent to the login page");
        Assert.That(answer["error"], Is.EqualTo("invalid_request"));
        Assert.That(answer["code"], Is.Null);
    }
}
