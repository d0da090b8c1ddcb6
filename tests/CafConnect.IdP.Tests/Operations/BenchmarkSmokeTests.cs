using System.Diagnostics;
using System.Text.Json;
using CafConnect.IdP.Tests.Support;

namespace CafConnect.IdP.Tests.Operations;

/// <summary>
/// The provider benchmark (bench/run.sh, issue #14) at its tiny size, so that it cannot rot: it starts the provider and
/// the peer, runs every measurement on a few persons and writes its JSON, which must hold every figure. No timing is
/// asserted here — throughput goals live in bench/README.md, measured on purpose, never in a test.
/// </summary>
[NonParallelizable]
public sealed class BenchmarkSmokeTests
{
    [Test]
    public async Task The_tiny_benchmark_writes_every_figure()
    {
        var postgres = Environment.GetEnvironmentVariable(TestStore.PostgresVariable);
        var redis = Environment.GetEnvironmentVariable(TestStore.RedisVariable);
        if (string.IsNullOrWhiteSpace(postgres) || string.IsNullOrWhiteSpace(redis))
        {
            if (Environment.GetEnvironmentVariable(TestStore.RequireServersVariable) == "1")
            {
                Assert.Fail("the benchmark check needs the test servers (CAFCONNECT_REQUIRE_SERVERS=1)");
            }
            Assert.Ignore("the benchmark check needs PostgreSQL and Redis (the test command starts them)");
        }
        var root = RepositoryRoot();
        var output = Path.Combine(Path.GetTempPath(), "cafconnect-bench-smoke", Guid.NewGuid().ToString("N"));
        var start = new ProcessStartInfo("bash", [Path.Combine(root, "bench", "run.sh"), "--tiny"])
        {
            WorkingDirectory = root,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            Environment =
            {
                ["BENCH_POSTGRES"] = postgres,
                ["BENCH_REDIS"] = redis,
                ["BENCH_OUT_DIR"] = output,
            },
        };
        try
        {
            using var process = Process.Start(start)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(8));
            await process.WaitForExitAsync(timeout.Token);
            var log = await stdout + await stderr;
            Assert.That(process.ExitCode, Is.Zero, log);

            using var json = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(output, "latest.json")));
            var figures = json.RootElement.GetProperty("figures");
            var meta = json.RootElement.GetProperty("meta");
            Assert.Multiple(() =>
            {
                foreach (var name in BenchFigures.Names)
                {
                    Assert.That(figures.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number, Is.True, $"figure {name}");
                }
                // The runs measured something: tokens were issued by both providers, persons signed in.
                Assert.That(figures.GetProperty("client_credentials_peak_per_second").GetDouble(), Is.GreaterThan(0), log);
                Assert.That(figures.GetProperty("refresh_public_peak_per_second").GetDouble(), Is.GreaterThan(0), log);
                Assert.That(figures.GetProperty("refresh_confidential_peer_peak_per_second").GetDouble(), Is.GreaterThan(0), log);
                Assert.That(figures.GetProperty("sign_ins_per_second").GetDouble(), Is.GreaterThan(0), log);
                // The logins: the login POSTs' own rate over their phase of each batch, with as many in flight
                // as the hashing limit has hashes in parallel. Plausible, not a goal: faster than whole sign-ins (the
                // POSTs completed are at least the sign-ins completed, their phase is a part of the run's time), which
                // a rate taken over the whole run would not be.
                var loginPosts = figures.GetProperty("login_posts_per_second").GetDouble();
                Assert.That(loginPosts, Is.GreaterThan(figures.GetProperty("sign_ins_per_second").GetDouble()), log);
                Assert.That(figures.GetProperty("login_posts_ratio_to_hashing_limit").GetDouble(),
                    Is.EqualTo(loginPosts / figures.GetProperty("hashing_limit_per_second").GetDouble()).Within(1e-9), log);
                Assert.That(figures.GetProperty("login_post_concurrency").GetDouble(), Is.EqualTo(figures.GetProperty("hashing_parallelism").GetDouble()), log);
                // Every completed sign-in passed its POST; a POST is counted when the provider accepted the password.
                var logins = json.RootElement.GetProperty("logins");
                Assert.That(logins.GetProperty("login_posts").GetInt32(), Is.InRange(
                    logins.GetProperty("logins").GetInt32(), logins.GetProperty("logins").GetInt32() + logins.GetProperty("failures").GetInt32()), log);
                Assert.That(logins.GetProperty("login_post_seconds").GetDouble(), Is.GreaterThan(0).And.LessThan(logins.GetProperty("seconds").GetDouble()), log);
                // The login POSTs' CPU was read apart (one Argon2id verification each at least), the storage by table,
                // and the large store holds the seeded token rows.
                Assert.That(figures.GetProperty("server_cpu_ms_per_login_post").GetDouble(), Is.GreaterThan(0), log);
                Assert.That(json.RootElement.GetProperty("sessions").GetProperty("pg_tables").TryGetProperty("OpenIddictTokens", out _), Is.True, log);
                Assert.That(figures.GetProperty("scale_large_tokens").GetDouble(), Is.GreaterThan(0), log);
                Assert.That(meta.GetProperty("load_before").GetString(), Is.Not.Empty);
                Assert.That(meta.GetProperty("load_after").GetString(), Is.Not.Empty);
                foreach (var plot in new[] { "client_credentials", "refresh_public", "refresh_confidential" })
                {
                    Assert.That(File.Exists(Path.Combine(output, plot + ".png")), Is.True, plot + ".png");
                }
            });
        }
        finally
        {
            if (Directory.Exists(output)) Directory.Delete(output, recursive: true);
        }
    }

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
