using System.Diagnostics;
using System.Text.Json;
using CafConnect.IdP.Tests.Support;

namespace CafConnect.IdP.Tests.Operations;

/// <summary>
/// The fault drill (bench/fault-drill.sh, issue #15) in its short mode: three instances behind Debian's nginx on one
/// PostgreSQL and a Redis primary, replica and Sentinel, under a load of sign-ins, refreshes and first logins with the
/// file's old code, through every fault (an instance killed,
/// Redis stopped, a Sentinel failover, PostgreSQL restarted, keys rotated, the SMTP and SMS gateways down). The drill
/// writes results.json next to its report; this test asserts what must hold whatever the machine's speed — no timing.
/// </summary>
[NonParallelizable]
public sealed class FaultDrillTests
{
    [Test]
    public async Task The_short_fault_drill_survives_every_fault()
    {
        var requireServers = Environment.GetEnvironmentVariable(TestStore.RequireServersVariable) == "1";
        var missing = new[] { "nginx", "redis-sentinel", "redis-server", "redis-cli", "openssl", "bc", "curl" }.Where(tool => !OnPath(tool)).ToList();
        if (missing.Count > 0 || !Directory.Exists("/usr/lib/postgresql"))
        {
            var reason = $"the fault drill needs Debian's tools ({string.Join(", ", missing.DefaultIfEmpty("postgresql"))} missing; ./test.sh installs them)";
            if (requireServers) Assert.Fail(reason);
            Assert.Ignore(reason);
        }

        var root = RepositoryRoot();
        // The drill starts servers of its own: ports derived from this run's, away from test.sh's PostgreSQL and Redis,
        // and below the ephemeral range (32768 and up): Redis and PostgreSQL restart on their port during the drill, and
        // an outgoing connection may have taken a port of that range meanwhile.
        var pgPort = TestServerPorts.PostgreSql;
        var redisPort = TestServerPorts.Redis;
        var work = Path.Combine(Path.GetTempPath(), "cafconnect-fault-drill", Guid.NewGuid().ToString("N"));
        var output = Path.Combine(work, "out");
        var start = new ProcessStartInfo("bash", [Path.Combine(root, "bench", "fault-drill.sh"), "--ci"])
        {
            WorkingDirectory = root,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            Environment =
            {
                ["CAFCONNECT_TEST_PG_PORT"] = (29000 + pgPort % 1000).ToString(),
                ["CAFCONNECT_TEST_REDIS_PORT"] = (30000 + redisPort % 900 * 3).ToString(),
                ["DRILL_BASE_PORT"] = (20000 + pgPort % 100 * 30).ToString(),
                ["DRILL_RUN_DIR"] = Path.Combine(work, "run"),
                ["DRILL_OUT_DIR"] = output,
            },
        };
        try
        {
            using var process = Process.Start(start)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(9));
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                // SIGTERM, not a kill of the tree: the drill's trap stops every server it started.
                Process.Start("kill", ["-TERM", process.Id.ToString()])?.WaitForExit();
                await process.WaitForExitAsync();
                Assert.Fail("the short drill did not end within 9 minutes\n" + await stderr);
            }
            var log = await stdout + await stderr;
            Assert.That(process.ExitCode, Is.Zero, log);

            using var json = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(output, "results.json")));
            var results = json.RootElement;
            var outbox = results.GetProperty("outbox");
            var report = await File.ReadAllTextAsync(Path.Combine(output, "report.md"));
            // The drill's report and results stay in the test's output (the trx file) for whoever reads a CI run.
            await TestContext.Out.WriteLineAsync(report);
            await TestContext.Out.WriteLineAsync(results.ToString());
            Assert.Multiple(() =>
            {
                Assert.That(results.GetProperty("requests").GetInt32(), Is.GreaterThan(0), report);
                Assert.That(results.GetProperty("status_500").GetInt32(), Is.Zero, "answers 500\n" + report);
                Assert.That(results.GetProperty("other_persons_data").GetInt32(), Is.Zero, "another person's data\n" + results.GetProperty("mismatches"));
                Assert.That(results.GetProperty("rotation_at").ValueKind, Is.EqualTo(JsonValueKind.Number), "the keys were rotated\n" + log);
                Assert.That(results.GetProperty("kids").EnumerateObject().Count(), Is.GreaterThanOrEqualTo(2), "ID tokens signed by the old key, then by the new one\n" + report);
                Assert.That(results.GetProperty("tokens_refused_after_rotation").GetInt32(), Is.Zero, "tokens refused after the rotation\n" + results.GetProperty("refused"));
                // Every message queued while the gateways were down is delivered once they are back, and only once.
                Assert.That(results.GetProperty("recoveries").GetInt32(), Is.GreaterThan(0), "password recoveries during the outage\n" + report);
                Assert.That(results.GetProperty("recoveries_failed").GetInt32(), Is.Zero, "password recoveries that failed during the outage\n" + report);
                Assert.That(outbox.GetProperty("created").GetInt32(), Is.GreaterThan(0), "messages queued\n" + report);
                Assert.That(outbox.GetProperty("sent").GetInt32(), Is.EqualTo(outbox.GetProperty("created").GetInt32()), "messages sent\n" + report);
                Assert.That(outbox.GetProperty("given_up").GetInt32() + outbox.GetProperty("waiting").GetInt32(), Is.Zero, "messages given up or still waiting\n" + report);
                Assert.That(results.GetProperty("messages_received").GetInt32(), Is.EqualTo(outbox.GetProperty("created").GetInt32()), "messages received by the gateways\n" + report);
                Assert.That(results.GetProperty("messages_received_more_than_once").GetInt32(), Is.Zero, "messages received twice\n" + report);
                // People sign in again after each fault: every phase after a fault has sign-in rounds under way in it
                // that completed (a phase of the short mode, 6 s, can be shorter than one round on the loaded
                // machine), but the one in which Redis is down altogether (sign-ins answer 503 by design until it is
                // back). The baseline is no fault's aftermath: its seconds are the instances' cold start.
                foreach (var phase in results.GetProperty("phases").EnumerateArray().Skip(1))
                {
                    var name = phase.GetProperty("name").GetString()!;
                    if (name.StartsWith("Redis stopped", StringComparison.Ordinal)) continue;
                    Assert.That(phase.GetProperty("rounds_through").GetInt32(), Is.GreaterThan(0), $"completed sign-in rounds under way in the phase « {name} »\n" + report);
                }
                Assert.That(results.GetProperty("readiness").GetString(), Does.Not.Contain("unreachable").And.Not.Contain("Unhealthy"), report);

                // First logins with the file's old code (each imported person once): they complete, through every
                // fault. A phase counts the journeys under way in it (started before its end, ended after its start)
                // that reached the relying party: one in progress when instance 2 was killed finished on the others
                // (each request of a journey goes to the next instance: the flow is on the server, not in one process).
                var firstLogins = results.GetProperty("first_logins");
                Assert.That(firstLogins.GetProperty("completed").GetInt32(), Is.GreaterThan(0), "first logins completed\n" + report);
                Assert.That(firstLogins.GetProperty("status_500").GetInt32(), Is.Zero, "first-login requests answered 500\n" + report);
                Assert.That(firstLogins.GetProperty("failed").EnumerateObject().Select(f => $"{f.Name}: {f.Value}"), Is.Empty,
                    "first logins that did not reach the relying party (transient failures are reloaded through, up to 75 s)\n" + report);
                foreach (var phase in results.GetProperty("phases").EnumerateArray().Skip(1))
                {
                    var name = phase.GetProperty("name").GetString()!;
                    Assert.That(phase.GetProperty("first_logins_through").GetInt32(), Is.GreaterThan(0), $"first logins under way in the phase « {name} » that completed\n" + report);
                }

                // While the gateways are down, readiness says so (Degraded, with the reason) and stays 200: the
                // instances stay in the load balancer, since every one of them shares the same gateways.
                var outage = results.GetProperty("readiness_during_gateways_outage");
                Assert.That(outage.GetProperty("samples").GetInt32(), Is.GreaterThan(0), "readiness sampled during the outage\n" + report);
                Assert.That(outage.GetProperty("http").EnumerateObject().Select(h => h.Name), Is.EqualTo(new[] { "200" }), "readiness answers 200 throughout the outage\n" + outage);
                Assert.That(outage.GetProperty("status").TryGetProperty("Degraded", out _), Is.True, "readiness Degraded while the gateways are down\n" + outage);
                Assert.That(outage.GetProperty("reason").GetString(), Does.StartWith("delivery failing"), "the reason in the detail\n" + outage);
            });
        }
        finally
        {
            if (Directory.Exists(work)) Directory.Delete(work, recursive: true);
        }
    }

    private static bool OnPath(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Any(directory => File.Exists(Path.Combine(directory, tool)));

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "CafConnect.IdP.sln")))
            {
                return directory.FullName;
            }
        }
        throw new InvalidOperationException("repository root not found");
    }
}
