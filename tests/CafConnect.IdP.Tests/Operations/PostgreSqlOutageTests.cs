using System.Net;
using CafConnect.IdP.Demo;
using CafConnect.IdP.Tests.Support;
using CafConnect.Infrastructure.Tests.Support;

namespace CafConnect.IdP.Tests.Operations;

/// <summary>
/// PostgreSQL restarted or down under a running provider (its own cluster, which the test restarts and stops): after a
/// restart a sign-in succeeds at once (the retrying execution strategy replaces the dead pooled connections,
/// docs/decisions.md #29); while it is down a person gets the French « momentanément indisponible » page (503,
/// Retry-After), never a 500; once it is back, sign-ins succeed without restarting the provider.
/// </summary>
[NonParallelizable]
public sealed class PostgreSqlOutageTests
{
    private PrivatePostgreSqlCluster _cluster = null!;
    private TestStore _store = null!;
    private CafConnectFactory _host = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _store = TestStore.Create(StoreKind.PostgreSql);
        _cluster = await PrivatePostgreSqlCluster.StartAsync();
        _host = new CafConnectFactory(_store, new Dictionary<string, string?>
        {
            ["ConnectionStrings:CafConnect"] = _cluster.ConnectionString("cafconnect_outage"),
        });
        _ = _host.Server;
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }
        if (_store is not null)
        {
            await _store.DisposeAsync();
        }
    }

    private static void AssertSignedIn(HttpResponseMessage response, string body) =>
        Assert.That((int)response.StatusCode, Is.InRange(300, 399), $"a signed-in redirect, got {(int)response.StatusCode}: {body[..Math.Min(body.Length, 300)]}");

    [Test]
    public async Task After_PostgreSQL_restarted_a_sign_in_succeeds_on_the_first_try()
    {
        var warm = new OidcDriver(_host.CreateBrowser());
        var first = await warm.SubmitLoginAsync(new Uri("/connexion", UriKind.Relative), "2 85 03 75 112 048", DemoData.JeanneDupont.Password);
        AssertSignedIn(first, await first.Content.ReadAsStringAsync());

        await _cluster.RestartAsync();

        var person = new OidcDriver(_host.CreateBrowser());
        var response = await person.SubmitLoginAsync(new Uri("/connexion", UriKind.Relative), "2 85 03 75 112 048", DemoData.JeanneDupont.Password);
        AssertSignedIn(response, await response.Content.ReadAsStringAsync());
    }

    [Test]
    public async Task While_PostgreSQL_is_down_a_sign_in_gets_the_French_unavailable_page_and_succeeds_once_it_is_back()
    {
        var person = new OidcDriver(_host.CreateBrowser());
        var page = await person.Browser.GetAsync("/connexion");
        var html = await page.Content.ReadAsStringAsync();
        var token = System.Text.RegularExpressions.Regex.Match(html, "name=\"__RequestVerificationToken\"[^>]*value=\"([^\"]+)\"").Groups[1].Value;
        Assert.That(token, Is.Not.Empty, "the login form");

        await _cluster.StopServerAsync();
        HttpResponseMessage response;
        try
        {
            response = await person.Browser.PostAsync("/connexion", new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["Input.Identifier"] = "2 85 03 75 112 048",
                ["Input.Password"] = DemoData.JeanneDupont.Password,
                ["__RequestVerificationToken"] = token,
            }));
        }
        finally
        {
            await _cluster.StartServerAsync();
        }

        var body = WebUtility.HtmlDecode(await response.Content.ReadAsStringAsync());
        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable), body[..Math.Min(body.Length, 300)]);
            Assert.That(response.Headers.RetryAfter?.Delta, Is.EqualTo(TimeSpan.FromSeconds(30)));
            Assert.That(body, Does.Contain("Service momentanément indisponible"));
            Assert.That(body, Does.Not.Contain("Npgsql").And.Not.Contain("Exception"), "no trace, no dependency name");
        });

        var again = new OidcDriver(_host.CreateBrowser());
        var after = await again.SubmitLoginAsync(new Uri("/connexion", UriKind.Relative), "2 85 03 75 112 048", DemoData.JeanneDupont.Password);
        AssertSignedIn(after, await after.Content.ReadAsStringAsync());
    }
}
