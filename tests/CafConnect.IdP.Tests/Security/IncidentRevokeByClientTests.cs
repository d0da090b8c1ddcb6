extern alias cli;

using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using CafConnect.IdP.Demo;
using CafConnect.IdP.Tests.Support;
using CafConnect.Infrastructure.Audit;
using CafConnect.Infrastructure.Persistence;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace CafConnect.IdP.Tests.Security;

/// <summary>
/// <c>cafconnect incident revoke --client caf-fr</c> for real (not a dry run): only what caf-fr got in the window is
/// revoked — its authorizations and tokens, the sessions in which it was authorized, its back-channel logout — while
/// ARIPA's tokens, including those issued in the same browser session, keep working. The scenario runs once.
/// </summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
[NonParallelizable]
public sealed class IncidentRevokeByClientTests(StoreKind kind)
{
    private const string Issuer = "http://localhost/";
    private const string AripaScope = "openid profile caf"; // ARIPA is not registered for offline_access

    private readonly ManualClock _clock = new();
    private TestStore _store = null!;
    private CafConnectFactory _host = null!;
    private BackchannelLogoutReceiver _relyingParties = null!;
    private string _configFile = null!;

    private CookieContainer _jeanneCookies = null!, _marcCookies = null!;
    private TokenSet _jeanneCafFr = null!, _jeanneAripa = null!, _marcAripa = null!;
    private Guid _jeanneId;
    private (int ExitCode, string Out, string Err) _run;

    [OneTimeSetUp]
    public async Task RunScenarioAsync()
    {
        _store = TestStore.Create(kind);
        _host = new CafConnectFactory(_store, configureServices: s => s.AddSingleton<TimeProvider>(_clock));
        _ = _host.Server;
        _relyingParties = await BackchannelLogoutReceiver.StartAsync();
        _configFile = IncidentRevokeTests.WriteCliConfig(_store);
        // Both clients can be told: only caf-fr must be.
        foreach (var client in new[] { TestClient.CafFr, TestClient.Aripa })
        {
            var registered = await Cli("clients", "update", "--id", client.ClientId, "--backchannel-logout-uri", _relyingParties.LogoutUri);
            Assert.That(registered.ExitCode, Is.Zero, registered.Err);
        }

        _clock.Advance(TimeSpan.FromSeconds(2));
        var from = _clock.GetUtcNow();
        _clock.Advance(TimeSpan.FromSeconds(1));

        // Jeanne signs in at caf-fr, then ARIPA gets its own code silently in the same browser session.
        _jeanneCookies = new CookieContainer();
        var jeanne = new OidcDriver(_host.CreateBrowser(_jeanneCookies));
        _jeanneCafFr = await jeanne.SignInAndRedeemAsync(TestClient.CafFr, DemoData.JeanneDupont.Nir!, DemoData.JeanneDupont.Password);
        var pkce = Pkce.Create();
        var silent = OidcDriver.ToAuthorizationResponse(await jeanne.AuthorizeAsync(OidcDriver.AuthorizationParameters(TestClient.Aripa, pkce, AripaScope)));
        _jeanneAripa = await OidcDriver.ReadTokensAsync(await jeanne.RedeemCodeAsync(TestClient.Aripa, silent["code"]!, pkce.Verifier));
        // Marc signs in at ARIPA only.
        _marcCookies = new CookieContainer();
        _marcAripa = await new OidcDriver(_host.CreateBrowser(_marcCookies)).SignInAndRedeemAsync(TestClient.Aripa, DemoData.MarcDupont.Nir!, DemoData.MarcDupont.Password, AripaScope);

        _clock.Advance(TimeSpan.FromSeconds(1));
        var to = _clock.GetUtcNow();
        _clock.Advance(TimeSpan.FromSeconds(2));
        _jeanneId = await WithDbAsync(db => db.Persons.Where(p => p.Nir == DemoData.JeanneDupont.Nir).Select(p => p.Id).SingleAsync());

        _run = await Cli("incident", "revoke", "--from", from.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ"), "--to", to.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ"),
            "--client", TestClient.CafFr.ClientId, "--issuer", Issuer);
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        if (_relyingParties is not null) await _relyingParties.DisposeAsync();
        if (_host is not null) await _host.DisposeAsync();
        if (_store is not null) await _store.DisposeAsync();
        if (_configFile is not null && File.Exists(_configFile)) File.Delete(_configFile);
    }

    [Test]
    public async Task The_clients_tokens_are_revoked_and_cannot_be_refreshed()
    {
        Assert.That(_run.ExitCode, Is.Zero, _run.Out + _run.Err);
        Assert.That(await IntrospectActiveAsync(TestClient.CafFr, _jeanneCafFr.AccessToken), Is.False, "caf-fr's access token");
        var refused = await new OidcDriver(_host.CreateBrowser()).RefreshAsync(TestClient.CafFr, _jeanneCafFr.RefreshToken!);
        var body = await refused.Content.ReadAsStringAsync();
        Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), body);
        Assert.That(JsonDocument.Parse(body).RootElement.GetProperty("error").GetString(), Is.EqualTo("invalid_grant"));
    }

    [Test]
    public async Task Another_clients_tokens_keep_working_even_those_issued_in_the_same_session()
    {
        Assert.That(_run.ExitCode, Is.Zero, _run.Out + _run.Err);
        var userInfoJeanne = await new OidcDriver(_host.CreateBrowser()).UserInfoAsync(_jeanneAripa.AccessToken);
        var userInfoMarc = await new OidcDriver(_host.CreateBrowser()).UserInfoAsync(_marcAripa.AccessToken);
        var jeanneActive = await IntrospectActiveAsync(TestClient.Aripa, _jeanneAripa.AccessToken);
        var marcActive = await IntrospectActiveAsync(TestClient.Aripa, _marcAripa.AccessToken);
        Assert.Multiple(() =>
        {
            Assert.That(jeanneActive, Is.True, "ARIPA's token of Jeanne's session");
            Assert.That(marcActive, Is.True, "ARIPA's token of Marc");
            Assert.That(userInfoJeanne.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(userInfoMarc.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        });
    }

    [Test]
    public async Task Only_the_sessions_the_client_was_authorized_in_end()
    {
        Assert.That(_run.ExitCode, Is.Zero, _run.Out + _run.Err);
        Assert.That(Regex.Replace(_run.Out, @"\s+", " "), Does.Contain("Revoked 1 session(s)"));
        Assert.That(await SessionAliveAsync(_jeanneCookies), Is.False, "caf-fr was authorized in Jeanne's session");
        Assert.That(await SessionAliveAsync(_marcCookies), Is.True, "Marc's session only served ARIPA");
    }

    [Test]
    public async Task Only_the_client_is_sent_a_logout_token_and_only_its_links_are_marked()
    {
        Assert.That(_run.ExitCode, Is.Zero, _run.Out + _run.Err);
        var tokens = _relyingParties.Tokens;
        Assert.That(tokens, Has.Count.EqualTo(1), "one session at caf-fr; nothing to ARIPA");
        var payload = JsonNode.Parse(Encoding.UTF8.GetString(Microsoft.IdentityModel.Tokens.Base64UrlEncoder.DecodeBytes(tokens[0].Split('.')[1])))!;
        Assert.That(payload["aud"]!.ToJsonString(), Does.Contain(TestClient.CafFr.ClientId).And.Not.Contain(TestClient.Aripa.ClientId));

        var links = await WithDbAsync(db => db.ProviderSessionClients.AsNoTracking()
            .Where(l => db.ProviderSessions.Any(s => s.Id == l.SessionId && s.PersonId == _jeanneId))
            .Select(l => new { l.ClientId, Delivered = l.LogoutDeliveredAt != null }).ToListAsync());
        Assert.That(links.Select(l => (l.ClientId, l.Delivered)), Is.EquivalentTo(new[] { (TestClient.CafFr.ClientId, true), (TestClient.Aripa.ClientId, false) }));
        var row = await WithDbAsync(db => db.AuditEvents.AsNoTracking().SingleAsync(e => e.Type == AuditEventTypes.IncidentRevoked));
        Assert.That(row.Details, Does.Contain("client=caf-fr"));
    }

    // ---- plumbing ----

    private async Task<T> WithDbAsync<T>(Func<CafConnectDbContext, Task<T>> query)
    {
        using var scope = _host.Services.CreateScope();
        return await query(scope.ServiceProvider.GetRequiredService<CafConnectDbContext>());
    }

    /// <summary>Asks "Mon compte" with a copy of the cookies (a refused cookie would be deleted from the original).</summary>
    private async Task<bool> SessionAliveAsync(CookieContainer cookies)
    {
        var copy = new CookieContainer();
        foreach (Cookie cookie in cookies.GetAllCookies())
        {
            copy.Add(new Cookie(cookie.Name, cookie.Value, cookie.Path, cookie.Domain));
        }
        return (await _host.CreateBrowser(copy).GetAsync("/mon-compte")).StatusCode == HttpStatusCode.OK;
    }

    /// <summary>Introspected by the token's own client (a token is shown to its audiences and presenters only).</summary>
    private async Task<bool> IntrospectActiveAsync(TestClient client, string accessToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/connect/introspect")
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["token"] = accessToken }),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{client.ClientId}:{client.Secret}")));
        var response = await _host.CreateClient().SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), body);
        return JsonDocument.Parse(body).RootElement.GetProperty("active").GetBoolean();
    }

    private async Task<(int ExitCode, string Out, string Err)> Cli(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var exit = await cli::CafConnect.Cli.CafConnectCli.RunAsync([.. args, "--config", _configFile], stdout, stderr);
        await TestContext.Out.WriteLineAsync($"$ cafconnect {string.Join(' ', args)}\nexit {exit}\n{stdout}\n{stderr}");
        return (exit, stdout.ToString(), stderr.ToString());
    }
}
