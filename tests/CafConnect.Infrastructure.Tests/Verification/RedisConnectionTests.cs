using System.Net;
using CafConnect.Infrastructure.Verification;

namespace CafConnect.Infrastructure.Tests.Verification;

/// <summary>
/// <c>Redis:Configuration</c> through Sentinel (the production shape, docs/operations.md): the Sentinels and the service
/// name are understood, and the connection keeps retrying in the background rather than failing start-up. The failover
/// itself is drilled by bench/fault-drill.sh (primary killed, replica promoted, instances follow).
/// </summary>
public sealed class RedisConnectionTests
{
    [Test]
    public void A_Sentinel_configuration_names_the_service_and_its_Sentinels_and_never_aborts_on_a_failed_connect()
    {
        var options = RedisConnection.Options("10.0.0.1:26379,10.0.0.2:26379,serviceName=cafconnect,connectTimeout=2000");

        Assert.Multiple(() =>
        {
            Assert.That(options.ServiceName, Is.EqualTo("cafconnect"));
            Assert.That(options.EndPoints.Cast<IPEndPoint>().Select(e => e.ToString()), Is.EquivalentTo(new[] { "10.0.0.1:26379", "10.0.0.2:26379" }));
            Assert.That(options.AbortOnConnectFail, Is.False, "a Sentinel or primary down at start-up must not stop the host");
            Assert.That(options.ConnectTimeout, Is.EqualTo(2000));
        });
    }

    [Test]
    public void An_explicit_abortConnect_is_kept() =>
        Assert.That(RedisConnection.Options("127.0.0.1:6379,abortConnect=true").AbortOnConnectFail, Is.True);
}
