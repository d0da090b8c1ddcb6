using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using CafConnect.IdP.Features.Kiosk;
using CafConnect.IdP.Protocol;
using CafConnect.IdP.Tests.Support;
using CafConnect.Infrastructure.Audit;
using CafConnect.Infrastructure.Clients;
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
public sealed class KioskSourceBudgetTests(StoreKind kind) : KioskGrantFixture(kind)
{
    /// <summary>The password of every person these tests create.</summary>
    private const string Password = "Borne7Budget42";

    /// <summary>The per-IP budget of browsers (<c>Throttling:IpMaxFailures</c>, its default).</summary>
    private const int IpMaxFailures = 30;

    /// <summary>Above the per-IP budget, small enough to spend in a test; each budget test uses kiosk clients of its own.</summary>
    private const int KioskClientBudget = 45;

    private static readonly TimeSpan KioskClientBlock = TimeSpan.FromMinutes(5);

    protected override IReadOnlyDictionary<string, string?> Settings { get; } = new Dictionary<string, string?>
    {
        [$"Kiosk:{nameof(KioskOptions.ClientBudget)}"] = KioskClientBudget.ToString(CultureInfo.InvariantCulture),
        [$"Kiosk:{nameof(KioskOptions.ClientBlockDuration)}"] = "00:05:00",
    };

    /// <summary>A NIR nobody holds, a different one each time (each spends its own claimed-identity budget once).</summary>
    private static string UnknownNir()
    {
        var n = NextNumber();
        return "1991299" + (n / 900 % 900 + 100).ToString(CultureInfo.InvariantCulture) + (n % 900 + 100).ToString(CultureInfo.InvariantCulture);
    }

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

    [Test]
    public async Task More_failures_from_a_kiosk_client_than_the_IP_budget_allows_do_not_block_its_kiosks()
    {
        var backend = NewIp(); // every kiosk of the office leaves through the backend's one address
        var kiosk = await NewKioskClientAsync();
        var (_, nir) = await NewPersonAsync(Password);

        var failures = IpMaxFailures + 10;
        Assert.That(failures, Is.GreaterThan(IpMaxFailures).And.LessThan(KioskClientBudget), "the premise: past the IP budget, within the client's");
        await KioskFailuresAsync(kiosk, failures, backend);

        await AssertToken(await KioskAsync(kiosk, nir, Password, backend), "a person typing the right password at a kiosk of the office");
    }

    [Test]
    public async Task A_kiosk_clients_spent_budget_answers_account_locked_with_retry_after_for_that_client_only_until_its_block_ends()
    {
        var backend = NewIp();
        var kiosk = await NewKioskClientAsync();
        var (person, nir) = await NewPersonAsync(Password);
        await KioskFailuresAsync(kiosk, KioskClientBudget, backend);

        var refused = await AssertKioskError(await KioskAsync(kiosk, nir, Password, backend), IdentifierPasswordGrant.AccountLocked, "the right password once the client's budget is spent");
        Assert.That(refused.GetProperty(IdentifierPasswordGrant.RetryAfterParameter).GetInt64(), Is.InRange(1, (long)KioskClientBlock.TotalSeconds), "seconds until the client's block ends");
        var audit = await AuditOfAsync(person.Id);
        Assert.Multiple(() =>
        {
            Assert.That(audit.Select(e => (e.Type, e.Outcome, e.Channel)), Is.EqualTo(new[] { (AuditEventTypes.LoginFailed, (string?)"throttled", (string?)IdentifierPasswordGrant.Channel) }));
            Assert.That(audit.Single().Details, Is.EqualTo("scope=client"));
            Assert.That(audit.Single().ClientId, Is.EqualTo(kiosk.ClientId));
        });

        // Another kiosk client, behind the same address: a budget of its own, and the person's account was not counted against.
        await AssertToken(await KioskAsync(await NewKioskClientAsync(), nir, Password, backend), "a second kiosk client");
        // The web login from the same address: the per-IP budget, untouched by the kiosk client's failures.
        Assert.That((await WebLoginAsync(nir, Password, backend)).StatusCode, Is.EqualTo(HttpStatusCode.Redirect), "the web login from the backend's address");

        Clock.Advance(KioskClientBlock + TimeSpan.FromSeconds(1));
        await AssertToken(await KioskAsync(kiosk, nir, Password, backend), "after the client's block");
    }

    [Test]
    public async Task The_web_login_from_the_kiosk_backends_address_keeps_the_per_IP_budget()
    {
        var backend = NewIp();
        var kiosk = await NewKioskClientAsync();
        var (_, nir) = await NewPersonAsync(Password);

        for (var i = 0; i < IpMaxFailures; i++)
        {
            Assert.That(await OidcDriver.ErrorsOf(await WebLoginAsync(UnknownNir(), WrongPassword, backend)), Is.EqualTo(WebWrongCredentials), $"web failure {i + 1}");
        }
        var blocked = await WebLoginAsync(nir, Password, backend);
        Assert.That(blocked.StatusCode, Is.EqualTo(HttpStatusCode.OK), "the right password refused: the address spent its budget");
        Assert.That(await OidcDriver.ErrorsOf(blocked), Is.EqualTo(WebWrongCredentials));

        // The kiosks behind that address are not blocked by the browsers' failures either.
        await AssertToken(await KioskAsync(kiosk, nir, Password, backend), "a kiosk behind the blocked address");
        Clock.Advance(TimeSpan.FromMinutes(16));
    }

    [Test]
    public async Task Ten_kiosk_failures_on_one_account_still_lock_it_on_the_web()
    {
        var backend = NewIp();
        var kiosk = await NewKioskClientAsync();
        var (person, nir) = await NewPersonAsync(Password);
        for (var i = 0; i < 10; i++)
        {
            await AssertKioskError(await KioskAsync(kiosk, nir, WrongPassword, backend), IdentifierPasswordGrant.InvalidCredentials, $"failure {i + 1}");
            Clock.Advance(TimeSpan.FromMinutes(2)); // past every delay before the lock
        }

        Assert.That(await OidcDriver.ErrorsOf(await WebLoginAsync(nir, Password, NewIp())), Is.EqualTo(WebWrongCredentials), "the web login is locked");
        var locked = await AssertKioskError(await KioskAsync(await NewKioskClientAsync(), nir, Password, backend), IdentifierPasswordGrant.AccountLocked,
            "another kiosk client: the lock is the account's, not the client's");
        Assert.That(locked.GetProperty(IdentifierPasswordGrant.RetryAfterParameter).GetInt64(), Is.InRange(60, 15 * 60));
        var audit = await AuditOfAsync(person.Id);
        Assert.That(audit.Count(e => e.Type == AuditEventTypes.AccountLocked), Is.EqualTo(1));
        Assert.That(audit.Where(e => e.Type == AuditEventTypes.LoginFailed && e.Outcome == "locked").Select(e => e.Details), Is.All.EqualTo("scope=account"));
        Clock.Advance(TimeSpan.FromMinutes(16));
    }

    [Test]
    public async Task A_browser_naming_a_kiosk_client_in_its_return_URL_still_spends_the_per_IP_budget()
    {
        var ip = NewIp();
        var kiosk = await NewKioskClientAsync();
        var (person, nir) = await NewPersonAsync(Password);
        var returnUrl = $"/connect/authorize?client_id={kiosk.ClientId}&redirect_uri={Uri.EscapeDataString(kiosk.RedirectUri)}&response_type=code&scope=openid";

        for (var i = 0; i < IpMaxFailures; i++)
        {
            Assert.That(await OidcDriver.ErrorsOf(await WebLoginAsync(UnknownNir(), WrongPassword, ip, returnUrl)), Is.EqualTo(WebWrongCredentials), $"web failure {i + 1}");
        }
        var blocked = await WebLoginAsync(nir, Password, ip, returnUrl);
        Assert.That(await OidcDriver.ErrorsOf(blocked), Is.EqualTo(WebWrongCredentials), "the browser's address is blocked whatever client it names");
        var audit = await AuditOfAsync(person.Id);
        Assert.That(audit.Select(e => (e.Outcome, e.Details)), Is.EqualTo(new[] { ((string?)"throttled", (string?)"scope=ip") }));

        // And the kiosk client's own budget was not spent by any of it: its whole budget is still there.
        await KioskFailuresAsync(kiosk, KioskClientBudget - 1, ip);
        await AssertToken(await KioskAsync(kiosk, nir, Password, ip), "the kiosk client, within its whole budget");
        Clock.Advance(TimeSpan.FromMinutes(16));
    }

    [Test]
    public async Task A_wrong_secret_another_clients_credentials_and_a_bare_client_id_spend_nothing_of_a_kiosk_clients_budget()
    {
        var ip = NewIp();
        var kiosk = await NewKioskClientAsync();
        var other = await NewKioskClientAsync();
        var (person, nir) = await NewPersonAsync(Password);
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
            var mixed = await DriverFrom(ip).Browser.SendAsync(request);
            Assert.That(mixed.StatusCode, Is.Not.EqualTo(HttpStatusCode.OK), await mixed.Content.ReadAsStringAsync());
        }

        await AssertKioskError(await KioskAsync(kiosk, UnknownNir(), WrongPassword, ip), IdentifierPasswordGrant.InvalidCredentials, "the kiosk's last failure of its budget");
        await AssertKioskError(await KioskAsync(kiosk, nir, Password, ip), IdentifierPasswordGrant.AccountLocked, "now the budget is spent");
        Assert.That((await AuditOfAsync(person.Id)).Single().Details, Is.EqualTo("scope=client"));
        Clock.Advance(KioskClientBlock + TimeSpan.FromSeconds(1));
    }

    [Test]
    public async Task Clients_without_the_grant_are_refused_and_a_public_client_holding_it_gets_only_the_per_IP_budget()
    {
        var ip = NewIp();
        var (_, nir) = await NewPersonAsync(Password);
        foreach (var client in new[] { TestClient.CafFr, TestClient.Aripa, PhoneChannel.LegacyCodeGrantTests.VoiceServer })
        {
            var response = await KioskAsync(client, nir, Password, ip);
            Assert.That(JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString(), Is.EqualTo("unauthorized_client"), client.ClientId);
        }

        // A registration edited by hand (the validator refuses it) into a public client holding the grant: it authenticates
        // nothing, so it may not have a client's budget — the per-IP one of browsers applies.
        var publicKiosk = new TestClient("borne-publique-" + Guid.NewGuid().ToString("N")[..8], null, "http://127.0.0.1:5200/callback", null);
        using (var scope = Host.Services.CreateScope())
        {
            var descriptor = new OpenIddictApplicationDescriptor { ClientId = publicKiosk.ClientId, ClientType = ClientTypes.Public, DisplayName = "Borne publique" };
            descriptor.Permissions.UnionWith([Permissions.Endpoints.Token, Permissions.Prefixes.GrantType + GrantType, Permissions.Prefixes.Scope + CafScopes.Caf]);
            await scope.ServiceProvider.GetRequiredService<IOpenIddictApplicationManager>().CreateAsync(descriptor);
        }
        // OpenIddict lets a public client use a grant it holds (nothing to authenticate): the handler must not trust its id.
        await KioskFailuresAsync(publicKiosk, IpMaxFailures, ip);
        await AssertKioskError(await KioskAsync(publicKiosk, nir, Password, ip), IdentifierPasswordGrant.AccountLocked, "the public client's address spent the per-IP budget");
        Clock.Advance(TimeSpan.FromMinutes(16));
    }

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
