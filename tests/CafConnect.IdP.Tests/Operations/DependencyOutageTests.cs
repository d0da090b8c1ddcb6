using System.Net;
using System.Text.Json;
using CafConnect.IdP.Demo;
using CafConnect.IdP.Features.PhoneChannel;
using CafConnect.IdP.Tests.Support;

namespace CafConnect.IdP.Tests.Operations;

/// <summary>
/// Redis unreachable: a person signing in gets the French « momentanément indisponible » page (503, Retry-After), the
/// voice server's grant gets <c>temporarily_unavailable</c> (503, JSON) — never a 500, never a login let through.
/// </summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
public sealed class DependencyOutageTests(StoreKind kind)
{
    private TestStore _store = null!;
    private CafConnectFactory _host = null!;

    [OneTimeSetUp]
    public void StartWithRedisDown()
    {
        _store = TestStore.Create(kind);
        // Nothing listens there: Redis (the code and throttle store, on SQLite too once configured) is down.
        _host = new CafConnectFactory(_store, new Dictionary<string, string?>
        {
            ["Redis:Configuration"] = $"127.0.0.1:{HealthTests.FreeTcpPort()},abortConnect=false,connectTimeout=300,syncTimeout=300",
        });
        _ = _host.Server;
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        await _host.DisposeAsync();
        await _store.DisposeAsync();
    }

    [Test]
    public async Task A_login_while_Redis_is_down_gets_the_French_unavailable_page_with_Retry_After()
    {
        var person = new OidcDriver(_host.CreateBrowser());

        var response = await person.SubmitLoginAsync(new Uri("/connexion", UriKind.Relative), "2 85 03 75 112 048", DemoData.JeanneDupont.Password);

        var html = WebUtility.HtmlDecode(await response.Content.ReadAsStringAsync());
        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
            Assert.That(response.Headers.RetryAfter?.Delta, Is.EqualTo(TimeSpan.FromSeconds(30)));
            Assert.That(html, Does.Contain("Service momentanément indisponible").And.Contain("réessayez dans quelques minutes"));
            Assert.That(html, Does.Not.Contain("Redis").And.Not.Contain("Exception"), "no trace, no dependency name");
            Assert.That(response.Headers.Contains("Set-Cookie") && response.Headers.GetValues("Set-Cookie").Any(c => c.Contains("cafconnect.session")), Is.False,
                "nobody is signed in without the throttle");
        });
    }

    [Test]
    public async Task The_voice_server_s_grant_while_Redis_is_down_gets_temporarily_unavailable()
    {
        var driver = new OidcDriver(_host.CreateBrowser());
        var voiceServer = new TestClient("serveur-vocal", "demo-secret-serveur-vocal-not-for-production", "http://127.0.0.1:5300/callback", null);

        var response = await driver.TokenRequestAsync(voiceServer, new Dictionary<string, string>
        {
            ["grant_type"] = LegacyCodeGrant.GrantType,
            [LegacyCodeGrant.FileNumberParameter] = "0412345",
            [LegacyCodeGrant.CodeParameter] = DemoData.MartinLegacyCode,
            ["scope"] = "caf",
        });

        var body = await response.Content.ReadAsStringAsync();
        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable), body);
            Assert.That(response.Headers.RetryAfter?.Delta, Is.EqualTo(TimeSpan.FromSeconds(30)));
            Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/json"));
            Assert.That(JsonDocument.Parse(body).RootElement.GetProperty("error").GetString(), Is.EqualTo("temporarily_unavailable"));
            Assert.That(body, Does.Not.Contain("access_token"));
        });
    }
}

/// <summary>Which Redis refusals are an outage (503) rather than a bug (500), without a server.</summary>
public sealed class RedisFailoverRefusalTests
{
    [TestCase("READONLY You can't write against a read only replica.", true, TestName = "A write on the old primary during a Sentinel failover: outage")]
    [TestCase("LOADING Redis is loading the dataset in memory", true, TestName = "A node still loading: outage")]
    [TestCase("MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.", true, TestName = "No reachable primary: outage")]
    [TestCase("ERR wrong number of arguments for 'hset' command", false, TestName = "A wrong command: a bug, 500")]
    public void A_Redis_refusal_is_an_outage_only_when_it_comes_from_a_failover(string message, bool outage)
    {
        var exception = new StackExchange.Redis.RedisServerException(message);
        Assert.Multiple(() =>
        {
            Assert.That(CafConnect.IdP.Operations.DependencyOutage.IsOutage(exception), Is.EqualTo(outage));
            Assert.That(CafConnect.IdP.Operations.DependencyOutage.StatusCodeFor(new InvalidOperationException("wrapped", exception)), Is.EqualTo(outage ? 503 : 500));
        });
    }
}
