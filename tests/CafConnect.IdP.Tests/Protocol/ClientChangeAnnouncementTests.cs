extern alias cli;

using System.Net;
using System.Text.Json;
using CafConnect.Application.Clients;
using CafConnect.IdP.Tests.Admin;
using CafConnect.IdP.Tests.Security;
using CafConnect.IdP.Tests.Support;
using CafConnect.Infrastructure.Clients;
using CafConnect.Infrastructure.Persistence;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using OpenIddict.EntityFrameworkCore.Models;
using StackExchange.Redis;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace CafConnect.IdP.Tests.Protocol;

/// <summary>
/// A client changed through one instance (or the CLI) while another instance holds its row in the shared client-row
/// cache (docs/decisions.md #39, #45). With PostgreSQL + Redis the change is announced and the other instance's token
/// endpoint applies it at once: a rotated secret, a disabled client, a removed scope are refused there with the clock
/// standing still. With the embedded SQLite store (no Redis) the 5-second bound of decision 39 is unchanged: still served
/// until the row's lifetime ends, then refused.
/// </summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
public sealed class ClientChangeAnnouncementTests(StoreKind kind)
{
    private const string Secret = "Secret-typed-by-an-operator-45";
    private const string RemovedScope = CafScopes.Clients;

    private readonly ManualClock _clock = new();
    private readonly string _instance2RedisName = "cafconnect-test-instance2-" + Guid.NewGuid().ToString("N")[..8];
    private TestStore _store = null!;
    private CafConnectFactory _instance1 = null!;
    private CafConnectFactory _instance2 = null!;
    private string _cliConfig = null!;

    private bool WithRedis => kind == StoreKind.PostgreSql;

    [OneTimeSetUp]
    public void StartTwoInstances()
    {
        _store = TestStore.Create(kind);
        _instance1 = new CafConnectFactory(_store, configureServices: s => s.AddSingleton<TimeProvider>(_clock));
        // Instance 2's Redis connections carry a name of their own, so that one test can cut exactly them.
        var instance2Settings = WithRedis
            ? new Dictionary<string, string?> { ["Redis:Configuration"] = $"{_store.Settings["Redis:Configuration"]},name={_instance2RedisName}" }
            : null;
        _instance2 = new CafConnectFactory(_store, instance2Settings, s => s.AddSingleton<TimeProvider>(_clock));
        _ = _instance1.Server;
        _ = _instance2.Server;
        _cliConfig = IncidentRevokeTests.WriteCliConfig(_store);
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        await _instance2.DisposeAsync();
        await _instance1.DisposeAsync();
        await _store.DisposeAsync();
        File.Delete(_cliConfig);
    }

    [Test]
    public async Task A_secret_rotated_on_one_instance_is_refused_at_the_other_at_once()
    {
        var clientId = await RegisterServiceClientSeenByInstance2Async();

        var generation = Instance2Generation;
        var rotated = await OnInstance1Async(r => r.RotateSecretAsync(clientId, CancellationToken.None));

        await AssertAppliedByInstance2Async(generation, () => TokenAtInstance2Async(clientId, Secret), HttpStatusCode.Unauthorized, Errors.InvalidClient);
        var withNewSecret = await TokenAtInstance2Async(clientId, rotated.GeneratedSecret!);
        Assert.That(withNewSecret.StatusCode, Is.EqualTo(HttpStatusCode.OK), "the new secret works at once too");
    }

    [Test]
    public async Task A_client_disabled_on_one_instance_is_refused_at_the_other_at_once()
    {
        var clientId = await RegisterServiceClientSeenByInstance2Async();

        var generation = Instance2Generation;
        await OnInstance1Async(r => r.DisableAsync(clientId, CancellationToken.None));

        // A disabled client has no endpoint permission left: OpenIddict refuses it at the token endpoint.
        await AssertAppliedByInstance2Async(generation, () => TokenAtInstance2Async(clientId, Secret), HttpStatusCode.BadRequest, Errors.UnauthorizedClient);
    }

    [Test]
    public async Task A_scope_removed_on_one_instance_is_refused_at_the_other_at_once()
    {
        var clientId = await RegisterServiceClientSeenByInstance2Async();

        var generation = Instance2Generation;
        await OnInstance1Async(r => r.UpdateAsync(clientId, new ClientUpdate { Scopes = [CafScopes.Admin] }, SecretChange.Keep, null, CancellationToken.None));

        // OpenIddict's answer to a scope the client is not permitted (ID2051) is invalid_request.
        await AssertAppliedByInstance2Async(generation, () => TokenAtInstance2Async(clientId, Secret, RemovedScope), HttpStatusCode.BadRequest, Errors.InvalidRequest);
        Assert.That((await TokenAtInstance2Async(clientId, Secret, CafScopes.Admin)).StatusCode, Is.EqualTo(HttpStatusCode.OK), "the scope it kept still works");
    }

    [Test]
    public async Task A_secret_rotated_through_the_CLI_is_refused_at_every_instance_at_once()
    {
        var clientId = await RegisterServiceClientSeenByInstance2Async();
        Assert.That((await TokenAtInstance1Async(clientId, Secret)).StatusCode, Is.EqualTo(HttpStatusCode.OK), "instance 1 holds the row too");

        var generation = Instance2Generation;
        var generationOfInstance1 = Generation(_instance1);
        var rotated = await CliAsync("clients", "update", "--id", clientId, "--generate-secret");
        Assert.That(rotated.Exit, Is.Zero, rotated.Err);

        await AssertAppliedByInstance2Async(generation, () => TokenAtInstance2Async(clientId, Secret), HttpStatusCode.Unauthorized, Errors.InvalidClient);
        if (WithRedis)
        {
            // The CLI is a process of its own: instance 1 hears of it through Redis as instance 2 does.
            await EventuallyAsync(() => Task.FromResult(Generation(_instance1) > generationOfInstance1));
        }
        var atInstance1 = await TokenAtInstance1Async(clientId, Secret);
        Assert.That(atInstance1.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized), await atInstance1.Content.ReadAsStringAsync());
    }

    [Test]
    public async Task After_its_connection_to_Redis_is_cut_and_restored_an_instance_evicts_what_it_kept_and_hears_announcements_again()
    {
        if (!WithRedis)
        {
            Assert.Ignore("The embedded SQLite store has no Redis: nothing to reconnect.");
        }
        var clientId = await RegisterServiceClientSeenByInstance2Async();

        // Disabled by a writer that announces nothing (an earlier version, or a message lost while instance 2 was cut off).
        await WithStoreAsync(async db =>
        {
            var permissions = await db.Set<OpenIddictEntityFrameworkCoreApplication>().Where(a => a.ClientId == clientId).Select(a => a.Permissions).SingleAsync();
            var withoutEndpoints = JsonSerializer.Serialize(JsonSerializer.Deserialize<string[]>(permissions!)!.Where(p => !p.StartsWith("ept:", StringComparison.Ordinal)).ToArray());
            await db.Set<OpenIddictEntityFrameworkCoreApplication>().Where(a => a.ClientId == clientId)
                .ExecuteUpdateAsync(s => s.SetProperty(a => a.Permissions, withoutEndpoints));
        });
        Assert.That((await TokenAtInstance2Async(clientId, Secret)).StatusCode, Is.EqualTo(HttpStatusCode.OK),
            "nothing announced: instance 2 still serves its copy (decision 39's bound)");

        var generation = Instance2Generation;
        await using var admin = await ConnectionMultiplexer.ConnectAsync(_store.Settings["Redis:Configuration"] + ",allowAdmin=true");
        var server = admin.GetServer(admin.GetEndPoints()[0]);
        var cut = (await server.ClientListAsync()).Where(c => c.Name == _instance2RedisName).Select(c => c.Id).ToHashSet();
        Assert.That(cut, Is.Not.Empty, "instance 2's connections are found by their name");
        foreach (var id in cut)
        {
            await server.ClientKillAsync(id);
        }
        await WaitUntilAsync(async () => (await server.ClientListAsync()).Any(c => c.Name == _instance2RedisName && !cut.Contains(c.Id) && c.SubscriptionCount > 0),
            "instance 2 connects and subscribes again");
        // One eviction when the connection fails, one when it is restored (more if both of its connections were cut).
        await EventuallyAsync(() => Task.FromResult(Instance2Generation >= generation + 2));

        var refused = await TokenAtInstance2Async(clientId, Secret);
        Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), "the change missed while cut off is seen at once, not after 5 s: " + await refused.Content.ReadAsStringAsync());

        // Announcements are heard again.
        var other = await RegisterServiceClientSeenByInstance2Async();
        generation = Instance2Generation;
        await OnInstance1Async(r => r.RotateSecretAsync(other, CancellationToken.None));
        await AssertAppliedByInstance2Async(generation, () => TokenAtInstance2Async(other, Secret), HttpStatusCode.Unauthorized, Errors.InvalidClient);
    }

    /// <summary>
    /// With Redis: the announcement reaches instance 2 (its rows evicted) within moments, and the next request there is
    /// refused while the clock stands still. Without: the next request is still served from instance 2's copy, and refused
    /// once the copy's 5 seconds are over.
    /// </summary>
    private async Task AssertAppliedByInstance2Async(long generationBefore, Func<Task<HttpResponseMessage>> request, HttpStatusCode refusal, string error)
    {
        if (WithRedis)
        {
            // Delivery is asynchronous (milliseconds): wait for it, in real time, with the clock standing still. Without
            // the announcement nothing comes, and the request below is served from instance 2's copy.
            await EventuallyAsync(() => Task.FromResult(Instance2Generation > generationBefore));
        }
        else
        {
            var stillServed = await request();
            Assert.That(stillServed.StatusCode, Is.EqualTo(HttpStatusCode.OK),
                "without Redis another instance applies the change when its copy expires (decision 39): " + await stillServed.Content.ReadAsStringAsync());
            _clock.Advance(ApplicationRowSnapshots.Lifetime);
        }
        var refused = await request();
        var body = await refused.Content.ReadAsStringAsync();
        Assert.That(refused.StatusCode, Is.EqualTo(refusal), (WithRedis ? "refused at once, the clock standing still: " : "refused once the copy expired: ") + body);
        Assert.That(JsonDocument.Parse(body).RootElement.GetProperty("error").GetString(), Is.EqualTo(error), body);
        Assert.That(body, Does.Not.Contain("access_token"));
    }

    /// <summary>Polls in real time (the test's clock does not move): an announcement takes milliseconds.</summary>
    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        if (!await EventuallyAsync(condition))
        {
            Assert.Fail("timed out waiting: " + what);
        }
    }

    private static async Task<bool> EventuallyAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                return false;
            }
            await Task.Delay(20);
        }
        return true;
    }

    private long Instance2Generation => Generation(_instance2);

    private static long Generation(CafConnectFactory instance) => instance.Services.GetRequiredService<ApplicationRowSnapshots>().Generation;

    /// <summary>A service client added through instance 1, whose row instance 2 then reads and keeps (a grant served).</summary>
    private async Task<string> RegisterServiceClientSeenByInstance2Async()
    {
        var clientId = "annonce-" + Guid.NewGuid().ToString("N")[..8];
        var added = await OnInstance1Async(r => r.AddAsync(new ClientRegistration
        {
            ClientId = clientId, DisplayName = "Annonce", Kind = ClientKind.Service, ClientSecret = Secret, Scopes = [CafScopes.Admin, RemovedScope],
        }, SecretChange.Given, CancellationToken.None));
        Assert.That(added.Applied, Is.True, string.Join("; ", added.Problems));
        var served = await TokenAtInstance2Async(clientId, Secret, RemovedScope);
        Assert.That(served.StatusCode, Is.EqualTo(HttpStatusCode.OK), await served.Content.ReadAsStringAsync());
        return clientId;
    }

    private async Task<ClientChangeResult> OnInstance1Async(Func<ClientRegistrations, Task<ClientChangeResult>> change)
    {
        await using var scope = _instance1.Services.CreateAsyncScope();
        var result = await change(scope.ServiceProvider.GetRequiredService<ClientRegistrations>());
        Assert.That(result.Applied, Is.True, string.Join("; ", result.Problems));
        return result;
    }

    private async Task WithStoreAsync(Func<CafConnectDbContext, Task> action)
    {
        await using var scope = _instance1.Services.CreateAsyncScope();
        await action(scope.ServiceProvider.GetRequiredService<CafConnectDbContext>());
    }

    private Task<HttpResponseMessage> TokenAtInstance1Async(string clientId, string secret, string? scope = CafScopes.Admin) =>
        new AdminClient(_instance1.CreateClient()).RequestTokenAsync(clientId, secret, scope);

    private Task<HttpResponseMessage> TokenAtInstance2Async(string clientId, string secret, string? scope = CafScopes.Admin) =>
        new AdminClient(_instance2.CreateClient()).RequestTokenAsync(clientId, secret, scope);

    private async Task<(int Exit, string Out, string Err)> CliAsync(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var exit = await cli::CafConnect.Cli.CafConnectCli.RunAsync([.. args, "--config", _cliConfig], stdout, stderr);
        await TestContext.Out.WriteLineAsync($"$ cafconnect {string.Join(' ', args)}\nexit {exit}\n{stdout}\n{stderr}");
        return (exit, stdout.ToString(), stderr.ToString());
    }
}
