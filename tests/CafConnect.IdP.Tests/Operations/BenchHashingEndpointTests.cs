using System.Net;
using System.Text.Json;
using CafConnect.IdP.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace CafConnect.IdP.Tests.Operations;

/// <summary>
/// The benchmark's hashing-limit endpoint burns CPU on demand, and its full-collection endpoint (memory per session)
/// stops the process for a moment: both exist only when configured, in Development, and answer loopback callers only
/// (bench/README.md, issue #14).
/// </summary>
public sealed class BenchHashingEndpointTests
{
    private static async Task<HttpStatusCode> PostAsync(IReadOnlyDictionary<string, string?> settings, bool fromLoopback, string path = "/bench/hashing?count=2")
    {
        await using var store = TestStore.Create(StoreKind.Sqlite);
        await using var host = new CafConnectFactory(store, settings,
            services => { if (fromLoopback) services.AddSingleton<IStartupFilter, LoopbackCaller>(); });
        var response = await host.CreateClient().PostAsync(path, content: null);
        if (response.StatusCode == HttpStatusCode.OK)
        {
            var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
            if (path.StartsWith("/bench/gc", StringComparison.Ordinal))
            {
                Assert.That(json.GetProperty("heap_bytes").GetInt64(), Is.GreaterThan(0));
                Assert.That(json.GetProperty("rss_bytes").GetInt64(), Is.GreaterThan(0));
            }
            else
            {
                Assert.That(json.GetProperty("hashes").GetInt32(), Is.EqualTo(2));
                Assert.That(json.GetProperty("per_second").GetDouble(), Is.GreaterThan(0));
                Assert.That(json.GetProperty("cpu_ms_per_hash").GetDouble(), Is.GreaterThanOrEqualTo(0));
            }
        }
        return response.StatusCode;
    }

    [TestCase("/bench/hashing?count=2")]
    [TestCase("/bench/gc")]
    public async Task Without_the_setting_there_is_no_endpoint(string path) =>
        Assert.That(await PostAsync(new Dictionary<string, string?>(), fromLoopback: true, path), Is.EqualTo(HttpStatusCode.NotFound));

    [TestCase("/bench/hashing?count=2")]
    [TestCase("/bench/gc")]
    public async Task A_caller_that_is_not_on_loopback_gets_nothing(string path) =>
        Assert.That(await PostAsync(new Dictionary<string, string?> { ["Bench:HashingEndpoint"] = "true" }, fromLoopback: false, path), Is.EqualTo(HttpStatusCode.NotFound));

    [TestCase("/bench/hashing?count=2")]
    [TestCase("/bench/gc")]
    public async Task Configured_in_Development_it_measures_for_a_loopback_caller(string path) =>
        Assert.That(await PostAsync(new Dictionary<string, string?> { ["Bench:HashingEndpoint"] = "true" }, fromLoopback: true, path), Is.EqualTo(HttpStatusCode.OK));

    /// <summary>The in-memory test server has no remote address: this one says the caller is on loopback.</summary>
    private sealed class LoopbackCaller : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use((http, nextMiddleware) =>
            {
                http.Connection.RemoteIpAddress = IPAddress.Loopback;
                return nextMiddleware(http);
            });
            next(app);
        };
    }
}
