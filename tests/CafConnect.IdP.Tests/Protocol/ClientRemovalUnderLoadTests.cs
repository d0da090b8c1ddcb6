using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using CafConnect.Application.Clients;
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
/// <c>cafconnect clients remove</c> while the client is still requesting tokens (docs/decisions.md #51). OpenIddict's
/// deletion listed the client's tokens, deleted them, then the client's row: a token inserted in between held the row,
/// and on PostgreSQL the removal failed with 23503. Now the removal succeeds whatever the client is doing, the client's
/// grants that meet it are refused as a deleted client's (<c>invalid_client</c>, decision 42), never a 500, and another
/// client's grants — written in the same group commit on PostgreSQL (decision 48) — are unaffected.
/// </summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
public sealed class ClientRemovalUnderLoadTests(StoreKind kind) : StoreFixture(kind)
{
    private const string Secret = "un-secret-de-client-retire-sous-charge-0123";

    [Test]
    public async Task Removing_a_client_while_its_client_credentials_grants_run_succeeds_refuses_them_cleanly_and_leaves_the_other_client_alone()
    {
        // Several rounds: each removal must meet grants in flight (the window is a few milliseconds); one failure is enough.
        const int rounds = 4;
        var other = "client-voisin-" + Guid.NewGuid().ToString("N")[..8];
        await RegisterAsync(other);
        for (var round = 1; round <= rounds; round++)
        {
            var removed = $"client-retire-{round}-" + Guid.NewGuid().ToString("N")[..8];
            await RegisterAsync(removed);
            var answers = new ConcurrentBag<(string Client, HttpStatusCode Status, string Body)>();
            using var stop = new CancellationTokenSource();
            var removedGrants = 0;
            async Task GrantsAsync(string clientId)
            {
                var http = new AdminClient(Host.CreateClient());
                while (!stop.IsCancellationRequested)
                {
                    var response = await http.RequestTokenAsync(clientId, Secret, scope: null);
                    answers.Add((clientId, response.StatusCode, await response.Content.ReadAsStringAsync()));
                    if (clientId == removed)
                    {
                        Interlocked.Increment(ref removedGrants);
                    }
                }
            }
            var workers = Enumerable.Range(0, 6).Select(i => Task.Run(() => GrantsAsync(i % 3 == 2 ? other : removed))).ToList();
            // Let the removed client gather tokens (the deletion lists them all) and be mid-grant when it is removed.
            while (Volatile.Read(ref removedGrants) < 60)
            {
                await Task.Delay(10);
            }

            Exception? failure = null;
            try
            {
                await RemoveAsTheCliDoesAsync(removed);
            }
            catch (Exception exception)
            {
                failure = exception;
            }
            await Task.Delay(300);
            await stop.CancelAsync();
            await Task.WhenAll(workers);

            Assert.That(failure, Is.Null, $"round {round}: the removal failed: {failure}");
            var unexpected = answers.Where(a => !(a.Status == HttpStatusCode.OK
                || (a.Client == removed && a.Status == HttpStatusCode.Unauthorized && ErrorOf(a.Body) == Errors.InvalidClient))).ToList();
            Assert.Multiple(async () =>
            {
                Assert.That(unexpected.Select(a => $"{a.Client}: {(int)a.Status} {a.Body[..Math.Min(200, a.Body.Length)]}"), Is.Empty,
                    $"round {round}: only tokens, or invalid_client for the removed client");
                Assert.That(answers.Where(a => a.Client == other).Select(a => a.Status), Is.Not.Empty.And.All.EqualTo(HttpStatusCode.OK),
                    "the other client's grants are unaffected");
                Assert.That(answers.Count(a => a.Client == removed && a.Status == HttpStatusCode.Unauthorized), Is.Positive,
                    "the removed client is refused once removed");
                Assert.That(await StoredAsync(removed), Is.EqualTo((false, 0)), "no row of the removed client is left");
            });
        }
    }

    [Test]
    public async Task Removing_a_client_while_its_refresh_grants_run_succeeds_and_they_are_refused_as_a_removed_clients_never_with_a_500()
    {
        var client = new TestClient("client-retire-rt-" + Guid.NewGuid().ToString("N")[..8], Secret, "http://127.0.0.1:5301/callback", null);
        using (var scope = Host.Services.CreateScope())
        {
            await scope.ServiceProvider.GetRequiredService<IOpenIddictApplicationManager>().CreateAsync(new OpenIddictApplicationDescriptor
            {
                ClientId = client.ClientId,
                ClientSecret = Secret,
                ClientType = ClientTypes.Confidential,
                ConsentType = ConsentTypes.Implicit,
                RedirectUris = { new Uri(client.RedirectUri) },
                Permissions =
                {
                    Permissions.Endpoints.Authorization, Permissions.Endpoints.Token, Permissions.ResponseTypes.Code,
                    Permissions.GrantTypes.AuthorizationCode, Permissions.GrantTypes.RefreshToken, Permissions.Prefixes.Scope + Scopes.OfflineAccess,
                },
            });
        }
        // Three sessions, each refreshing its own chain (refresh tokens rotate) until the client is removed.
        var chains = new List<(OidcDriver Driver, string RefreshToken)>();
        for (var i = 0; i < 3; i++)
        {
            var driver = NewBrowser();
            var issued = await driver.SignInAndRedeemAsync(client, "2850375112048", CafConnect.IdP.Demo.DemoData.JeanneDupont.Password, scope: "openid offline_access");
            chains.Add((driver, issued.RefreshToken!));
        }
        var answers = new ConcurrentBag<(HttpStatusCode Status, string Body)>();
        var refreshes = 0;
        using var stop = new CancellationTokenSource();
        async Task RefreshLoopAsync(OidcDriver driver, string refreshToken)
        {
            while (!stop.IsCancellationRequested)
            {
                var response = await driver.RefreshAsync(client, refreshToken);
                var body = await response.Content.ReadAsStringAsync();
                answers.Add((response.StatusCode, body));
                Interlocked.Increment(ref refreshes);
                if (response.StatusCode != HttpStatusCode.OK)
                {
                    return;
                }
                refreshToken = JsonDocument.Parse(body).RootElement.GetProperty("refresh_token").GetString()!;
            }
        }
        var workers = chains.Select(c => Task.Run(() => RefreshLoopAsync(c.Driver, c.RefreshToken))).ToList();
        while (Volatile.Read(ref refreshes) < 30)
        {
            await Task.Delay(10);
        }
        await RemoveAsTheCliDoesAsync(client.ClientId);
        await Task.WhenAll(workers.Select(w => w.WaitAsync(TimeSpan.FromSeconds(30))));
        await stop.CancelAsync();

        var unexpected = answers.Where(a => !(a.Status == HttpStatusCode.OK
            || (a.Status == HttpStatusCode.BadRequest && ErrorOf(a.Body) == Errors.InvalidGrant)
            || (a.Status == HttpStatusCode.Unauthorized && ErrorOf(a.Body) == Errors.InvalidClient))).ToList();
        Assert.Multiple(async () =>
        {
            Assert.That(unexpected.Select(a => $"{(int)a.Status} {a.Body[..Math.Min(200, a.Body.Length)]}"), Is.Empty, "tokens, invalid_grant or invalid_client only");
            Assert.That(answers.Count(a => a.Status != HttpStatusCode.OK), Is.EqualTo(3), "each chain ends, refused");
            Assert.That(await StoredAsync(client.ClientId), Is.EqualTo((false, 0)));
        });
    }

    private static string? ErrorOf(string body)
    {
        try
        {
            return JsonDocument.Parse(body).RootElement.GetProperty("error").GetString();
        }
        catch (Exception exception) when (exception is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return null;
        }
    }

    private async Task RegisterAsync(string clientId)
    {
        using var scope = Host.Services.CreateScope();
        await scope.ServiceProvider.GetRequiredService<IOpenIddictApplicationManager>().CreateAsync(new OpenIddictApplicationDescriptor
        {
            ClientId = clientId,
            ClientSecret = Secret,
            ClientType = ClientTypes.Confidential,
            Permissions = { Permissions.Endpoints.Token, Permissions.GrantTypes.ClientCredentials },
        });
    }

    /// <summary>As <c>cafconnect clients remove</c>: the change and its audit line in one transaction (CliSession.AuditedAsync).</summary>
    private async Task RemoveAsTheCliDoesAsync(string clientId)
    {
        using var scope = Host.Services.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<CafConnectDbContext>();
        var registrations = scope.ServiceProvider.GetRequiredService<ClientRegistrations>();
        var audit = scope.ServiceProvider.GetRequiredService<AuditTrail>();
        await db.InTransactionAsync(async ct =>
        {
            var change = await registrations.RemoveAsync(clientId, ct);
            Assert.That(change.Status, Is.EqualTo(ClientChangeStatus.Applied));
            audit.Append(change.Audit!);
            return true;
        }, CancellationToken.None);
    }

    private async Task<(bool Application, int Tokens)> StoredAsync(string clientId)
    {
        using var scope = Host.Services.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<CafConnectDbContext>();
        var application = await db.Set<OpenIddictEntityFrameworkCoreApplication>().AsNoTracking().AnyAsync(a => a.ClientId == clientId);
        var tokens = await db.Set<OpenIddictEntityFrameworkCoreToken>().AsNoTracking().CountAsync(t => t.Application!.ClientId == clientId);
        return (application, tokens);
    }
}
