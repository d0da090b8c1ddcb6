using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using CafConnect.Domain.Accounts;
using CafConnect.IdP.Features.Kiosk;
using CafConnect.IdP.Protocol;
using CafConnect.IdP.Tests.Features.FirstLogin;
using CafConnect.IdP.Tests.Support;
using CafConnect.Infrastructure.Audit;
using CafConnect.Infrastructure.Clients;
using CafConnect.Infrastructure.Persistence;
using CafConnect.Infrastructure.Security;
using Microsoft.AspNetCore.Hosting;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using OpenIddict.Abstractions;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace CafConnect.IdP.Tests.Features.Kiosk;

/// <summary>
/// The kiosk grant's source budget (docs/decisions.md #40): every kiosk of an office reaches the provider through its
/// backend's one address, so the authenticated kiosk client spends a budget of its own (<c>Kiosk:ClientBudget</c>)
/// instead of the per-IP one of browsers — which the web login keeps — while the account's counters stay the web
/// login's. And nobody else can spend (or exhaust) that budget: not a browser, not a wrong secret, not a public client.
/// </summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
public sealed class KioskSourceBudgetTests(StoreKind kind)
{
    private const string WrongPassword = "PasLeBon123";
    private const string WebWrongCredentials = "Le numéro de Sécurité sociale ou le mot de passe est incorrect.";

    /// <summary>The per-IP budget of browsers (<c>Throttling:IpMaxFailures</c>, its default).</summary>
    private const int IpMaxFailures = 30;

    /// <summary>Above the per-IP budget, small enough to spend in a test; each budget test uses kiosk clients of its own.</summary>
    private const int KioskClientBudget = 45;

    private static readonly TimeSpan KioskClientBlock = TimeSpan.FromMinutes(5);

    private static int _next = 400;

    private ManualClock _clock = null!;
    private JourneyHost _host = null!;

    private CafConnectFactory Host => _host.Host;

    [OneTimeSetUp]
    public void StartHost()
    {
        _clock = new ManualClock();
        _host = JourneyHost.Start(kind, new Dictionary<string, string?>
        {
            ["Notifications:FileSink:Directory"] = Path.Combine(Path.GetTempPath(), "cafconnect-tests", "outbox-" + Guid.NewGuid().ToString("N")),
            [$"Kiosk:{nameof(KioskOptions.ClientBudget)}"] = KioskClientBudget.ToString(CultureInfo.InvariantCulture),
            [$"Kiosk:{nameof(KioskOptions.ClientBlockDuration)}"] = "00:05:00",
        }, services =>
        {
            services.AddSingleton<TimeProvider>(_clock);
            services.AddSingleton<IStartupFilter, TestClientIp>();
        });
    }

    [OneTimeTearDown]
    public async Task StopHost()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }
    }

    /// <summary>An address of this test alone: the kiosk backend's, or a browser's.</summary>
    private static string NewIp() => $"198.19.{Interlocked.Increment(ref _next) % 250}.{Random.Shared.Next(1, 250)}";

    /// <summary>A NIR nobody holds, a different one each time (each spends its own claimed-identity budget once).</summary>
    private static string UnknownNir()
    {
        var n = Interlocked.Increment(ref _next);
        return "1991299" + (n / 900 % 900 + 100).ToString(CultureInfo.InvariantCulture) + (n % 900 + 100).ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>A kiosk client of this test alone: confidential, holding the kiosk grant, so a budget of its own.</summary>
    private async Task<TestClient> NewKioskClientAsync()
    {
        var client = new TestClient("borne-" + Guid.NewGuid().ToString("N")[..8], "secret-de-test-" + Guid.NewGuid().ToString("N"), "http://127.0.0.1:5200/callback", null);
        using var scope = Host.Services.CreateScope();
        await scope.ServiceProvider.GetRequiredService<ClientAdministration>().AddAsync(new ClientRegistration
        {
            ClientId = client.ClientId,
            DisplayName = "Borne de test",
            Kind = ClientKind.Confidential,
            ClientSecret = client.Secret,
            RedirectUris = [client.RedirectUri],
            Scopes = [CafScopes.Caf],
            ExtraGrantTypes = [IdentifierPasswordGrantTests.GrantType],
        });
        return client;
    }

    private async Task<(PersonAccount Person, string Nir, string Password)> NewPersonAsync()
    {
        using var scope = Host.Services.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<CafConnectDbContext>();
        var hasher = scope.ServiceProvider.GetRequiredService<ISecretHasher>();
        var n = Interlocked.Increment(ref _next);
        var nir = "2910575056" + (n % 900 + 100).ToString(CultureInfo.InvariantCulture);
        var password = "Borne7Budget" + (n % 100).ToString("D2", CultureInfo.InvariantCulture);
        var person = new PersonAccount
        {
            Nir = nir,
            GivenNames = "Budget",
            BirthName = "BORNE" + n,
            MobilePhone = "+33698" + n.ToString("D6", CultureInfo.InvariantCulture),
            MobilePhoneVerified = true,
            PasswordHash = hasher.Hash(password),
            CredentialKind = CredentialKind.Personal,
            PasswordSetAt = _clock.GetUtcNow() - TimeSpan.FromDays(1),
            AcceptedTermsVersion = 1,
        };
        db.Persons.Add(person);
        await db.SaveChangesAsync();
        return (person, nir, password);
    }

    private HttpClient BrowserFrom(string ip)
    {
        var browser = Host.CreateBrowser();
        browser.DefaultRequestHeaders.Add(TestClientIp.Header, ip);
        return browser;
    }

    private static Dictionary<string, string> KioskForm(string identifier, string password) => new()
    {
        ["grant_type"] = IdentifierPasswordGrantTests.GrantType,
        ["identifier"] = identifier,
        ["password"] = password,
    };

    private Task<HttpResponseMessage> KioskAsync(TestClient client, string identifier, string password, string ip) =>
        new OidcDriver(BrowserFrom(ip)).TokenRequestAsync(client, KioskForm(identifier, password));

    private Task<HttpResponseMessage> WebLoginAsync(string nir, string password, string ip, string? returnUrl = null) =>
        new OidcDriver(BrowserFrom(ip)).SubmitLoginAsync(
            new Uri(returnUrl is null ? "/connexion" : "/connexion?returnUrl=" + Uri.EscapeDataString(returnUrl), UriKind.Relative), nir, password);

    private static async Task<JsonElement> AssertKioskError(HttpResponseMessage response, string cafconnectError, string what)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), what + ": " + body);
        var json = JsonDocument.Parse(body).RootElement;
        Assert.That(json.GetProperty("error").GetString(), Is.EqualTo("invalid_grant"), what + ": " + body);
        Assert.That(json.GetProperty(GrantRefusals.CafConnectErrorParameter).GetString(), Is.EqualTo(cafconnectError), what + ": " + body);
        return json;
    }

    private static async Task AssertToken(HttpResponseMessage response, string what)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), what + ": " + body);
        Assert.That(JsonDocument.Parse(body).RootElement.GetProperty("access_token").GetString(), Is.Not.Empty, what);
    }

    /// <summary><paramref name="count"/> wrong passwords through <paramref name="client"/>, each on a NIR nobody holds.</summary>
    private async Task KioskFailuresAsync(TestClient client, int count, string ip)
    {
        for (var i = 0; i < count; i++)
        {
            await AssertKioskError(await KioskAsync(client, UnknownNir(), WrongPassword, ip), IdentifierPasswordGrant.InvalidCredentials, $"kiosk failure {i + 1}");
        }
    }

    private async Task<List<AuditEvent>> AuditOfAsync(Guid personId)
    {
        using var scope = Host.Services.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<CafConnectDbContext>();
        return await db.AuditEvents.AsNoTracking().Where(e => e.PersonId == personId).OrderBy(e => e.Id).ToListAsync();
    }

    [Test]
    public async Task More_failures_from_a_kiosk_client_than_the_IP_budget_allows_do_not_block_its_kiosks()
    {
        var backend = NewIp(); // every kiosk of the office leaves through the backend's one address
        var kiosk = await NewKioskClientAsync();
        var (_, nir, password) = await NewPersonAsync();

        var failures = IpMaxFailures + 10;
        Assert.That(failures, Is.GreaterThan(IpMaxFailures).And.LessThan(KioskClientBudget), "the premise: past the IP budget, within the client's");
        await KioskFailuresAsync(kiosk, failures, backend);

        await AssertToken(await KioskAsync(kiosk, nir, password, backend), "a person typing the right password at a kiosk of the office");
    }

    [Test]
    public async Task A_kiosk_clients_spent_budget_answers_account_locked_with_retry_after_for_that_client_only_until_its_block_ends()
    {
        var backend = NewIp();
        var kiosk = await NewKioskClientAsync();
        var (person, nir, password) = await NewPersonAsync();
        await KioskFailuresAsync(kiosk, KioskClientBudget, backend);

        var refused = await AssertKioskError(await KioskAsync(kiosk, nir, password, backend), IdentifierPasswordGrant.AccountLocked, "the right password once the client's budget is spent");
        Assert.That(refused.GetProperty(IdentifierPasswordGrant.RetryAfterParameter).GetInt64(), Is.InRange(1, (long)KioskClientBlock.TotalSeconds), "seconds until the client's block ends");
        var audit = await AuditOfAsync(person.Id);
        Assert.Multiple(() =>
        {
            Assert.That(audit.Select(e => (e.Type, e.Outcome, e.Channel)), Is.EqualTo(new[] { (AuditEventTypes.LoginFailed, (string?)"throttled", (string?)IdentifierPasswordGrant.Channel) }));
            Assert.That(audit.Single().Details, Is.EqualTo("scope=client"));
            Assert.That(audit.Single().ClientId, Is.EqualTo(kiosk.ClientId));
        });

        // Another kiosk client, behind the same address: a budget of its own, and the person's account was not counted against.
        await AssertToken(await KioskAsync(await NewKioskClientAsync(), nir, password, backend), "a second kiosk client");
        // The web login from the same address: the per-IP budget, untouched by the kiosk client's failures.
        Assert.That((await WebLoginAsync(nir, password, backend)).StatusCode, Is.EqualTo(HttpStatusCode.Redirect), "the web login from the backend's address");

        _clock.Advance(KioskClientBlock + TimeSpan.FromSeconds(1));
        await AssertToken(await KioskAsync(kiosk, nir, password, backend), "after the client's block");
    }

    [Test]
    public async Task The_web_login_from_the_kiosk_backends_address_keeps_the_per_IP_budget()
    {
        var backend = NewIp();
        var kiosk = await NewKioskClientAsync();
        var (_, nir, password) = await NewPersonAsync();

        for (var i = 0; i < IpMaxFailures; i++)
        {
            Assert.That(await OidcDriver.ErrorsOf(await WebLoginAsync(UnknownNir(), WrongPassword, backend)), Is.EqualTo(WebWrongCredentials), $"web failure {i + 1}");
        }
        var blocked = await WebLoginAsync(nir, password, backend);
        Assert.That(blocked.StatusCode, Is.EqualTo(HttpStatusCode.OK), "the right password refused: the address spent its budget");
        Assert.That(await OidcDriver.ErrorsOf(blocked), Is.EqualTo(WebWrongCredentials));

        // The kiosks behind that address are not blocked by the browsers' failures either.
        await AssertToken(await KioskAsync(kiosk, nir, password, backend), "a kiosk behind the blocked address");
        _clock.Advance(TimeSpan.FromMinutes(16));
    }

    [Test]
    public async Task Ten_kiosk_failures_on_one_account_still_lock_it_on_the_web()
    {
        var backend = NewIp();
        var kiosk = await NewKioskClientAsync();
        var (person, nir, password) = await NewPersonAsync();
        for (var i = 0; i < 10; i++)
        {
            await AssertKioskError(await KioskAsync(kiosk, nir, WrongPassword, backend), IdentifierPasswordGrant.InvalidCredentials, $"failure {i + 1}");
            _clock.Advance(TimeSpan.FromMinutes(2)); // past every delay before the lock
        }

        Assert.That(await OidcDriver.ErrorsOf(await WebLoginAsync(nir, password, NewIp())), Is.EqualTo(WebWrongCredentials), "the web login is locked");
        var locked = await AssertKioskError(await KioskAsync(await NewKioskClientAsync(), nir, password, backend), IdentifierPasswordGrant.AccountLocked,
            "another kiosk client: the lock is the account's, not the client's");
        Assert.That(locked.GetProperty(IdentifierPasswordGrant.RetryAfterParameter).GetInt64(), Is.InRange(60, 15 * 60));
        var audit = await AuditOfAsync(person.Id);
        Assert.That(audit.Count(e => e.Type == AuditEventTypes.AccountLocked), Is.EqualTo(1));
        Assert.That(audit.Where(e => e.Type == AuditEventTypes.LoginFailed && e.Outcome == "locked").Select(e => e.Details), Is.All.EqualTo("scope=account"));
        _clock.Advance(TimeSpan.FromMinutes(16));
    }

    [Test]
    public async Task A_browser_naming_a_kiosk_client_in_its_return_URL_still_spends_the_per_IP_budget()
    {
        var ip = NewIp();
        var kiosk = await NewKioskClientAsync();
        var (person, nir, password) = await NewPersonAsync();
        var returnUrl = $"/connect/authorize?client_id={kiosk.ClientId}&redirect_uri={Uri.EscapeDataString(kiosk.RedirectUri)}&response_type=code&scope=openid";

        for (var i = 0; i < IpMaxFailures; i++)
        {
            Assert.That(await OidcDriver.ErrorsOf(await WebLoginAsync(UnknownNir(), WrongPassword, ip, returnUrl)), Is.EqualTo(WebWrongCredentials), $"web failure {i + 1}");
        }
        var blocked = await WebLoginAsync(nir, password, ip, returnUrl);
        Assert.That(await OidcDriver.ErrorsOf(blocked), Is.EqualTo(WebWrongCredentials), "the browser's address is blocked whatever client it names");
        var audit = await AuditOfAsync(person.Id);
        Assert.That(audit.Select(e => (e.Outcome, e.Details)), Is.EqualTo(new[] { ((string?)"throttled", (string?)"scope=ip") }));

        // And the kiosk client's own budget was not spent by any of it: its whole budget is still there.
        await KioskFailuresAsync(kiosk, KioskClientBudget - 1, ip);
        await AssertToken(await KioskAsync(kiosk, nir, password, ip), "the kiosk client, within its whole budget");
        _clock.Advance(TimeSpan.FromMinutes(16));
    }

    [Test]
    public async Task A_wrong_secret_another_clients_credentials_and_a_bare_client_id_spend_nothing_of_a_kiosk_clients_budget()
    {
        var ip = NewIp();
        var kiosk = await NewKioskClientAsync();
        var other = await NewKioskClientAsync();
        var (person, nir, password) = await NewPersonAsync();
        await KioskFailuresAsync(kiosk, KioskClientBudget - 1, ip); // one failure left

        for (var i = 0; i < 5; i++)
        {
            // The kiosk's id with a wrong secret: invalid_client, nothing checked.
            var wrongSecret = await KioskAsync(kiosk with { Secret = "pas-le-secret-de-la-borne-" + i }, UnknownNir(), WrongPassword, ip);
            Assert.That(wrongSecret.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized), await wrongSecret.Content.ReadAsStringAsync());
            // The kiosk's id alone, as a public client would send it.
            var bare = await KioskAsync(kiosk with { Secret = null }, UnknownNir(), WrongPassword, ip);
            Assert.That(bare.StatusCode, Is.AnyOf(HttpStatusCode.BadRequest, HttpStatusCode.Unauthorized), await bare.Content.ReadAsStringAsync());
            Assert.That(JsonDocument.Parse(await bare.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString(), Is.EqualTo("invalid_client"));
            // Another kiosk's credentials, naming this kiosk in the form: refused, or counted as the other one's.
            using var request = new HttpRequestMessage(HttpMethod.Post, "/connect/token")
            {
                Content = new FormUrlEncodedContent(new Dictionary<string, string>(KioskForm(UnknownNir(), WrongPassword)) { ["client_id"] = kiosk.ClientId }),
            };
            request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{other.ClientId}:{other.Secret}")));
            var mixed = await BrowserFrom(ip).SendAsync(request);
            Assert.That(mixed.StatusCode, Is.Not.EqualTo(HttpStatusCode.OK), await mixed.Content.ReadAsStringAsync());
        }

        await AssertKioskError(await KioskAsync(kiosk, UnknownNir(), WrongPassword, ip), IdentifierPasswordGrant.InvalidCredentials, "the kiosk's last failure of its budget");
        await AssertKioskError(await KioskAsync(kiosk, nir, password, ip), IdentifierPasswordGrant.AccountLocked, "now the budget is spent");
        Assert.That((await AuditOfAsync(person.Id)).Single().Details, Is.EqualTo("scope=client"));
        _clock.Advance(KioskClientBlock + TimeSpan.FromSeconds(1));
    }

    [Test]
    public async Task Clients_without_the_grant_are_refused_and_a_public_client_holding_it_gets_only_the_per_IP_budget()
    {
        var ip = NewIp();
        var (_, nir, password) = await NewPersonAsync();
        foreach (var client in new[] { TestClient.CafFr, TestClient.Aripa, VoiceServer })
        {
            var response = await KioskAsync(client, nir, password, ip);
            Assert.That(JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString(), Is.EqualTo("unauthorized_client"), client.ClientId);
        }

        // A registration edited by hand (the validator refuses it) into a public client holding the grant: it authenticates
        // nothing, so it may not have a client's budget — the per-IP one of browsers applies.
        var publicKiosk = new TestClient("borne-publique-" + Guid.NewGuid().ToString("N")[..8], null, "http://127.0.0.1:5200/callback", null);
        using (var scope = Host.Services.CreateScope())
        {
            var descriptor = new OpenIddictApplicationDescriptor { ClientId = publicKiosk.ClientId, ClientType = ClientTypes.Public, DisplayName = "Borne publique" };
            descriptor.Permissions.UnionWith([Permissions.Endpoints.Token, Permissions.Prefixes.GrantType + IdentifierPasswordGrantTests.GrantType, Permissions.Prefixes.Scope + CafScopes.Caf]);
            await scope.ServiceProvider.GetRequiredService<IOpenIddictApplicationManager>().CreateAsync(descriptor);
        }
        // OpenIddict lets a public client use a grant it holds (nothing to authenticate): the handler must not trust its id.
        await KioskFailuresAsync(publicKiosk, IpMaxFailures, ip);
        await AssertKioskError(await KioskAsync(publicKiosk, nir, password, ip), IdentifierPasswordGrant.AccountLocked, "the public client's address spent the per-IP budget");
        _clock.Advance(TimeSpan.FromMinutes(16));
    }

    private static readonly TestClient VoiceServer = new("serveur-vocal", "demo-secret-serveur-vocal-not-for-production", "http://127.0.0.1:5300/callback", null);

    [Test]
    public void The_kiosk_budget_defaults_to_a_fleets_and_nonsense_is_refused_at_start_up()
    {
        var defaults = new KioskOptions();
        Assert.That(defaults.Budget, Is.EqualTo(new CafConnect.Infrastructure.Throttling.SourceBudget(300, TimeSpan.FromMinutes(10), TimeSpan.FromMinutes(5))));
        foreach (var (key, value) in new[] { ("Kiosk:ClientBudget", "0"), ("Kiosk:ClientWindow", "00:00:00"), ("Kiosk:ClientBlockDuration", "-00:01:00") })
        {
            var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { [key] = value }).Build();
            Assert.That(() => KioskOptions.FromConfiguration(configuration), Throws.InvalidOperationException, key);
        }
    }
}
