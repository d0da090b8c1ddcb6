using System.Diagnostics;
using System.Net;
using CafConnect.IdP.Tests.Support;
using CafConnect.Infrastructure.Audit;
using CafConnect.Infrastructure.Persistence;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Trace;

namespace CafConnect.IdP.Tests.Operations;

/// <summary>The Prometheus scrape endpoint (checked by promtool) and traces that share the audit trail's correlation id.</summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
public sealed class TelemetryTests(StoreKind kind)
{
    [Test]
    public async Task The_Prometheus_endpoint_is_off_by_default_and_when_on_serves_valid_metrics_on_its_own_port()
    {
        var promtool = Promtool();
        await using var store = TestStore.Create(kind);
        var port = HealthTests.FreeTcpPort();
        await using var host = new CafConnectFactory(store, new Dictionary<string, string?>
        {
            ["Telemetry:Prometheus:Enabled"] = "true",
            ["Telemetry:Prometheus:Host"] = "127.0.0.1",
            ["Telemetry:Prometheus:Port"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
        var person = new OidcDriver(host.CreateBrowser());
        var pkce = Pkce.Create();
        var challenge = await person.AuthorizeAsync(OidcDriver.AuthorizationParameters(TestClient.CafFr, pkce));
        await person.SubmitLoginAsync(new Uri(challenge.Headers.Location!.PathAndQuery, UriKind.Relative), "2 85 03 75 112 048", "Mauvais1Mot");
        var tokens = await person.SignInAndRedeemAsync(TestClient.CafFr, "2 85 03 75 112 048", CafConnect.IdP.Demo.DemoData.JeanneDupont.Password);
        Assert.That(tokens.AccessToken, Is.Not.Empty);
        var onPublicPort = await host.CreateClient().GetAsync("/metrics");

        using var scraper = new HttpClient { Timeout = TimeSpan.FromSeconds(20) };
        var text = await scraper.GetStringAsync($"http://127.0.0.1:{port}/metrics");

        Assert.Multiple(() =>
        {
            Assert.That(onPublicPort.StatusCode, Is.EqualTo(HttpStatusCode.NotFound), "never on the public port");
            Assert.That(text, Does.Contain("cafconnect_logins_total{").And.Contain("result=\"failed\"").And.Contain("result=\"succeeded\""));
            Assert.That(text, Does.Contain("cafconnect_grants_total{").And.Contain("cafconnect_tokens_issued_total{"));
            Assert.That(text, Does.Contain("cafconnect_argon2id_duration_seconds_bucket{"));
            Assert.That(text, Does.Contain("http_server_request_duration_seconds_bucket{"));
            Assert.That(text, Does.Not.Contain("2850375112048").And.Not.Contain("Soleil2Paris"));
        });

        var file = Path.Combine(Path.GetTempPath(), $"cafconnect-metrics-{Guid.NewGuid():N}.txt");
        await File.WriteAllTextAsync(file, text);
        try
        {
            var (exit, output) = await RunAsync(promtool, "check metrics", file);
            Assert.That(exit, Is.EqualTo(0), "promtool check metrics:\n" + output);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Test]
    public async Task A_login_s_audit_correlation_id_is_its_trace_id_and_a_caller_cannot_choose_it()
    {
        // With OTLP on (towards a port nobody listens on: what is exported does not matter here, what is recorded does).
        var (correlation, forged, exported) = await SignInTracedAsync(new Dictionary<string, string?>
        {
            ["Telemetry:Otlp:Enabled"] = "true",
            ["Telemetry:Otlp:Endpoint"] = "http://127.0.0.1:9",
        });
        var loginSpans = exported.Where(s => s.TraceId.ToHexString() == correlation).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(correlation, Is.Not.EqualTo(forged), "an incoming traceparent is ignored");
            Assert.That(exported.Select(s => s.TraceId.ToHexString()), Has.None.EqualTo(forged));
            Assert.That(loginSpans.Where(s => s.Kind == ActivityKind.Server).Select(s => s.GetTagItem("http.request.method")), Does.Contain("POST"),
                "the login POST's server span carries the audit row's correlation id");
            Assert.That(loginSpans.Where(s => s.Kind == ActivityKind.Client), Is.Not.Empty, "the store queries of that request are in the same trace");
        });
    }

    [Test]
    public async Task Without_an_exporter_a_login_still_has_its_trace_id_but_records_no_store_spans()
    {
        var (correlation, forged, exported) = await SignInTracedAsync(new Dictionary<string, string?>());
        var loginSpans = exported.Where(s => s.TraceId.ToHexString() == correlation).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(correlation, Is.Not.EqualTo(forged), "an incoming traceparent is ignored");
            Assert.That(loginSpans.Where(s => s.Kind == ActivityKind.Server).Select(s => s.GetTagItem("http.request.method")), Does.Contain("POST"),
                "the correlation id is still the request's trace id");
            // Spans nobody exports cost every request an activity per SQL command and Redis call (bench/README.md).
            Assert.That(exported.Where(s => s.Kind == ActivityKind.Client).Select(s => s.DisplayName), Is.Empty, "no span per store query or outgoing call");
        });
    }

    /// <summary>Jeanne signs in with a forged <c>traceparent</c>; her login's audit correlation id, the forged trace id, and every span recorded.</summary>
    private async Task<(string? Correlation, string Forged, List<Activity> Exported)> SignInTracedAsync(IReadOnlyDictionary<string, string?> settings)
    {
        var spans = new List<Activity>();
        await using var store = TestStore.Create(kind);
        await using var host = new CafConnectFactory(store, settings, configureServices: services =>
            services.ConfigureOpenTelemetryTracerProvider(tracing => tracing.AddInMemoryExporter(spans)));
        var forged = ActivityTraceId.CreateRandom().ToHexString();
        var browser = host.CreateBrowser();
        browser.DefaultRequestHeaders.Add("traceparent", $"00-{forged}-{ActivitySpanId.CreateRandom().ToHexString()}-01");
        var person = new OidcDriver(browser);

        await person.SignInAsync(OidcDriver.AuthorizationParameters(TestClient.CafFr, Pkce.Create()), "2 85 03 75 112 048", CafConnect.IdP.Demo.DemoData.JeanneDupont.Password);

        string? correlation;
        await using (var scope = host.Services.CreateAsyncScope())
        {
            correlation = await scope.ServiceProvider.GetRequiredService<CafConnectDbContext>().AuditEvents
                .Where(e => e.Type == AuditEventTypes.LoginSucceeded).Select(e => e.CorrelationId).SingleAsync();
        }
        host.Services.GetRequiredService<TracerProvider>().ForceFlush();
        lock (spans)
        {
            return (correlation, forged, [.. spans]);
        }
    }

    private static string Promtool()
    {
        var path = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Select(d => Path.Combine(d, "promtool")).FirstOrDefault(File.Exists);
        if (path is null)
        {
            if (Environment.GetEnvironmentVariable(TestStore.RequireServersVariable) == "1")
            {
                Assert.Fail("promtool is missing although the test command installs it (Debian package prometheus).");
            }
            Assert.Ignore("promtool (Debian package prometheus) is not installed; ./test.sh installs it.");
        }
        return path!;
    }

    private static async Task<(int Exit, string Output)> RunAsync(string program, string arguments, string stdinFile)
    {
        var start = new ProcessStartInfo(program, arguments) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(start)!;
        await process.StandardInput.WriteAsync(await File.ReadAllTextAsync(stdinFile));
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout + await stderr);
    }
}
