using System.Text.RegularExpressions;
using CafConnect.IdP.Tests.Support;

namespace CafConnect.IdP.Tests.Operations;

/// <summary>
/// The default ports of the test and bench servers sit below Linux's ephemeral range (32768 and up), where an outgoing
/// connection may hold a port when PostgreSQL or Redis starts or restarts on it (a bench run failed so on 5 December),
/// and the scripts, the fixtures and the README agree on them. The environment overrides are read by the same lines.
/// </summary>
public sealed partial class PortDefaultsTests
{
    [Test]
    public void The_test_servers_defaults_are_the_same_in_every_script_and_below_the_ephemeral_range()
    {
        foreach (var script in new[] { "test.sh", "tools/test-servers.sh", "bench/fault-drill.sh" })
        {
            var text = Read(script);
            Assert.That(DefaultOf(text, "CAFCONNECT_TEST_PG_PORT"), Is.EqualTo(TestServerPorts.DefaultPostgreSql), script);
            Assert.That(DefaultOf(text, "CAFCONNECT_TEST_REDIS_PORT"), Is.EqualTo(TestServerPorts.DefaultRedis), script);
        }
        Assert.That(TestServerPorts.DefaultPostgreSql, Is.LessThan(TestServerPorts.EphemeralRangeStart));
        // The fault drill's Redis replica and Sentinel take the two ports after the primary's.
        Assert.That(TestServerPorts.DefaultRedis + 2, Is.LessThan(TestServerPorts.EphemeralRangeStart));
    }

    [Test]
    public void The_bench_servers_defaults_are_below_the_ephemeral_range_and_apart_from_the_test_servers()
    {
        var text = Read("bench/run.sh");
        Assert.That(DefaultOf(text, "BENCH_PG_PORT"), Is.EqualTo(TestServerPorts.DefaultBenchPostgreSql));
        Assert.That(DefaultOf(text, "BENCH_REDIS_PORT"), Is.EqualTo(TestServerPorts.DefaultBenchRedis));
        // The provider and the peer get a free port chosen below the range, never the kernel's pick (port 0).
        Assert.That(text, Does.Contain("range(18000, 32768)"));
        Assert.That(text, Does.Not.Contain("bind((\"127.0.0.1\",0))"));

        int[] ports =
        [
            TestServerPorts.DefaultPostgreSql, TestServerPorts.DefaultRedis, TestServerPorts.DefaultRedis + 1, TestServerPorts.DefaultRedis + 2,
            TestServerPorts.DefaultBenchPostgreSql, TestServerPorts.DefaultBenchRedis,
        ];
        Assert.That(ports, Is.Unique, "a bench run beside a test run (or a fault drill) must not share a server's port");
        Assert.That(ports, Has.All.LessThan(TestServerPorts.EphemeralRangeStart));
    }

    [Test]
    public void No_script_or_readme_names_a_default_port_in_the_ephemeral_range()
    {
        foreach (var file in new[] { "test.sh", "tools/test-servers.sh", "bench/run.sh", "bench/fault-drill.sh", "bench/session-isolation.sh" })
        {
            foreach (Match match in ShellDefault().Matches(Read(file)))
            {
                Assert.That(int.Parse(match.Groups["port"].Value), Is.LessThan(TestServerPorts.EphemeralRangeStart), $"{file}: {match.Value}");
            }
        }
        var readme = Read("README.md");
        Assert.That(readme, Does.Contain($"127.0.0.1:{TestServerPorts.DefaultPostgreSql}").And.Contain($"127.0.0.1:{TestServerPorts.DefaultRedis}"));
    }

    private static int DefaultOf(string script, string variable)
    {
        var match = Regex.Match(script, @"\$\{" + variable + @":-(?<port>\d+)\}");
        Assert.That(match.Success, Is.True, $"no default for {variable}");
        return int.Parse(match.Groups["port"].Value);
    }

    [GeneratedRegex(@"\$\{\w*PORT\w*:-(?<port>\d+)\}")]
    private static partial Regex ShellDefault();

    private static string Read(string relativePath) => File.ReadAllText(Path.Combine(RepositoryRoot(), relativePath));

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
