using System.Net;
using System.Text.Json;
using CafConnect.IdP.Tests.Support;
using CafConnect.Infrastructure.Audit;
using CafConnect.Infrastructure.Persistence;
using Microsoft.AspNetCore.Hosting;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace CafConnect.IdP.Tests.Security;

/// <summary>
/// <c>ReverseProxy:TrustedProxies</c> / <c>TrustedNetworks</c>: the client address (per-IP throttling, audit) and
/// the scheme come from <c>X-Forwarded-For</c> / <c>X-Forwarded-Proto</c> only when the immediate peer is a trusted
/// proxy, and only the entry that proxy added. The peer address is set with <see cref="TestClientIp"/>.
/// </summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
public sealed class ForwardedHeadersTests(StoreKind kind)
{
    private const string TrustedProxy = "10.0.0.5";
    private const string PeerInTrustedNetwork = "192.168.50.7";
    private const string UntrustedPeer = "198.51.100.7";
    private const string Client = "203.0.113.9";

    private TestStore _store = null!;
    private CafConnectFactory _behindProxy = null!;
    private CafConnectFactory _withoutProxySettings = null!;

    [OneTimeSetUp]
    public void Start()
    {
        _store = TestStore.Create(kind);
        _behindProxy = new CafConnectFactory(_store, new Dictionary<string, string?>
        {
            ["ReverseProxy:TrustedProxies:0"] = TrustedProxy,
            ["ReverseProxy:TrustedNetworks:0"] = "192.168.50.0/24",
        }, services => services.AddSingleton<IStartupFilter, TestClientIp>());
        _withoutProxySettings = new CafConnectFactory(_store, configureServices: services => services.AddSingleton<IStartupFilter, TestClientIp>());
        _ = _behindProxy.Server;
        _ = _withoutProxySettings.Server;
    }

    [OneTimeTearDown]
    public async Task Stop()
    {
        await _behindProxy.DisposeAsync();
        await _withoutProxySettings.DisposeAsync();
        await _store.DisposeAsync();
    }

    [TestCase(TrustedProxy, Client, TestName = "Forwarded client IP is used when the peer is a trusted proxy")]
    [TestCase(PeerInTrustedNetwork, Client, TestName = "Forwarded client IP is used when the peer is in a trusted network")]
    [TestCase(UntrustedPeer, UntrustedPeer, TestName = "Forwarded client IP is ignored when the peer is not trusted")]
    public async Task The_audited_IP_of_a_login_is_the_forwarded_one_only_behind_a_trusted_proxy(string peer, string expected)
    {
        Assert.That(await AuditedLoginIpAsync(_behindProxy, peer, Client), Is.EqualTo(expected));
    }

    [Test]
    public async Task Only_the_entry_added_by_the_trusted_proxy_is_believed_not_what_the_client_put_in_front()
    {
        // A client sends "X-Forwarded-For: 6.6.6.6"; nginx appends the address it saw: only that last one counts.
        Assert.That(await AuditedLoginIpAsync(_behindProxy, TrustedProxy, "6.6.6.6, " + Client), Is.EqualTo(Client));
    }

    [Test]
    public async Task Without_trusted_proxies_configured_forwarded_headers_are_ignored()
    {
        Assert.That(await AuditedLoginIpAsync(_withoutProxySettings, TrustedProxy, Client), Is.EqualTo(TrustedProxy));
    }

    [TestCase(TrustedProxy, "https://localhost/", TestName = "Forwarded scheme is used when the peer is a trusted proxy")]
    [TestCase(UntrustedPeer, "http://localhost/", TestName = "Forwarded scheme is ignored when the peer is not trusted")]
    public async Task The_issuer_takes_the_forwarded_scheme_only_from_a_trusted_proxy(string peer, string expectedIssuer)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/.well-known/openid-configuration");
        request.Headers.Add(TestClientIp.Header, peer);
        request.Headers.Add("X-Forwarded-For", Client);
        request.Headers.Add("X-Forwarded-Proto", "https");

        var response = await _behindProxy.CreateClient().SendAsync(request);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        var issuer = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("issuer").GetString();
        Assert.That(issuer, Is.EqualTo(expectedIssuer));
    }

    /// <summary>A wrong password from <paramref name="peer"/> carrying <paramref name="forwardedFor"/>; returns the IP of its audit row.</summary>
    private async Task<string?> AuditedLoginIpAsync(CafConnectFactory host, string peer, string forwardedFor)
    {
        var browser = host.CreateBrowser();
        browser.DefaultRequestHeaders.Add(TestClientIp.Header, peer);
        browser.DefaultRequestHeaders.Add("X-Forwarded-For", forwardedFor);
        var marker = "Test-" + Guid.NewGuid().ToString("N");
        browser.DefaultRequestHeaders.UserAgent.ParseAdd(marker);

        var response = await new OidcDriver(browser).SubmitLoginAsync(new Uri("/connexion", UriKind.Relative), "2920769383017", "PasLeBon123");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), "a wrong password shows the form again");
        using var scope = host.Services.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<CafConnectDbContext>();
        var row = await db.AuditEvents.AsNoTracking().SingleAsync(e => e.Type == AuditEventTypes.LoginFailed && e.UserAgent == marker);
        return row.IpAddress;
    }
}
