using CafConnect.Infrastructure.Tests.Support;
using CafConnect.Infrastructure.Tests.Verification;
using CafConnect.Infrastructure.Throttling;
using StackExchange.Redis;

namespace CafConnect.Infrastructure.Tests.Throttling;

public sealed class InMemoryThrottleStoreTests : ThrottleStoreContract
{
    protected override IThrottleStore CreateStore(LoginThrottleOptions options) => new InMemoryThrottleStore(options, Clock);
}

/// <summary>
/// The same contract against a real Redis (<c>CAFCONNECT_TEST_REDIS</c>), under a prefix of this fixture deleted at the
/// end. The store compares timestamps from the fake clock; Redis TTLs (real time) only collect garbage, checked below
/// with a retention of one second.
/// </summary>
[NonParallelizable]
public sealed class RedisThrottleStoreTests : ThrottleStoreContract
{
    private readonly string _prefix = $"cafconnect-test:{Guid.NewGuid():N}:thr:";
    private readonly RotatableMacKeys _macKeys = new();
    private ConnectionMultiplexer _redis = null!;

    [OneTimeSetUp]
    public async Task Connect() => _redis = await ConnectionMultiplexer.ConnectAsync(TestServers.Require(TestServers.RedisVariable, "Redis"));

    [OneTimeTearDown]
    public async Task Disconnect()
    {
        if (_redis is null)
        {
            return;
        }
        foreach (var key in Keys())
        {
            await _redis.GetDatabase().KeyDeleteAsync(key);
        }
        await _redis.DisposeAsync();
    }

    protected override IThrottleStore CreateStore(LoginThrottleOptions options)
    {
        options.KeyPrefix = _prefix;
        return new RedisThrottleStore(_redis, options, _macKeys, Clock);
    }

    private List<RedisKey> Keys() =>
        _redis.GetEndPoints().SelectMany(e => _redis.GetServer(e).Keys(pattern: _prefix + "*")).ToList();

    [Test]
    public async Task Redis_names_IPs_only_by_an_HMAC_and_every_key_expires()
    {
        var store = Store();
        var ip = "192.0.2.77";
        var account = NewAccount();
        for (var i = 0; i < 31; i++)
        {
            await store.BeginAsync(i == 0 ? account : null, ip);
        }

        var keys = Keys().Select(k => (string)k!).ToList();
        Assert.Multiple(async () =>
        {
            Assert.That(keys, Has.Some.Contains(":ipblock:"));
            Assert.That(keys, Has.Some.EqualTo(_prefix + "acct:" + account));
            Assert.That(keys.Where(k => k.Contains("192.0.2", StringComparison.Ordinal)), Is.Empty, "no IP in clear");
            foreach (var key in keys)
            {
                Assert.That(await _redis.GetDatabase().KeyTimeToLiveAsync(key), Is.Not.Null.And.GreaterThan(TimeSpan.Zero), key);
            }
        });
    }

    [Test]
    public async Task Account_counters_vanish_from_Redis_after_their_retention()
    {
        var store = CreateStore(new LoginThrottleOptions { AccountStateRetention = TimeSpan.FromSeconds(1) });
        var account = NewAccount();
        await store.BeginAsync(account, "192.0.2.78");
        Assert.That(await _redis.GetDatabase().KeyExistsAsync(_prefix + "acct:" + account), Is.True);

        await Task.Delay(TimeSpan.FromSeconds(1.5));

        Assert.That(await _redis.GetDatabase().KeyExistsAsync(_prefix + "acct:" + account), Is.False);
    }
}
