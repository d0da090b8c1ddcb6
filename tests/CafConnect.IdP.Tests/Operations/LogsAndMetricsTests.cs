using CafConnect.IdP.Tests.Features.FirstLogin;
using CafConnect.IdP.Tests.Support;
using CafConnect.Infrastructure.Audit;
using CafConnect.Infrastructure.Observability;
using CafConnect.Infrastructure.Persistence;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging;
using System.Diagnostics.Metrics;

namespace CafConnect.IdP.Tests.Operations;

/// <summary>
/// What a person on call reads: the logs of a whole journey never hold a NIR, password, code or token, each request
/// has one line with the audit trail's correlation id, and the journey is counted in the metrics at the shared services.
/// </summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
public sealed class LogsAndMetricsTests(StoreKind kind)
{
    [Test]
    public async Task A_full_journey_logs_no_NIR_password_code_or_token_and_one_line_per_request_with_the_correlation_id()
    {
        var logs = new CapturingLoggerProvider();
        await using var host = JourneyHost.Start(kind, configureServices: services => services.AddSingleton<ILoggerProvider>(logs));

        var secrets = await OperationsJourney.RunAsync(host);

        var text = logs.AllText();
        Assert.That(logs.Entries, Is.Not.Empty, "the capture sees the host's logs");
        Assert.Multiple(() =>
        {
            foreach (var secret in secrets.Values)
            {
                Assert.That(text, Does.Not.Contain(secret), $"a secret of the journey ({secret.Length} characters) is in the logs");
            }
        });

        var requests = logs.Entries.Where(e => e.EventId.Name == "Request").ToList();
        await using var scope = host.Host.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<CafConnectDbContext>();
        var succeeded = await db.AuditEvents.Where(e => e.Type == AuditEventTypes.LoginSucceeded).Select(e => e.CorrelationId).ToListAsync();
        Assert.That(succeeded, Is.Not.Empty);
        Assert.Multiple(() =>
        {
            foreach (var correlation in succeeded)
            {
                var lines = requests.Where(r => r.State.GetValueOrDefault("CorrelationId") == correlation).ToList();
                Assert.That(lines, Has.Count.EqualTo(1), $"exactly one request line carries the correlation id {correlation} of a login.succeeded row");
                Assert.That(lines.Single().State["Method"], Is.EqualTo("POST"));
            }
            Assert.That(requests.Select(r => r.State.GetValueOrDefault("Path")), Has.None.Contains("?"), "the query string (codes, states, flows) is never logged");
        });
    }

    [Test]
    public async Task A_full_journey_is_counted_logins_grants_tokens_codes_and_Argon2id_time()
    {
        await using var host = JourneyHost.Start(kind);
        var meters = host.Host.Services.GetRequiredService<IMeterFactory>();
        using var logins = new MetricCollector<long>(meters, CafConnectMetrics.MeterName, "cafconnect.logins");
        using var grants = new MetricCollector<long>(meters, CafConnectMetrics.MeterName, "cafconnect.grants");
        using var tokens = new MetricCollector<long>(meters, CafConnectMetrics.MeterName, "cafconnect.tokens.issued");
        using var sent = new MetricCollector<long>(meters, CafConnectMetrics.MeterName, "cafconnect.verification_codes.sent");
        using var checks = new MetricCollector<long>(meters, CafConnectMetrics.MeterName, "cafconnect.verification_codes.checks");
        using var argon2 = new MetricCollector<double>(meters, CafConnectMetrics.MeterName, "cafconnect.argon2id.duration");

        await OperationsJourney.RunAsync(host);

        static bool Has(CollectedMeasurement<long> m, params (string Key, string Value)[] tags) =>
            tags.All(t => m.Tags.TryGetValue(t.Key, out var v) && Equals(v, t.Value));
        Assert.Multiple(() =>
        {
            Assert.That(logins.GetMeasurementSnapshot().Count(m => Has(m, ("result", "failed"), ("channel", "web"), ("client", "caf-fr"))), Is.EqualTo(1), "Jeanne's wrong password");
            Assert.That(logins.GetMeasurementSnapshot().Count(m => Has(m, ("result", "succeeded"), ("outcome", "pwd"), ("client", "caf-fr"))), Is.EqualTo(1), "Jeanne's login");
            Assert.That(logins.GetMeasurementSnapshot().Count(m => Has(m, ("result", "required_actions"))), Is.EqualTo(1), "Paul's legacy code");
            Assert.That(grants.GetMeasurementSnapshot().Count(m => Has(m, ("grant_type", "authorization_code"), ("result", "issued"), ("client", "caf-fr"))), Is.EqualTo(1));
            Assert.That(grants.GetMeasurementSnapshot().Count(m => Has(m, ("grant_type", "refresh_token"), ("result", "issued"), ("client", "caf-fr"))), Is.EqualTo(1));
            Assert.That(tokens.GetMeasurementSnapshot().Count(m => Has(m, ("grant_type", "refresh_token"), ("client", "caf-fr"))), Is.EqualTo(1));
            Assert.That(sent.GetMeasurementSnapshot().Count(m => Has(m, ("channel", "sms"))), Is.EqualTo(1), "Paul's SMS code");
            Assert.That(checks.GetMeasurementSnapshot().Count(m => Has(m, ("channel", "sms"), ("result", "wrong"))), Is.EqualTo(1));
            Assert.That(checks.GetMeasurementSnapshot().Count(m => Has(m, ("channel", "sms"), ("result", "verified"))), Is.EqualTo(1));
            Assert.That(argon2.GetMeasurementSnapshot().Where(m => Equals(m.Tags["operation"], "verify")).Select(m => m.Value), Is.Not.Empty.And.All.GreaterThan(0));
        });

        // A refresh token presented twice is an invalid_grant: counted as such.
        var replay = new OidcDriver(host.Host.CreateBrowser());
        var set = await replay.SignInAndRedeemAsync(TestClient.CafFr, "2 85 03 75 112 048", CafConnect.IdP.Demo.DemoData.JeanneDupont.Password);
        await replay.RefreshAsync(TestClient.CafFr, set.RefreshToken!);
        await replay.RefreshAsync(TestClient.CafFr, set.RefreshToken!);
        Assert.That(grants.GetMeasurementSnapshot().Count(m => Has(m, ("grant_type", "refresh_token"), ("result", "invalid_grant"))), Is.EqualTo(1));
    }
}
