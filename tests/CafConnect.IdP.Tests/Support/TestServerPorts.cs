namespace CafConnect.IdP.Tests.Support;

/// <summary>
/// The ports of the test run's PostgreSQL and Redis (tools/test-servers.sh, started by ./test.sh): the environment's
/// <c>CAFCONNECT_TEST_PG_PORT</c> / <c>CAFCONNECT_TEST_REDIS_PORT</c>, else the scripts' defaults. Every default sits
/// below Linux's ephemeral range (32768 and up): a port of that range may be held by an outgoing connection when a
/// server starts or restarts on it (<c>PortDefaultsTests</c> checks the scripts agree).
/// </summary>
public static class TestServerPorts
{
    public const int DefaultPostgreSql = 15432;
    public const int DefaultRedis = 16379;

    /// <summary>bench/run.sh's own servers, apart from a test run's.</summary>
    public const int DefaultBenchPostgreSql = 15516;
    public const int DefaultBenchRedis = 16516;

    /// <summary>The first port of Linux's default ephemeral range (net.ipv4.ip_local_port_range).</summary>
    public const int EphemeralRangeStart = 32768;

    public static int PostgreSql => FromEnvironment("CAFCONNECT_TEST_PG_PORT", DefaultPostgreSql);

    public static int Redis => FromEnvironment("CAFCONNECT_TEST_REDIS_PORT", DefaultRedis);

    private static int FromEnvironment(string variable, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(variable), out var port) ? port : fallback;
}
