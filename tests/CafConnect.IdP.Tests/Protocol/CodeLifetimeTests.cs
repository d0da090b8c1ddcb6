using System.Net;
using System.Text.Json;
using CafConnect.IdP.Demo;
using CafConnect.IdP.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace CafConnect.IdP.Tests.Protocol;

/// <summary>
/// An authorization code lives 60 seconds. OpenIddict takes its clock from the container's <see cref="TimeProvider"/>
/// (OpenIddictServerOptions.TimeProvider, resolved from DI when unset), so the host runs on a <see cref="ManualClock"/>
/// and the test moves time instead of waiting.
/// </summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
public sealed class CodeLifetimeTests(StoreKind kind)
{
    private TestStore _store = null!;
    private CafConnectFactory _host = null!;
    private readonly ManualClock _clock = new();

    [OneTimeSetUp]
    public void Start()
    {
        _store = TestStore.Create(kind);
        _host = new CafConnectFactory(_store, configureServices: services => services.AddSingleton<TimeProvider>(_clock));
        _ = _host.Server;
    }

    [OneTimeTearDown]
    public async Task Stop()
    {
        await _host.DisposeAsync();
        await _store.DisposeAsync();
    }

    private async Task<(OidcDriver Driver, string Code, string Verifier)> SignInAsync()
    {
        var driver = new OidcDriver(_host.CreateBrowser());
        var pkce = Pkce.Create();
        var response = await driver.SignInAsync(OidcDriver.AuthorizationParameters(TestClient.CafFr, pkce), DemoData.JeanneDupont.Nir!, DemoData.JeanneDupont.Password);
        Assert.That(response["code"], Is.Not.Null);
        return (driver, response["code"]!, pkce.Verifier);
    }

    [Test]
    public async Task Code_older_than_its_lifetime_is_refused_with_invalid_grant()
    {
        var (driver, code, verifier) = await SignInAsync();

        _clock.Advance(TimeSpan.FromSeconds(61));
        var response = await driver.RedeemCodeAsync(TestClient.CafFr, code, verifier);

        var body = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), body);
        Assert.That(JsonDocument.Parse(body).RootElement.GetProperty("error").GetString(), Is.EqualTo("invalid_grant"));
    }

    [Test]
    public async Task Code_redeemed_within_its_lifetime_is_accepted()
    {
        // The control of the test above: the same code path succeeds 59 seconds after issue.
        var (driver, code, verifier) = await SignInAsync();

        _clock.Advance(TimeSpan.FromSeconds(59));
        var response = await driver.RedeemCodeAsync(TestClient.CafFr, code, verifier);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), await response.Content.ReadAsStringAsync());
    }
}
