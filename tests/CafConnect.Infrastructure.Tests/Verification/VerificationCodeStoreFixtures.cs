using CafConnect.Infrastructure.Tests.Support;
using CafConnect.Infrastructure.Verification;
using StackExchange.Redis;

namespace CafConnect.Infrastructure.Tests.Verification;

public sealed class InMemoryVerificationCodeStoreTests : VerificationCodeStoreContract
{
    protected override IVerificationCodeStore CreateStore(VerificationCodeOptions options, CodeMac mac) =>
        new InMemoryVerificationCodeStore(options, mac, Clock);
}

/// <summary>
/// The same contract against a real Redis (<c>CAFCONNECT_TEST_REDIS</c>, e.g. 127.0.0.1:16379). Keys go under a prefix
/// of this fixture, deleted at the end. Expiry uses Redis's own TTLs: lifetimes of 1 s (SMS) and 2 s (e-mail), and real waits.
/// </summary>
[NonParallelizable]
public sealed class RedisVerificationCodeStoreTests : VerificationCodeStoreContract
{
    private readonly string _prefix = $"cafconnect-test:{Guid.NewGuid():N}:vc:";
    private ConnectionMultiplexer _redis = null!;

    [OneTimeSetUp]
    public async Task Connect()
    {
        var configuration = TestServers.Require(TestServers.RedisVariable, "Redis");
        _redis = await ConnectionMultiplexer.ConnectAsync(configuration);
    }

    [OneTimeTearDown]
    public async Task Disconnect()
    {
        if (_redis is null)
        {
            return;
        }
        var database = _redis.GetDatabase();
        foreach (var key in Keys())
        {
            await database.KeyDeleteAsync(key);
        }
        await _redis.DisposeAsync();
    }

    protected override IVerificationCodeStore CreateStore(VerificationCodeOptions options, CodeMac mac) =>
        new RedisVerificationCodeStore(_redis, options, mac, Clock, _prefix);

    protected override VerificationCodeOptions ExpiryOptions() => new()
    {
        SmsLifetime = TimeSpan.FromSeconds(1),
        EmailLifetime = TimeSpan.FromSeconds(2),
    };

    protected override async Task ElapseAsync(TimeSpan span)
    {
        Clock.Advance(span);
        await Task.Delay(span);
    }

    private List<RedisKey> Keys()
    {
        var keys = new List<RedisKey>();
        foreach (var endpoint in _redis.GetEndPoints())
        {
            keys.AddRange(_redis.GetServer(endpoint).Keys(pattern: _prefix + "*"));
        }
        return keys;
    }

    [Test]
    public async Task Redis_holds_neither_a_code_nor_a_contact_in_clear_and_every_entry_expires()
    {
        var store = CreateStore(new VerificationCodeOptions(), new CodeMac(MacKeys));
        var flow = NewFlow();
        var sms = await store.IssueAsync(flow, ContactChannel.Sms, Phone);
        var email = await store.IssueAsync(flow, ContactChannel.Email, Email);
        await store.CheckAsync(flow, ContactChannel.Email, Email, Other(email.Code!));
        var database = _redis.GetDatabase();

        var forbidden = new[] { sms.Code!, email.Code!, "0612345678", "12 34 56 78", "jean.dupont", "Jean.Dupont", "exemple.fr", flow };
        var keys = Keys();
        Assert.That(keys, Has.Count.GreaterThanOrEqualTo(4), "a code and a send counter per contact");
        foreach (var key in keys)
        {
            Assert.That(forbidden.Where(f => ((string)key!).Contains(f, StringComparison.OrdinalIgnoreCase)), Is.Empty, $"key {key}");
            Assert.That(await database.KeyTimeToLiveAsync(key), Is.Not.Null.And.GreaterThan(TimeSpan.Zero), $"key {key} has a TTL");
            foreach (var entry in await database.HashGetAllAsync(key))
            {
                var bytes = (byte[])entry.Value!;
                var asText = System.Text.Encoding.Latin1.GetString(bytes);
                if (long.TryParse(asText, out _))
                {
                    // Counters and timestamps (a timestamp may contain any 6 digits by chance; the code field is binary).
                    Assert.That(entry.Name.ToString(), Is.AnyOf("a", "n", "t"), $"numeric field of {key}");
                    continue;
                }
                Assert.That(bytes, Has.Length.EqualTo(32), $"{key}/{entry.Name} is an HMAC-SHA256");
                Assert.That(forbidden.Where(f => asText.Contains(f, StringComparison.OrdinalIgnoreCase)), Is.Empty, $"{key}/{entry.Name}");
            }
        }
    }
}
