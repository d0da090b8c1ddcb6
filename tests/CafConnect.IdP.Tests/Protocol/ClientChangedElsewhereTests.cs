using System.Net;
using System.Text.Json;
using CafConnect.IdP.Demo;
using CafConnect.IdP.Protocol;
using CafConnect.IdP.Tests.Support;
using CafConnect.Infrastructure.Clients;
using CafConnect.Infrastructure.Persistence;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using OpenIddict.Abstractions;
using OpenIddict.EntityFrameworkCore.Models;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace CafConnect.IdP.Tests.Protocol;

/// <summary>
/// A client's registration changed by another process (another instance, the CLI) while this instance holds its row in
/// the shared client-row cache (docs/decisions.md #39, #44): what decides where a browser is sent — the redirect URIs, the
/// post-logout redirect URIs, whether the client may use the authorization endpoint at all — is read from the store at
/// once, not after the cache's 5 seconds. A redirect URI is removed because it no longer belongs to the client; a code
/// sent there in those seconds is a code handed to whoever holds it now.
/// </summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
public sealed class ClientChangedElsewhereTests(StoreKind kind) : StoreFixture(kind)
{
    private const string NewRedirectUri = "http://127.0.0.1:5000/demo/callback-2";
    private const string NewPostLogoutRedirectUri = "http://127.0.0.1:5000/demo-2";

    /// <summary>
    /// Writes one column of the client's row straight to the store, as another process would: nothing in this process
    /// hears of it, so the shared cache keeps what it read.
    /// </summary>
    private async Task<string?> ChangeBehindTheCacheAsync(string clientId, Func<string?, string?> change, string column)
    {
        await using var scope = Host.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<CafConnectDbContext>();
        var applications = db.Set<OpenIddictEntityFrameworkCoreApplication>();
        var row = await applications.AsNoTracking().SingleAsync(a => a.ClientId == clientId);
        var before = column switch
        {
            nameof(OpenIddictEntityFrameworkCoreApplication.RedirectUris) => row.RedirectUris,
            nameof(OpenIddictEntityFrameworkCoreApplication.PostLogoutRedirectUris) => row.PostLogoutRedirectUris,
            nameof(OpenIddictEntityFrameworkCoreApplication.Permissions) => row.Permissions,
            _ => throw new ArgumentOutOfRangeException(nameof(column)),
        };
        var after = change(before);
        var rows = applications.Where(a => a.ClientId == clientId);
        switch (column)
        {
            case nameof(OpenIddictEntityFrameworkCoreApplication.RedirectUris):
                await rows.ExecuteUpdateAsync(set => set.SetProperty(a => a.RedirectUris, after));
                break;
            case nameof(OpenIddictEntityFrameworkCoreApplication.PostLogoutRedirectUris):
                await rows.ExecuteUpdateAsync(set => set.SetProperty(a => a.PostLogoutRedirectUris, after));
                break;
            default:
                await rows.ExecuteUpdateAsync(set => set.SetProperty(a => a.Permissions, after));
                break;
        }
        return before;
    }

    private async Task RestoreAsync(string clientId, string column, string? before)
    {
        await ChangeBehindTheCacheAsync(clientId, _ => before, column);
        Host.Services.GetRequiredService<ApplicationRowSnapshots>().EvictAll();
    }

    private static string? Json(params string[] values) => JsonSerializer.Serialize(values);

    private static string? WithoutEndpoints(string? permissions) =>
        JsonSerializer.Serialize(JsonSerializer.Deserialize<string[]>(permissions!)!.Where(p => !p.StartsWith("ept:", StringComparison.Ordinal)).ToArray());

    private static void AssertNoCodeSentTo(HttpResponseMessage response, string removedUri, string because)
    {
        var location = response.Headers.Location?.ToString();
        Assert.That(location is not null && location.StartsWith(removedUri, StringComparison.Ordinal), Is.False, because + ": sent to " + location);
        if (location is not null)
        {
            Assert.That(QueryHelpers.ParseQuery(response.Headers.Location!.Query).ContainsKey("code"), Is.False, because + ": " + location);
        }
    }

    [Test]
    public async Task A_redirect_uri_removed_by_another_instance_receives_no_code_at_once()
    {
        var driver = NewBrowser();
        // Signed in, and the client's row read by this instance a moment ago.
        var first = await driver.SignInAsync(OidcDriver.AuthorizationParameters(TestClient.CafFr, Pkce.Create()), DemoData.JeanneDupont.Nir!, DemoData.JeanneDupont.Password);
        Assert.That(first["code"], Is.Not.Null);

        var before = await ChangeBehindTheCacheAsync(TestClient.CafFr.ClientId, _ => Json(NewRedirectUri), nameof(OpenIddictEntityFrameworkCoreApplication.RedirectUris));
        try
        {
            var removed = await driver.AuthorizeAsync(OidcDriver.AuthorizationParameters(TestClient.CafFr, Pkce.Create()));
            AssertNoCodeSentTo(removed, TestClient.CafFr.RedirectUri, "the redirect URI was removed from the registration");
            Assert.That(removed.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), "an unregistered redirect URI gets the provider's error page");

            var added = await driver.AuthorizeAsync(OidcDriver.AuthorizationParameters(TestClient.CafFr with { RedirectUri = NewRedirectUri }, Pkce.Create()));
            Assert.That(added.StatusCode, Is.EqualTo(HttpStatusCode.Redirect), "the URI that replaced it works at once too");
            Assert.That(added.Headers.Location!.ToString(), Does.StartWith(NewRedirectUri + "?code="));
        }
        finally
        {
            await RestoreAsync(TestClient.CafFr.ClientId, nameof(OpenIddictEntityFrameworkCoreApplication.RedirectUris), before);
        }
    }

    [Test]
    public async Task A_client_disabled_by_another_instance_gets_no_code_at_once()
    {
        var driver = NewBrowser();
        var first = await driver.SignInAsync(OidcDriver.AuthorizationParameters(TestClient.CafFr, Pkce.Create()), DemoData.JeanneDupont.Nir!, DemoData.JeanneDupont.Password);
        Assert.That(first["code"], Is.Not.Null);

        // What ClientAdministration stores for a disabled client: no endpoint permission left.
        var before = await ChangeBehindTheCacheAsync(TestClient.CafFr.ClientId, WithoutEndpoints, nameof(OpenIddictEntityFrameworkCoreApplication.Permissions));
        try
        {
            var refused = await driver.AuthorizeAsync(OidcDriver.AuthorizationParameters(TestClient.CafFr, Pkce.Create()));
            AssertNoCodeSentTo(refused, "http://no-such-uri.invalid", "the client was disabled");
            if (refused.StatusCode == HttpStatusCode.Redirect)
            {
                Assert.That(QueryHelpers.ParseQuery(refused.Headers.Location!.Query)["error"].ToString(), Is.EqualTo("unauthorized_client"), refused.Headers.Location!.ToString());
            }
        }
        finally
        {
            await RestoreAsync(TestClient.CafFr.ClientId, nameof(OpenIddictEntityFrameworkCoreApplication.Permissions), before);
        }
    }

    [Test]
    public async Task A_post_logout_redirect_uri_removed_by_another_instance_is_not_followed_at_once()
    {
        var driver = NewBrowser();
        var tokens = await driver.SignInAndRedeemAsync(TestClient.CafFr, DemoData.LouiseDubois.Nir!, DemoData.LouiseDubois.Password);

        var before = await ChangeBehindTheCacheAsync(TestClient.CafFr.ClientId, _ => Json(NewPostLogoutRedirectUri), nameof(OpenIddictEntityFrameworkCoreApplication.PostLogoutRedirectUris));
        try
        {
            var logout = await driver.Browser.GetAsync(ProtocolEndpoints.EndSessionPath + OidcDriver.QueryString(new Dictionary<string, string?>
            {
                ["client_id"] = TestClient.CafFr.ClientId,
                ["id_token_hint"] = tokens.IdToken,
                ["post_logout_redirect_uri"] = TestClient.CafFr.PostLogoutRedirectUri,
                ["state"] = "retour-44",
            }));
            Assert.That(logout.Headers.Location?.ToString() ?? string.Empty, Does.Not.StartWith(TestClient.CafFr.PostLogoutRedirectUri + "?"),
                "the post-logout redirect URI was removed from the registration");
            Assert.That(logout.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        }
        finally
        {
            await RestoreAsync(TestClient.CafFr.ClientId, nameof(OpenIddictEntityFrameworkCoreApplication.PostLogoutRedirectUris), before);
        }
    }

    [Test]
    public async Task A_client_deleted_by_another_instance_gets_the_unknown_client_page_at_once()
    {
        var client = new TestClient("client-supprime-az-" + Guid.NewGuid().ToString("N")[..8], "un-secret-de-client-supprime-0123456789", "http://127.0.0.1:5300/callback", null);
        await using (var scope = Host.Services.CreateAsyncScope())
        {
            await scope.ServiceProvider.GetRequiredService<IOpenIddictApplicationManager>().CreateAsync(new OpenIddictApplicationDescriptor
            {
                ClientId = client.ClientId,
                ClientSecret = client.Secret,
                ClientType = ClientTypes.Confidential,
                ConsentType = ConsentTypes.Implicit,
                RedirectUris = { new Uri(client.RedirectUri) },
                Permissions =
                {
                    Permissions.Endpoints.Authorization, Permissions.Endpoints.Token, Permissions.ResponseTypes.Code,
                    Permissions.GrantTypes.AuthorizationCode,
                },
            });
        }
        var driver = NewBrowser();
        var first = await driver.SignInAsync(OidcDriver.AuthorizationParameters(client, Pkce.Create(), scope: "openid"), DemoData.JeanneDupont.Nir!, DemoData.JeanneDupont.Password);
        Assert.That(first["code"], Is.Not.Null);

        // Another process deletes the client (its tokens and authorizations, then the row); this process is not told.
        await using (var scope = Host.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<CafConnectDbContext>();
            var id = await db.Set<OpenIddictEntityFrameworkCoreApplication>().Where(a => a.ClientId == client.ClientId).Select(a => a.Id).SingleAsync();
            await db.Set<OpenIddictEntityFrameworkCoreToken>().Where(t => t.Application!.Id == id).ExecuteDeleteAsync();
            await db.Set<OpenIddictEntityFrameworkCoreAuthorization>().Where(a => a.Application!.Id == id).ExecuteDeleteAsync();
            await db.Set<OpenIddictEntityFrameworkCoreApplication>().Where(a => a.Id == id).ExecuteDeleteAsync();
        }

        var refused = await driver.AuthorizeAsync(OidcDriver.AuthorizationParameters(client, Pkce.Create(), scope: "openid"));
        Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), "an unknown client gets the provider's error page, not a 500");
        Assert.That(refused.Headers.Location, Is.Null, "never a redirect for a client that no longer exists");
    }
}
