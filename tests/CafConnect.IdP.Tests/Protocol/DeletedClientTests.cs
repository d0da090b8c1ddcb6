using System.Net;
using System.Text.Json;
using CafConnect.IdP.Demo;
using CafConnect.IdP.Tests.Admin;
using CafConnect.IdP.Tests.Support;
using CafConnect.Infrastructure.Audit;
using CafConnect.Infrastructure.Persistence;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using OpenIddict.Abstractions;
using OpenIddict.EntityFrameworkCore.Models;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace CafConnect.IdP.Tests.Protocol;

/// <summary>
/// A client deleted by another process (another instance, the CLI) while this instance still serves its row from the
/// 5-second client-row cache (docs/decisions.md #39): OpenIddict authenticates the client from the cached row, and the
/// grant's token row, which references the deleted application row, cannot be stored. The answer is the one a deleted
/// client gets — <c>invalid_client</c> (RFC 6749 §5.2), 401 — never a 500, and no token.
/// </summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
public sealed class DeletedClientTests(StoreKind kind) : StoreFixture(kind)
{
    private const string Secret = "un-secret-de-client-supprime-0123456789";

    [Test]
    public async Task A_client_deleted_elsewhere_while_its_row_is_cached_here_gets_invalid_client_and_no_token()
    {
        var clientId = "client-supprime-" + Guid.NewGuid().ToString("N")[..8];
        await RegisterAsync(clientId);
        var admin = new AdminClient(Host.CreateBrowser());
        var first = await admin.RequestTokenAsync(clientId, Secret, scope: null);
        Assert.That(first.StatusCode, Is.EqualTo(HttpStatusCode.OK), await first.Content.ReadAsStringAsync());

        // Another process deletes the client (as OpenIddict's manager does: its tokens and authorizations, then the row),
        // which this process's cache does not hear of.
        await DeleteBehindTheCacheAsync(clientId);
        var (tokensBefore, linesBefore) = await CountAsync(clientId);
        var refused = await admin.RequestTokenAsync(clientId, Secret, scope: null);
        var refusedAgain = await admin.RequestTokenAsync(clientId, Secret, scope: null);

        var body = await refused.Content.ReadAsStringAsync();
        Assert.Multiple(async () =>
        {
            Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized), body);
            Assert.That(JsonDocument.Parse(body).RootElement.GetProperty("error").GetString(), Is.EqualTo(Errors.InvalidClient), body);
            Assert.That(body, Does.Not.Contain("access_token"));
            Assert.That(refusedAgain.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized), "the next request too");
            Assert.That(await CountAsync(clientId), Is.EqualTo((tokensBefore, linesBefore)), "no token row, no token.issued line");
        });
    }

    [Test]
    public async Task A_refresh_token_of_a_client_deleted_elsewhere_while_its_row_is_cached_here_gets_invalid_grant_and_no_token()
    {
        var client = new TestClient("client-supprime-rt-" + Guid.NewGuid().ToString("N")[..8], Secret, RedirectUri, null);
        await RegisterAsync(client.ClientId, new OpenIddictApplicationDescriptor
        {
            RedirectUris = { new Uri(RedirectUri) },
            ConsentType = ConsentTypes.Implicit,
            Permissions =
            {
                Permissions.Endpoints.Authorization, Permissions.Endpoints.Token, Permissions.ResponseTypes.Code,
                Permissions.GrantTypes.AuthorizationCode, Permissions.GrantTypes.RefreshToken,
                Permissions.Prefixes.Scope + Scopes.OfflineAccess,
            },
        });
        var driver = NewBrowser();
        var issued = await driver.SignInAndRedeemAsync(client, JeanneNir, DemoData.JeanneDupont.Password, scope: "openid offline_access");
        Assert.That(issued.RefreshToken, Is.Not.Null);

        await DeleteBehindTheCacheAsync(client.ClientId);
        var (tokensBefore, linesBefore) = await CountAsync(client.ClientId);
        var refused = await driver.RefreshAsync(client, issued.RefreshToken!);

        var body = await refused.Content.ReadAsStringAsync();
        Assert.Multiple(async () =>
        {
            // OpenIddict's deletion removes the client's tokens first: the refresh token is no longer found.
            Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), body);
            Assert.That(JsonDocument.Parse(body).RootElement.GetProperty("error").GetString(), Is.EqualTo(Errors.InvalidGrant), body);
            Assert.That(await CountAsync(client.ClientId), Is.EqualTo((tokensBefore, linesBefore)), "no token row, no token.issued line");
        });
    }

    private const string JeanneNir = "2850375112048";
    private const string RedirectUri = "http://127.0.0.1:5300/callback";

    private async Task RegisterAsync(string clientId, OpenIddictApplicationDescriptor? descriptor = null)
    {
        descriptor ??= new OpenIddictApplicationDescriptor { Permissions = { Permissions.Endpoints.Token, Permissions.GrantTypes.ClientCredentials } };
        descriptor.ClientId = clientId;
        descriptor.ClientSecret = Secret;
        descriptor.ClientType = ClientTypes.Confidential;
        using var scope = Host.Services.CreateScope();
        await scope.ServiceProvider.GetRequiredService<IOpenIddictApplicationManager>().CreateAsync(descriptor);
    }

    private async Task DeleteBehindTheCacheAsync(string clientId)
    {
        using var scope = Host.Services.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<CafConnectDbContext>();
        var id = await db.Set<OpenIddictEntityFrameworkCoreApplication>().Where(a => a.ClientId == clientId).Select(a => a.Id).SingleAsync();
        await db.Set<OpenIddictEntityFrameworkCoreToken>().Where(t => t.Application!.Id == id).ExecuteDeleteAsync();
        await db.Set<OpenIddictEntityFrameworkCoreAuthorization>().Where(a => a.Application!.Id == id).ExecuteDeleteAsync();
        await db.Set<OpenIddictEntityFrameworkCoreApplication>().Where(a => a.Id == id).ExecuteDeleteAsync();
    }

    private async Task<(int Tokens, int Lines)> CountAsync(string clientId)
    {
        using var scope = Host.Services.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<CafConnectDbContext>();
        var tokens = await db.Set<OpenIddictEntityFrameworkCoreToken>().AsNoTracking().CountAsync();
        var lines = await db.AuditEvents.AsNoTracking().CountAsync(e => e.Type == AuditEventTypes.TokenIssued && e.ClientId == clientId);
        return (tokens, lines);
    }
}
