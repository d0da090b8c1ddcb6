using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace CafConnect.Infrastructure.Tests.Support;

/// <summary>
/// A PostgreSQL cluster of one test, which the test may restart or stop (the shared server of the test command is
/// used by fixtures running in parallel, so it is never restarted). Same binaries and layout as tools/test-servers.sh:
/// as root the cluster runs as <c>postgres</c> in a fresh directory under /tmp. Needs the PostgreSQL tests to be on
/// (<c>CAFCONNECT_TEST_POSTGRES</c>): ignored otherwise, like every PostgreSQL test.
/// </summary>
public sealed class PrivatePostgreSqlCluster : IAsyncDisposable
{
    private readonly string _directory;
    private readonly string _bin;

    private PrivatePostgreSqlCluster(string directory, string bin, int port)
    {
        _directory = directory;
        _bin = bin;
        Port = port;
    }

    public int Port { get; }

    public string ConnectionString(string database) =>
        $"Host=127.0.0.1;Port={Port};Username=postgres;Database={database};Timeout=3;Command Timeout=10";

    public static async Task<PrivatePostgreSqlCluster> StartAsync()
    {
        // Self-contained (linked into the IdP tests too): the PostgreSQL tests' switch, as TestServers.Require.
        if (string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable("CAFCONNECT_TEST_POSTGRES")))
        {
            if (Environment.GetEnvironmentVariable("CAFCONNECT_REQUIRE_SERVERS") == "1")
            {
                Assert.Fail("CAFCONNECT_TEST_POSTGRES is not set although CAFCONNECT_REQUIRE_SERVERS=1: the PostgreSQL tests must run.");
            }
            Assert.Ignore("PostgreSQL tests need CAFCONNECT_TEST_POSTGRES (the test command sets it).");
        }
        var bin = Directory.GetDirectories("/usr/lib/postgresql").Select(d => Path.Combine(d, "bin"))
            .Where(Directory.Exists).OrderBy(d => int.TryParse(Path.GetFileName(Path.GetDirectoryName(d)), out var v) ? v : 0).LastOrDefault()
            ?? throw new InvalidOperationException("PostgreSQL binaries not found under /usr/lib/postgresql.");
        var directory = Directory.CreateTempSubdirectory("cafconnect-test-pg-restart.").FullName;
        var cluster = new PrivatePostgreSqlCluster(directory, bin, FreeTcpPort());
        if (IsRoot)
        {
            await RunAsync("chown", "postgres:postgres", directory);
        }
        await cluster.RunAsPostgresAsync(Path.Combine(bin, "initdb"), "-D", cluster.DataDirectory, "-U", "postgres", "-A", "trust", "--no-sync");
        await cluster.StartServerAsync();
        return cluster;
    }

    private string DataDirectory => Path.Combine(_directory, "data");

    private static bool IsRoot => Environment.UserName == "root";

    public Task StartServerAsync() => RunAsPostgresAsync(Path.Combine(_bin, "pg_ctl"), "-D", DataDirectory, "-l", Path.Combine(_directory, "server.log"),
        "-w", "-t", "60", "-o", $"-p {Port} -c listen_addresses=127.0.0.1 -k {_directory} -c fsync=off", "start");

    /// <summary><c>pg_ctl restart -m fast</c>: every session is terminated (57P01), the server is down for a moment, then accepts again.</summary>
    public Task RestartAsync() => RunAsPostgresAsync(Path.Combine(_bin, "pg_ctl"), "-D", DataDirectory, "-l", Path.Combine(_directory, "server.log"),
        "-w", "-t", "60", "-m", "fast", "-o", $"-p {Port} -c listen_addresses=127.0.0.1 -k {_directory} -c fsync=off", "restart");

    public Task StopServerAsync() => RunAsPostgresAsync(Path.Combine(_bin, "pg_ctl"), "-D", DataDirectory, "-w", "-m", "fast", "stop");

    public async ValueTask DisposeAsync()
    {
        // The pooled connections to this cluster die with it; none is handed to a later test.
        NpgsqlConnection.ClearAllPools();
        try
        {
            await RunAsPostgresAsync(Path.Combine(_bin, "pg_ctl"), "-D", DataDirectory, "-m", "immediate", "stop");
        }
        catch (InvalidOperationException)
        {
            // Already stopped by the test.
        }
        Directory.Delete(_directory, recursive: true);
    }

    private Task RunAsPostgresAsync(string program, params string[] arguments) =>
        IsRoot ? RunAsync("runuser", ["-u", "postgres", "--", program, .. arguments]) : RunAsync(program, arguments);

    private static async Task RunAsync(string program, params string[] arguments)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{program} did not start.");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{program} {string.Join(' ', arguments)} exited with {process.ExitCode}: {await output}{await error}");
        }
    }

    /// <summary>
    /// A free port below Linux's ephemeral range (32768 and up): the tests restart this cluster, and a port the kernel
    /// handed out could be taken by an outgoing connection while the server is down (the same reason as the test and
    /// bench servers' defaults, PortDefaultsTests).
    /// </summary>
    private static int FreeTcpPort()
    {
        for (var attempt = 0; attempt < 200; attempt++)
        {
            var port = Random.Shared.Next(24000, 32000);
            try
            {
                using var listener = new TcpListener(IPAddress.Loopback, port);
                listener.Start();
                return port;
            }
            catch (SocketException)
            {
                // Taken: another one.
            }
        }
        throw new InvalidOperationException("No free port between 24000 and 32000 on 127.0.0.1.");
    }
}
