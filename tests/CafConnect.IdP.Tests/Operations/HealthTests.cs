using System.Net;
using System.Text.Json;
using CafConnect.IdP.Operations;
using CafConnect.IdP.Protocol;
using CafConnect.IdP.Tests.Support;
using CafConnect.Infrastructure.Notifications;
using CafConnect.Infrastructure.Persistence;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace CafConnect.IdP.Tests.Operations;

/// <summary>/health/live and /health/ready as a load balancer and a person on call see them, on both stores.</summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
public sealed class HealthTests(StoreKind kind)
{
    private static readonly IPAddress Monitoring = IPAddress.Parse("10.20.0.7");
    private static readonly IPAddress Internet = IPAddress.Parse("203.0.113.9");

    private static Dictionary<string, string?> DetailFromMonitoring(Dictionary<string, string?>? more = null)
    {
        var settings = new Dictionary<string, string?> { ["Health:DetailNetworks:0"] = "10.20.0.0/16" };
        foreach (var (key, value) in more ?? [])
        {
            settings[key] = value;
        }
        return settings;
    }

    private static async Task<(int Status, string Body, string? ContentType)> ProbeAsync(CafConnectFactory host, string path, IPAddress from)
    {
        var context = await host.Server.SendAsync(http =>
        {
            http.Request.Method = "GET";
            http.Request.Path = path;
            http.Connection.RemoteIpAddress = from;
        });
        using var reader = new StreamReader(context.Response.Body);
        return (context.Response.StatusCode, await reader.ReadToEndAsync(), context.Response.ContentType);
    }

    [Test]
    public async Task Ready_lists_the_store_Redis_keys_and_outbox_to_the_monitoring_network_and_says_only_Healthy_to_others()
    {
        await using var store = TestStore.Create(kind);
        await using var host = new CafConnectFactory(store, DetailFromMonitoring());

        var live = await ProbeAsync(host, HealthEndpoints.LivePath, Internet);
        var bare = await ProbeAsync(host, HealthEndpoints.ReadyPath, Internet);
        var detail = await ProbeAsync(host, HealthEndpoints.ReadyPath, Monitoring);

        Assert.Multiple(() =>
        {
            Assert.That(live, Is.EqualTo((200, "Healthy", "text/plain; charset=utf-8")));
            Assert.That(bare, Is.EqualTo((200, "Healthy", "text/plain; charset=utf-8")), "no detail outside the configured networks");
            Assert.That(detail.Status, Is.EqualTo(200));
            Assert.That(detail.ContentType, Does.StartWith("application/json"));
        });
        var checks = JsonDocument.Parse(detail.Body).RootElement.GetProperty("checks");
        var expected = kind == StoreKind.PostgreSql ? new[] { "store", "redis", "signing-keys", "outbox" } : ["store", "signing-keys", "outbox"];
        Assert.That(checks.EnumerateObject().Select(c => c.Name), Is.EquivalentTo(expected));
        Assert.That(checks.EnumerateObject().Select(c => c.Value.GetProperty("status").GetString()), Is.All.EqualTo("Healthy"));
    }

    [Test]
    public async Task Ready_fails_with_503_when_Redis_is_unreachable_while_live_still_answers()
    {
        await using var store = TestStore.Create(kind);
        // A port nothing listens on: Redis is down (on SQLite too, Redis is then the configured code and counter store).
        var unreachable = $"127.0.0.1:{FreeTcpPort()},abortConnect=false,connectTimeout=500,syncTimeout=500";
        await using var host = new CafConnectFactory(store, DetailFromMonitoring(new() { ["Redis:Configuration"] = unreachable }));

        var ready = await ProbeAsync(host, HealthEndpoints.ReadyPath, Monitoring);
        var bare = await ProbeAsync(host, HealthEndpoints.ReadyPath, Internet);
        var live = await ProbeAsync(host, HealthEndpoints.LivePath, Internet);

        Assert.Multiple(() =>
        {
            Assert.That(ready.Status, Is.EqualTo(503), ready.Body);
            Assert.That(JsonDocument.Parse(ready.Body).RootElement.GetProperty("checks").GetProperty("redis").GetProperty("status").GetString(), Is.EqualTo("Unhealthy"));
            Assert.That(ready.Body, Does.Not.Contain("127.0.0.1"), "an exception's text (addresses, connection strings) never reaches the body");
            Assert.That(bare, Is.EqualTo((503, "Unhealthy", "text/plain; charset=utf-8")));
            Assert.That(live.Status, Is.EqualTo(200), "a restart would not bring Redis back: liveness does not depend on it");
        });
    }

    [Test]
    public async Task A_backed_up_outbox_degrades_readiness_without_failing_it()
    {
        await using var store = TestStore.Create(kind);
        await using var host = new CafConnectFactory(store, DetailFromMonitoring(new() { ["Health:OutboxBacklogThreshold"] = "0" }));
        _ = host.Server;
        await using (var scope = host.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<CafConnectDbContext>();
            var now = DateTimeOffset.UtcNow;
            // Due in a day: the dispatcher leaves it waiting.
            db.OutboxMessages.Add(new OutboxMessage
            {
                Kind = NotificationKind.AccountLocked, Channel = NotificationChannel.Sms, Recipient = "+33600000000",
                IdempotencyKey = "health-test:" + Guid.NewGuid(), CreatedAt = now, NextAttemptAt = now.AddDays(1),
            });
            await db.SaveChangesAsync();
        }

        var ready = await ProbeAsync(host, HealthEndpoints.ReadyPath, Monitoring);

        var outbox = JsonDocument.Parse(ready.Body).RootElement.GetProperty("checks").GetProperty("outbox");
        Assert.Multiple(() =>
        {
            Assert.That(ready.Status, Is.EqualTo(200), "every instance shares the outbox: readiness must not take them all out");
            Assert.That(JsonDocument.Parse(ready.Body).RootElement.GetProperty("status").GetString(), Is.EqualTo("Degraded"));
            Assert.That(outbox.GetProperty("status").GetString(), Is.EqualTo("Degraded"));
            Assert.That(outbox.GetProperty("data").GetProperty("pending").GetInt64(), Is.EqualTo(1));
        });
    }

    [Test]
    public async Task Failing_gateways_degrade_readiness_with_the_reason_and_it_turns_Healthy_once_messages_leave()
    {
        await using var store = TestStore.Create(kind);
        var gateway = new SwitchableGateway { Failing = true };
        await using var host = new CafConnectFactory(store, DetailFromMonitoring(new()
        {
            ["Health:OutboxFailingMessagesThreshold"] = "2",
            ["Notifications:PollInterval"] = "00:00:00.100",
            ["Notifications:RetryBaseDelay"] = "00:00:00.200",
            ["Notifications:RetryMaxDelay"] = "00:00:00.400",
        }), services =>
        {
            services.RemoveAll<INotificationSenderResolver>();
            services.AddSingleton<INotificationSenderResolver>(new NotificationSenderResolver(gateway, gateway, gateway));
        });
        _ = host.Server;
        await using (var scope = host.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<CafConnectDbContext>();
            var now = DateTimeOffset.UtcNow;
            foreach (var (channel, recipient) in new[] { (NotificationChannel.Sms, "+33600000001"), (NotificationChannel.Email, "personne@example.fr") })
            {
                db.OutboxMessages.Add(new OutboxMessage
                {
                    Kind = NotificationKind.AccountLocked, Channel = channel, Recipient = recipient,
                    IdempotencyKey = "health-failing:" + Guid.NewGuid(), CreatedAt = now, NextAttemptAt = now,
                });
            }
            await db.SaveChangesAsync();
        }

        // The dispatcher tries both, the gateway refuses both: readiness says why, and stays 200.
        var degraded = await WaitForReadinessAsync(host, body => body.GetProperty("status").GetString() == "Degraded");
        var outbox = degraded.Body.GetProperty("checks").GetProperty("outbox");
        Assert.Multiple(() =>
        {
            Assert.That(degraded.Status, Is.EqualTo(200), "every instance shares the gateways: failing readiness would take them all out of the load balancer");
            Assert.That(outbox.GetProperty("status").GetString(), Is.EqualTo("Degraded"));
            Assert.That(outbox.GetProperty("description").GetString(), Does.StartWith("delivery failing: 2 waiting message(s)").And.Contain("Email: 1").And.Contain("Sms: 1"));
            Assert.That(outbox.GetProperty("data").GetProperty("failing").GetInt64(), Is.EqualTo(2));
            Assert.That(outbox.ToString(), Does.Not.Contain("gateway down for the test"), "never the exception's text");
        });

        gateway.Failing = false;
        // Healthy as soon as fewer than the threshold still fail; both have left once nothing waits.
        var healthy = await WaitForReadinessAsync(host, body => body.GetProperty("status").GetString() == "Healthy"
            && body.GetProperty("checks").GetProperty("outbox").GetProperty("data").GetProperty("pending").GetInt64() == 0);
        Assert.Multiple(() =>
        {
            Assert.That(healthy.Body.GetProperty("checks").GetProperty("outbox").GetProperty("description").GetString(), Is.EqualTo("outbox flowing"));
            Assert.That(gateway.Delivered, Is.EqualTo(2), "both messages left once the gateway answered");
        });
    }

    private static async Task<(int Status, JsonElement Body)> WaitForReadinessAsync(CafConnectFactory host, Func<JsonElement, bool> until)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            var ready = await ProbeAsync(host, HealthEndpoints.ReadyPath, Monitoring);
            var body = JsonDocument.Parse(ready.Body).RootElement.Clone();
            if (until(body) || DateTime.UtcNow > deadline)
            {
                Assert.That(until(body), Is.True, "readiness never reached the expected state: " + ready.Body);
                return (ready.Status, body);
            }
            await Task.Delay(100);
        }
    }

    /// <summary>A gateway that refuses every message while <see cref="Failing"/>, then accepts them.</summary>
    private sealed class SwitchableGateway : INotificationSender
    {
        private int _delivered;
        public volatile bool Failing;
        public int Delivered => _delivered;

        public Task SendAsync(OutgoingNotification message, CancellationToken cancellationToken)
        {
            if (Failing)
            {
                throw new HttpRequestException("gateway down for the test");
            }
            Interlocked.Increment(ref _delivered);
            return Task.CompletedTask;
        }
    }

    [Test]
    public async Task The_signing_key_check_fails_until_the_keys_are_loaded()
    {
        var check = new SigningKeysHealthCheck(new TokenKeyRing());
        var context = new HealthCheckContext { Registration = new HealthCheckRegistration("signing-keys", check, null, null) };
        Assert.That((await check.CheckHealthAsync(context)).Status, Is.EqualTo(HealthStatus.Unhealthy));
    }

    internal static int FreeTcpPort()
    {
        var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
