using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using CafConnect.Domain.Accounts;
using CafConnect.IdP.Demo;
using CafConnect.IdP.Features.Kiosk;
using CafConnect.IdP.Protocol;
using CafConnect.IdP.Tests.Support;
using CafConnect.Infrastructure.Audit;
using CafConnect.Infrastructure.Persistence;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace CafConnect.IdP.Tests.Features.Kiosk;

/// <summary>
/// The kiosks' identifier-password grant at the token endpoint, as a kiosk in a Caf office calls it: the login page's
/// own check (secrets, guess budget shared with the web login, audit on the channel « borne »), <c>cafconnect_error</c>
/// beside the RFC 6749 error, a short access token of that person only, refused to every client not registered for it.
/// </summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
public sealed class IdentifierPasswordGrantTests(StoreKind kind) : KioskGrantFixture(kind)
{
    public static readonly TestClient KioskClient = new("borne", "demo-secret-borne-not-for-production", "http://127.0.0.1:5200/callback", null);
    private static readonly TestClient AdminService = new("systeme-prestations", "demo-secret-systeme-prestations-not-for-production", "http://unused", null);

    private const int ConfiguredLifetimeSeconds = 180;

    // Configurable; the default (5 minutes) is KioskOptions' own.
    protected override IReadOnlyDictionary<string, string?> Settings { get; } = new Dictionary<string, string?> { ["Kiosk:AccessTokenLifetime"] = "00:03:00" };

    /// <summary>The demo kiosk by default, each request from an address of its own unless the test names one.</summary>
    private Task<HttpResponseMessage> KioskAsync(string? identifier, string? password, TestClient? client = null, string? scope = null, string? ip = null) =>
        KioskAsync(client ?? KioskClient, identifier, password, ip ?? NewIp(), scope);

    private static async Task<JsonElement> AssertError(HttpResponseMessage response, string error, string? cafconnectError, string what)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), what + ": " + body);
        var json = JsonDocument.Parse(body).RootElement;
        Assert.That(json.GetProperty("error").GetString(), Is.EqualTo(error), what + ": " + body);
        if (cafconnectError is null)
        {
            Assert.That(json.TryGetProperty(GrantRefusals.CafConnectErrorParameter, out _), Is.False, what + ": " + body);
        }
        else
        {
            Assert.That(json.GetProperty(GrantRefusals.CafConnectErrorParameter).GetString(), Is.EqualTo(cafconnectError), what + ": " + body);
        }
        Assert.That(body, Does.Not.Contain("access_token"), what);
        return json;
    }

    [Test]
    public async Task A_NIR_and_the_right_password_give_a_short_access_token_of_that_person_only()
    {
        var response = await KioskAsync("2 85 03 75 112 048", DemoData.JeanneDupont.Password);
        var json = await JsonOf(response);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), json.ToString());
        Assert.Multiple(() =>
        {
            Assert.That(json.GetProperty("token_type").GetString(), Is.EqualTo("Bearer"));
            Assert.That(json.GetProperty("expires_in").GetInt32(), Is.InRange(1, ConfiguredLifetimeSeconds), "Kiosk:AccessTokenLifetime");
            Assert.That(json.TryGetProperty("refresh_token", out _), Is.False, "no refresh token");
            Assert.That(json.TryGetProperty("id_token", out _), Is.False, "no ID token");
            Assert.That(response.Headers.CacheControl?.NoStore, Is.True);
        });

        // Userinfo: Jeanne, her own file with her own role and permissions (read from the store, as for a web token).
        var userInfo = await new OidcDriver(Host.CreateBrowser()).UserInfoAsync(json.GetProperty("access_token").GetString()!);
        var claims = await JsonOf(userInfo);
        Assert.That(userInfo.StatusCode, Is.EqualTo(HttpStatusCode.OK), claims.ToString());
        using var scope = Host.Services.CreateScope();
        var jeanne = await scope.ServiceProvider.GetRequiredService<CafConnectDbContext>().Persons.AsNoTracking().SingleAsync(p => p.Nir == DemoData.JeanneDupont.Nir);
        Assert.Multiple(() =>
        {
            Assert.That(claims.GetProperty("sub").GetString(), Is.EqualTo(jeanne.Subject));
            var file = claims.GetProperty("caf_files").EnumerateArray().Single();
            Assert.That(file.GetProperty("file_number").GetString(), Is.EqualTo("0260311"));
            Assert.That(file.GetProperty("role").GetString(), Is.EqualTo("allocataire"));
            Assert.That(file.GetProperty("permissions").GetArrayLength(), Is.GreaterThan(0));
            Assert.That(claims.ToString(), Does.Not.Contain(DemoData.JeanneDupont.Nir!), "never the NIR without the nir scope");
        });

        var audit = await AuditOfAsync(jeanne.Id);
        var last = audit.TakeLast(2).ToList();
        Assert.That(last.Select(e => (e.Type, e.Outcome, e.Channel, e.ClientId)), Is.EqualTo(new (string, string?, string?, string?)[]
        {
            (AuditEventTypes.LoginSucceeded, "pwd", IdentifierPasswordGrant.Channel, "borne"),
            (AuditEventTypes.TokenIssued, GrantType, IdentifierPasswordGrant.Channel, "borne"),
        }));
    }

    [Test]
    public async Task A_provisional_identifier_and_its_password_give_a_token()
    {
        var response = await KioskAsync(DemoData.AminaDiallo.ProvisionalId, DemoData.AminaDiallo.Password, scope: "profile caf");
        var json = await JsonOf(response);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), json.ToString());
        var userInfo = await JsonOf(await new OidcDriver(Host.CreateBrowser()).UserInfoAsync(json.GetProperty("access_token").GetString()!));
        Assert.That(userInfo.GetProperty("family_name").GetString(), Is.EqualTo("DIALLO"));
    }

    [Test]
    public async Task Offline_access_and_openid_are_never_granted_no_refresh_and_no_ID_token()
    {
        var (_, nir) = await NewPersonAsync("Kiosque7Caen");
        var response = await KioskAsync(nir, "Kiosque7Caen", scope: "openid offline_access profile");
        var json = await JsonOf(response);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), json.ToString());
        Assert.Multiple(() =>
        {
            Assert.That(json.TryGetProperty("refresh_token", out _), Is.False, "no refresh token, even asked");
            Assert.That(json.TryGetProperty("id_token", out _), Is.False, "no ID token, even asked");
        });
    }

    [Test]
    public async Task A_wrong_password_and_an_unknown_identifier_get_the_same_invalid_credentials_answer()
    {
        var (person, nir) = await NewPersonAsync("Kiosque7Caen");
        var wrong = await AssertError(await KioskAsync(nir, WrongPassword), "invalid_grant", IdentifierPasswordGrant.InvalidCredentials, "wrong password");
        var unknown = await AssertError(await KioskAsync("1 99 12 99 999 999", WrongPassword), "invalid_grant", IdentifierPasswordGrant.InvalidCredentials, "unknown NIR");
        var unknownProvisional = await AssertError(await KioskAsync("P99999998", WrongPassword), "invalid_grant", IdentifierPasswordGrant.InvalidCredentials, "unknown provisional id");
        Assert.That(unknown.ToString(), Is.EqualTo(wrong.ToString()), "identical bodies: no enumeration");
        Assert.That(unknownProvisional.ToString(), Is.EqualTo(wrong.ToString()));

        var audit = await AuditOfAsync(person.Id);
        Assert.That(audit.Select(e => (e.Type, e.Outcome, e.Channel)), Is.EqualTo(new (string, string?, string?)[]
        {
            (AuditEventTypes.LoginFailed, "wrong_password", IdentifierPasswordGrant.Channel),
        }));
    }

    [TestCase("12345", TestName = "A NIR too short is an invalid request")]
    [TestCase("P1234", TestName = "A provisional identifier too short is an invalid request")]
    [TestCase("jeanne@example.fr", TestName = "An e-mail address is an invalid request")]
    [TestCase("", TestName = "An empty identifier is an invalid request")]
    public async Task A_malformed_identifier_is_an_invalid_request_that_spends_nothing(string identifier)
    {
        await AssertError(await KioskAsync(identifier, WrongPassword), "invalid_request", null, "malformed identifier");
    }

    [Test]
    public async Task Missing_parameters_are_invalid_requests()
    {
        await AssertError(await KioskAsync(null, WrongPassword), "invalid_request", null, "no identifier");
        await AssertError(await KioskAsync(DemoData.JeanneDupont.Nir, null), "invalid_request", null, "no password");
        await AssertError(await KioskAsync(DemoData.JeanneDupont.Nir, "court"), "invalid_request", null, "password too short");
    }

    [Test]
    public async Task A_provisional_password_past_its_two_months_is_password_expired()
    {
        var (person, nir) = await NewPersonAsync("Provisoire7Brest", CredentialKind.Provisional, passwordAge: TimeSpan.FromDays(70));
        await AssertError(await KioskAsync(nir, "Provisoire7Brest"), "invalid_grant", IdentifierPasswordGrant.PasswordExpired, "expired provisional password");
        await AssertError(await KioskAsync(nir, WrongPassword), "invalid_grant", IdentifierPasswordGrant.InvalidCredentials, "a wrong one says nothing of the expiry");
        var audit = await AuditOfAsync(person.Id);
        Assert.That(audit.First().Outcome, Is.EqualTo("provisional_expired"));
    }

    [Test]
    public async Task A_legacy_code_first_login_is_first_login_required_and_no_token()
    {
        await AssertError(await KioskAsync(DemoData.PaulMartin.Nir, DemoData.MartinLegacyCode), "invalid_grant", IdentifierPasswordGrant.FirstLoginRequired, "legacy code");
    }

    [Test]
    public async Task A_valid_provisional_password_and_terms_not_accepted_are_first_login_required()
    {
        var (_, provisional) = await NewPersonAsync("Provisoire8Lille", CredentialKind.Provisional, passwordAge: TimeSpan.FromDays(3));
        await AssertError(await KioskAsync(provisional, "Provisoire8Lille"), "invalid_grant", IdentifierPasswordGrant.FirstLoginRequired, "provisional password: a new one is chosen in the browser");
        var (_, noTerms) = await NewPersonAsync("Conditions8Metz", termsAccepted: false);
        await AssertError(await KioskAsync(noTerms, "Conditions8Metz"), "invalid_grant", IdentifierPasswordGrant.FirstLoginRequired, "terms not accepted");
    }

    [Test]
    public async Task Only_a_skippable_step_pending_does_not_hold_the_kiosk_back()
    {
        // Karim has no verified contact: the web login asks for one (« Passer » possible); the kiosk signs him in.
        var response = await KioskAsync(DemoData.KarimBenali.Nir, DemoData.KarimBenali.Password);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), await response.Content.ReadAsStringAsync());
    }

    [Test]
    public async Task Ten_wrong_kiosk_attempts_lock_the_web_login_too_and_the_kiosk_is_told_account_locked_with_retry_after()
    {
        var (person, nir) = await NewPersonAsync("Verrou7Dijon");
        var ip = NewIp();
        for (var i = 0; i < 10; i++)
        {
            await AssertError(await KioskAsync(nir, WrongPassword, ip: ip), "invalid_grant", IdentifierPasswordGrant.InvalidCredentials, $"failure {i + 1}");
            Clock.Advance(TimeSpan.FromMinutes(2)); // past every delay before the lock
        }

        var locked = await AssertError(await KioskAsync(nir, "Verrou7Dijon", ip: ip), "invalid_grant", IdentifierPasswordGrant.AccountLocked, "right password, locked");
        Assert.That(locked.GetProperty("retry_after").GetInt64(), Is.InRange(60, 15 * 60), "seconds until the 15-minute lock ends");

        var web = await WebLoginAsync(nir, "Verrou7Dijon", NewIp());
        Assert.That(await OidcDriver.ErrorsOf(web), Is.EqualTo(WebWrongCredentials), "the web login is locked by the kiosk's failures");

        var audit = await AuditOfAsync(person.Id);
        Assert.That(audit.Count(e => e.Type == AuditEventTypes.AccountLocked && e.Channel == IdentifierPasswordGrant.Channel), Is.EqualTo(1), "the lock is audited on the kiosk channel");
        Clock.Advance(TimeSpan.FromMinutes(16));
    }

    [Test]
    public async Task Ten_wrong_web_attempts_lock_the_kiosk_too()
    {
        var (_, nir) = await NewPersonAsync("Verrou8Nancy");
        var ip = NewIp();
        for (var i = 0; i < 10; i++)
        {
            Assert.That(await OidcDriver.ErrorsOf(await WebLoginAsync(nir, WrongPassword, ip)), Is.EqualTo(WebWrongCredentials), $"failure {i + 1}");
            Clock.Advance(TimeSpan.FromMinutes(2));
        }

        var locked = await AssertError(await KioskAsync(nir, "Verrou8Nancy"), "invalid_grant", IdentifierPasswordGrant.AccountLocked, "right password at the kiosk after ten web failures");
        Assert.That(locked.GetProperty("retry_after").GetInt64(), Is.GreaterThan(0));
        Clock.Advance(TimeSpan.FromMinutes(16));
    }

    [Test]
    public async Task Kiosk_and_web_failures_add_up_in_one_budget()
    {
        var (_, nir) = await NewPersonAsync("Verrou9Tours");
        var ip = NewIp();
        for (var i = 0; i < 5; i++)
        {
            await AssertError(await KioskAsync(nir, WrongPassword, ip: ip), "invalid_grant", IdentifierPasswordGrant.InvalidCredentials, $"kiosk failure {i + 1}");
            Clock.Advance(TimeSpan.FromMinutes(2));
            await WebLoginAsync(nir, WrongPassword, ip);
            Clock.Advance(TimeSpan.FromMinutes(2));
        }
        await AssertError(await KioskAsync(nir, "Verrou9Tours"), "invalid_grant", IdentifierPasswordGrant.AccountLocked, "5 + 5 failures lock");
        Clock.Advance(TimeSpan.FromMinutes(16));
    }

    [Test]
    public async Task An_identifier_nobody_holds_locks_like_a_real_one_so_account_locked_reveals_nothing()
    {
        var ip = NewIp();
        const string nobody = "1991299999888";
        for (var i = 0; i < 10; i++)
        {
            await AssertError(await KioskAsync(nobody, WrongPassword, ip: ip), "invalid_grant", IdentifierPasswordGrant.InvalidCredentials, $"failure {i + 1}");
            Clock.Advance(TimeSpan.FromMinutes(2));
        }
        var locked = await AssertError(await KioskAsync(nobody, WrongPassword, ip: ip), "invalid_grant", IdentifierPasswordGrant.AccountLocked, "nobody's identifier after ten failures");
        Assert.That(locked.GetProperty("retry_after").GetInt64(), Is.InRange(60, 15 * 60));
        Clock.Advance(TimeSpan.FromMinutes(16));
    }

    [Test]
    public async Task After_three_failures_the_delay_is_account_locked_with_a_short_retry_after()
    {
        var (_, nir) = await NewPersonAsync("Delai7Rouen");
        var ip = NewIp();
        for (var i = 0; i < 3; i++)
        {
            await AssertError(await KioskAsync(nir, WrongPassword, ip: ip), "invalid_grant", IdentifierPasswordGrant.InvalidCredentials, $"failure {i + 1}");
        }
        var delayed = await AssertError(await KioskAsync(nir, "Delai7Rouen", ip: ip), "invalid_grant", IdentifierPasswordGrant.AccountLocked, "within the 1 s delay");
        Assert.That(delayed.GetProperty("retry_after").GetInt64(), Is.EqualTo(1));
        Clock.Advance(TimeSpan.FromSeconds(1));
        var response = await KioskAsync(nir, "Delai7Rouen", ip: ip);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), "after the delay: " + await response.Content.ReadAsStringAsync());
    }

    [Test]
    public async Task Clients_not_registered_for_the_grant_are_unauthorized_and_spend_nothing()
    {
        var (person, nir) = await NewPersonAsync("Client7Reims");
        foreach (var client in new[] { TestClient.CafFr, TestClient.Aripa, PhoneChannel.LegacyCodeGrantTests.VoiceServer, AdminService })
        {
            await AssertError(await KioskAsync(nir, "Client7Reims", client), "unauthorized_client", null, client.ClientId);
        }
        var publicClient = await KioskAsync(nir, "Client7Reims", TestClient.CafMobile);
        Assert.That(publicClient.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That((await JsonOf(publicClient)).GetProperty("error").GetString(), Is.AnyOf("unauthorized_client", "invalid_client"));
        // The wrong client with a wrong kiosk secret, too.
        var wrongSecret = await KioskAsync(nir, "Client7Reims", KioskClient with { Secret = "pas-le-secret-de-la-borne-0000" });
        Assert.That(wrongSecret.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized), "RFC 6749 §5.2: invalid_client is a 401");
        Assert.That((await JsonOf(wrongSecret)).GetProperty("error").GetString(), Is.EqualTo("invalid_client"));
        Assert.That(await AuditOfAsync(person.Id), Is.Empty, "no password was checked for any of them");
    }

    [Test]
    public async Task Discovery_does_not_advertise_the_kiosk_grant()
    {
        var json = JsonDocument.Parse(await Host.CreateBrowser().GetStringAsync("/.well-known/openid-configuration")).RootElement;
        var grants = json.GetProperty("grant_types_supported").EnumerateArray().Select(e => e.GetString()).ToList();
        Assert.That(grants, Does.Not.Contain(GrantType).And.Not.Contain("password"));
        Assert.That(grants, Does.Contain("authorization_code"));
    }

    [Test]
    public void The_token_lifetime_defaults_to_five_minutes_and_nonsense_is_refused_at_start_up()
    {
        Assert.That(new KioskOptions().AccessTokenLifetime, Is.EqualTo(TimeSpan.FromMinutes(5)));
        var zero = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Kiosk:AccessTokenLifetime"] = "00:00:00" }).Build();
        Assert.That(() => KioskOptions.FromConfiguration(zero), Throws.InvalidOperationException);
    }
}
