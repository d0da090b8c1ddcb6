using System.Collections.Concurrent;
using System.Text.Json;
using StackExchange.Redis;

namespace CafConnect.Cli.Tests;

/// <summary>
/// The CLI announces each client it changes on the instances' Redis channel (docs/decisions.md #45), with the client id
/// and nothing secret; with Redis unreachable the change is stored anyway and the command succeeds (the instances then
/// apply it within their rows' 5 seconds).
/// </summary>
[TestFixture]
public sealed class ClientChangeAnnouncementCliTests
{
    private const string RedisVariable = "CAFCONNECT_TEST_REDIS";
    private TemporarySqliteStore _store = null!;
    private string _configFile = null!;

    [SetUp]
    public async Task CreateStore()
    {
        _store = new TemporarySqliteStore();
        _configFile = Path.Combine(_store.Directory, "cafconnect.json");
        Assert.That((await _store.Cli.RunAsync("db", "migrate")).ExitCode, Is.Zero);
    }

    [TearDown]
    public async Task DropStore() => await _store.DisposeAsync();

    private Task<CliResult> RunWithRedisAsync(string redisConfiguration, string channel, params string[] args)
    {
        File.WriteAllText(_configFile, JsonSerializer.Serialize(new
        {
            Redis = new { Configuration = redisConfiguration, ClientChangesChannel = channel },
        }));
        return _store.Cli.RunAsync([.. args, "--config", _configFile]);
    }

    [Test]
    public async Task Each_client_command_announces_the_client_id_and_no_secret()
    {
        var redisServer = Environment.GetEnvironmentVariable(RedisVariable);
        if (string.IsNullOrWhiteSpace(redisServer))
        {
            if (TemporaryPostgreSqlDatabase.ServersRequired)
            {
                Assert.Fail($"{RedisVariable} is not set although the servers are required.");
            }
            Assert.Ignore($"Needs Redis ({RedisVariable}; the test command sets it).");
        }
        var channel = $"cafconnect-test:{Guid.NewGuid():N}:clients-changed";
        await using var listener = await ConnectionMultiplexer.ConnectAsync(redisServer);
        var heard = new ConcurrentQueue<string>();
        await listener.GetSubscriber().SubscribeAsync(RedisChannel.Literal(channel), (_, message) => heard.Enqueue(message.ToString()));

        var added = await RunWithRedisAsync(redisServer, channel, "clients", "add", "--id", "rp-annonce", "--name", "RP", "--kind", "confidential",
            "--generate-secret", "--redirect-uri", "https://rp.example.fr/callback", "--scope", "profile");
        Assert.That(added.ExitCode, Is.Zero, added.ToString());
        var rotated = await RunWithRedisAsync(redisServer, channel, "clients", "update", "--id", "rp-annonce", "--generate-secret");
        Assert.That(rotated.ExitCode, Is.Zero, rotated.ToString());
        var removed = await RunWithRedisAsync(redisServer, channel, "clients", "remove", "--id", "rp-annonce");
        Assert.That(removed.ExitCode, Is.Zero, removed.ToString());

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (heard.Count < 3 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }
        // The client id and nothing else: no secret, no hash, no row.
        Assert.That(heard, Is.EqualTo(new[] { "rp-annonce", "rp-annonce", "rp-annonce" }), "one announcement per change: add, update, remove");
    }

    [Test]
    public async Task With_Redis_unreachable_a_client_change_is_stored_and_the_command_succeeds()
    {
        using var closed = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        closed.Start();
        var port = ((System.Net.IPEndPoint)closed.LocalEndpoint).Port;
        closed.Stop();

        var started = DateTime.UtcNow;
        var added = await RunWithRedisAsync($"127.0.0.1:{port},connectTimeout=300,asyncTimeout=300", "cafconnect:clients-changed",
            "clients", "add", "--id", "rp-sans-redis", "--name", "RP", "--kind", "confidential", "--generate-secret",
            "--redirect-uri", "https://rp.example.fr/callback", "--scope", "profile");

        Assert.That(added.ExitCode, Is.Zero, added.ToString());
        Assert.That((await _store.Cli.RunAsync("clients", "list")).Out, Does.Contain("rp-sans-redis"), "the change is stored");
        Assert.That(DateTime.UtcNow - started, Is.LessThan(TimeSpan.FromSeconds(30)), "a missing Redis costs its timeouts, not a hang");
    }
}
