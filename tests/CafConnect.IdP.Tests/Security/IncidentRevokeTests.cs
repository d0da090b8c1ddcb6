extern alias cli;

using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using CafConnect.Domain.Accounts;
using CafConnect.IdP.Demo;
using CafConnect.IdP.Tests.Features.Account;
using CafConnect.IdP.Tests.Features.FirstLogin;
using CafConnect.IdP.Tests.Features.Recovery;
using CafConnect.IdP.Tests.Support;
using CafConnect.Infrastructure.Audit;
using CafConnect.Infrastructure.Persistence;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace CafConnect.IdP.Tests.Security;

/// <summary>
/// <c>cafconnect incident revoke</c> end to end (docs/security.md, "Incident response"): two instances of the host
/// share one store (and Redis on PostgreSQL); people sign in before, inside and after a window; the real command runs
/// against the store — first as a dry run, then for real, then again. A stub relying party receives the back-channel
/// logout tokens over a loopback socket; they are validated by jose (node), independently of the provider's code.
/// The scenario runs once in <see cref="RunScenarioAsync"/>; each test checks one consequence.
/// </summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
[NonParallelizable]
public sealed class IncidentRevokeTests(StoreKind kind)
{
    private const string Issuer = "http://localhost/";

    private readonly ManualClock _clock = new();
    private TestStore _store = null!;
    private CafConnectFactory _instanceA = null!;
    private CafConnectFactory _instanceB = null!;
    private BackchannelLogoutReceiver _relyingParty = null!;
    private string _configFile = null!;
    private string _csvFile = null!;

    // People: Louise signs in before the window, Jeanne (instances A and B) and Marc inside it, Amina after it; Paul's
    // first-login flow is in progress; Amina's password was set inside the window (before her session).
    private Signed _louise = null!, _jeanne = null!, _marc = null!, _amina = null!;
    private Guid _paulId, _aminaId;
    private DateTimeOffset _from, _to;

    private Observed _afterDryRun = null!;
    private Observed _afterRun = null!;
    private Observed _afterRerun = null!;
    private CliOutcome _dryRun = null!, _run = null!, _rerun = null!, _otherClientDryRun = null!, _sameClientDryRun = null!;

    private sealed record Signed(Guid PersonId, string Subject, System.Net.CookieContainer Cookies, TokenSet Tokens);
    private sealed record CliOutcome(int ExitCode, string Out, string Err)
    {
        public string Text => Regex.Replace(Out, @"\s+", " ");
    }

    /// <summary>What the provider says about everyone at one moment of the scenario.</summary>
    private sealed record Observed(
        Dictionary<string, bool> SessionAliveOnA,
        Dictionary<string, bool> SessionAliveOnB,
        Dictionary<string, bool> AccessTokenActive,
        int LogoutTokensReceived,
        bool PaulFlowVoided,
        bool AminaMustChangePassword);

    [OneTimeSetUp]
    public async Task RunScenarioAsync()
    {
        _store = TestStore.Create(kind);
        _instanceA = new CafConnectFactory(_store, configureServices: s => s.AddSingleton<TimeProvider>(_clock));
        _instanceB = new CafConnectFactory(_store, configureServices: s => s.AddSingleton<TimeProvider>(_clock));
        _ = _instanceA.Server;
        _ = _instanceB.Server;
        _relyingParty = await BackchannelLogoutReceiver.StartAsync();
        _configFile = WriteCliConfig(_store);
        _csvFile = Path.Combine(Path.GetTempPath(), "cafconnect-tests", $"incident-{Guid.NewGuid():N}.csv");
        Directory.CreateDirectory(Path.GetDirectoryName(_csvFile)!);

        var registered = await Cli("clients", "update", "--id", TestClient.CafFr.ClientId, "--backchannel-logout-uri", _relyingParty.LogoutUri);
        Assert.That(registered.ExitCode, Is.Zero, registered.Err);

        _louise = await SignInAsync(_instanceA, DemoData.LouiseDubois);
        _clock.Advance(TimeSpan.FromSeconds(2));
        _from = _clock.GetUtcNow();
        _clock.Advance(TimeSpan.FromSeconds(1));

        _jeanne = await SignInAsync(_instanceA, DemoData.JeanneDupont);
        // The same browser on the other instance: a second authorization for the same client in the same session.
        var again = new OidcDriver(_instanceB.CreateBrowser(_jeanne.Cookies));
        var silent = OidcDriver.ToAuthorizationResponse(await again.AuthorizeAsync(OidcDriver.AuthorizationParameters(TestClient.CafFr, Pkce.Create())));
        Assert.That(silent["code"], Is.Not.Null, "Jeanne's session works on instance B");
        _marc = await SignInAsync(_instanceB, DemoData.MarcDupont);

        var paulLogin = await new OidcDriver(_instanceA.CreateBrowser()).SubmitLoginAsync(new Uri("/connexion", UriKind.Relative), DemoData.PaulMartin.Nir!, "58231947");
        Assert.That(paulLogin.StatusCode, Is.EqualTo(HttpStatusCode.Redirect), "Paul's legacy code starts the first-login flow");
        _paulId = await PersonIdAsync(DemoData.PaulMartin.Nir!);
        _aminaId = await WithDbAsync(async db =>
        {
            var amina = await db.Persons.SingleAsync(p => p.ProvisionalId == DemoData.AminaDiallo.ProvisionalId);
            // Her password replaced inside the window (as a recovery by whoever held her phone would do).
            amina.PasswordSetAt = _clock.GetUtcNow();
            amina.ConcurrencyStamp = Guid.NewGuid();
            await db.SaveChangesAsync();
            return amina.Id;
        });
        Assert.That(await WithDbAsync(db => db.Flows.AnyAsync(f => f.PersonId == _paulId && f.VoidedAt == null && f.CompletedAt == null)), Is.True);

        _clock.Advance(TimeSpan.FromSeconds(1));
        _to = _clock.GetUtcNow();
        _clock.Advance(TimeSpan.FromSeconds(2));
        // Amina signs in after the window, with the password set inside it: her new session must survive.
        _amina = await SignInAsync(_instanceB, DemoData.AminaDiallo);

        var window = new[] { "--from", _from.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ"), "--to", _to.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ"), "--issuer", Issuer };
        _otherClientDryRun = await Cli(["incident", "revoke", .. window, "--client", TestClient.Aripa.ClientId, "--dry-run"]);
        _sameClientDryRun = await Cli(["incident", "revoke", .. window, "--client", TestClient.CafFr.ClientId, "--dry-run"]);
        _dryRun = await Cli(["incident", "revoke", .. window, "--dry-run"]);
        _afterDryRun = await ObserveAsync();
        _run = await Cli(["incident", "revoke", .. window, "--csv", _csvFile]);
        _afterRun = await ObserveAsync();
        _rerun = await Cli(["incident", "revoke", .. window]);
        _afterRerun = await ObserveAsync();
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        if (_relyingParty is not null) await _relyingParty.DisposeAsync();
        if (_instanceA is not null) await _instanceA.DisposeAsync();
        if (_instanceB is not null) await _instanceB.DisposeAsync();
        if (_store is not null) await _store.DisposeAsync();
        foreach (var file in new[] { _configFile, _csvFile })
        {
            if (file is not null && File.Exists(file)) File.Delete(file);
        }
    }

    [Test]
    public void Dry_run_changes_nothing_and_sends_nothing()
    {
        Assert.That(_dryRun.ExitCode, Is.Zero, _dryRun.Err);
        Assert.That(_dryRun.Text, Does.Contain("Dry run, nothing changed or sent: would revoke 2 session(s)"));
        Assert.That(_dryRun.Text, Does.Contain("2 logout token(s) would be sent"));
        Assert.Multiple(() =>
        {
            Assert.That(_afterDryRun.SessionAliveOnA.Values, Is.All.True, "every session still open on A");
            Assert.That(_afterDryRun.SessionAliveOnB.Values, Is.All.True, "every session still open on B");
            Assert.That(_afterDryRun.AccessTokenActive.Values, Is.All.True, "every access token still active");
            Assert.That(_afterDryRun.LogoutTokensReceived, Is.Zero);
            Assert.That(_afterDryRun.PaulFlowVoided, Is.False);
            Assert.That(_afterDryRun.AminaMustChangePassword, Is.False);
        });
    }

    [Test]
    public void With_a_client_only_what_that_client_got_in_the_window_is_revoked()
    {
        Assert.That(_otherClientDryRun.ExitCode, Is.Zero, _otherClientDryRun.Err);
        Assert.That(_otherClientDryRun.Text, Does.Contain("would revoke 0 session(s), 0 authorization(s), 0 token(s)"), "nobody signed in to ARIPA");
        Assert.That(_sameClientDryRun.ExitCode, Is.Zero, _sameClientDryRun.Err);
        Assert.That(_sameClientDryRun.Text, Does.Contain("would revoke 2 session(s)"), "Jeanne's and Marc's sessions gave caf-fr its codes");
        Assert.That(_sameClientDryRun.Text, Does.Contain("2 logout token(s) would be sent"));
    }

    [Test]
    public void Sessions_opened_in_the_window_die_on_both_instances_and_the_others_survive()
    {
        Assert.That(_run.ExitCode, Is.Zero, _run.ToString());
        Assert.Multiple(() =>
        {
            foreach (var observed in new[] { _afterRun.SessionAliveOnA, _afterRun.SessionAliveOnB })
            {
                Assert.That(observed["jeanne"], Is.False, "Jeanne signed in inside the window");
                Assert.That(observed["marc"], Is.False, "Marc signed in inside the window");
                Assert.That(observed["louise"], Is.True, "Louise signed in before the window");
                Assert.That(observed["amina"], Is.True, "Amina signed in after the window");
            }
        });
    }

    [Test]
    public async Task Tokens_issued_in_the_window_introspect_inactive_and_cannot_be_refreshed()
    {
        Assert.Multiple(() =>
        {
            Assert.That(_afterRun.AccessTokenActive["jeanne"], Is.False);
            Assert.That(_afterRun.AccessTokenActive["marc"], Is.False);
            Assert.That(_afterRun.AccessTokenActive["louise"], Is.True);
            Assert.That(_afterRun.AccessTokenActive["amina"], Is.True);
        });
        var driver = new OidcDriver(_instanceB.CreateBrowser());
        var refused = await driver.RefreshAsync(TestClient.CafFr, _jeanne.Tokens.RefreshToken!);
        var body = await refused.Content.ReadAsStringAsync();
        Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), body);
        Assert.That(JsonDocument.Parse(body).RootElement.GetProperty("error").GetString(), Is.EqualTo("invalid_grant"));
        var control = await driver.RefreshAsync(TestClient.CafFr, _louise.Tokens.RefreshToken!);
        Assert.That(control.StatusCode, Is.EqualTo(HttpStatusCode.OK), "Louise's refresh token, issued before the window, still works");
    }

    [Test]
    public async Task Relying_party_receives_one_logout_token_per_session_that_validates_against_the_JWKS()
    {
        var tokens = _relyingParty.Tokens;
        Assert.That(tokens, Has.Count.EqualTo(2), "Jeanne's and Marc's sessions at caf-fr (Jeanne's two authorizations share one session)");
        var jwks = await _instanceA.CreateClient().GetStringAsync("/.well-known/jwks");
        var sessions = await WithDbAsync(db => db.ProviderSessions.Where(s => s.PersonId == _jeanne.PersonId || s.PersonId == _marc.PersonId)
            .Select(s => new { s.PersonId, s.Id }).ToListAsync());
        var payloads = new List<JsonNode>();
        foreach (var token in tokens)
        {
            payloads.Add(await BackchannelLogoutReceiver.VerifyWithJoseAsync(token, jwks, Issuer, TestClient.CafFr.ClientId));
            var header = JsonNode.Parse(Encoding.UTF8.GetString(Microsoft.IdentityModel.Tokens.Base64UrlEncoder.DecodeBytes(token.Split('.')[0])))!;
            Assert.That(header["typ"]!.GetValue<string>(), Is.EqualTo("logout+jwt"));
        }
        var expected = new[]
        {
            (_jeanne.Subject, sessions.Single(s => s.PersonId == _jeanne.PersonId).Id),
            (_marc.Subject, sessions.Single(s => s.PersonId == _marc.PersonId).Id),
        };
        Assert.That(payloads.Select(p => (p["sub"]!.GetValue<string>(), p["sid"]!.GetValue<string>())), Is.EquivalentTo(expected));
        Assert.That(payloads.Select(p => p["jti"]!.GetValue<string>()).Distinct().Count(), Is.EqualTo(2), "a fresh jti per token");
    }

    [Test]
    public void Flows_in_progress_are_voided_and_passwords_set_in_the_window_must_be_changed()
    {
        Assert.That(_afterRun.PaulFlowVoided, Is.True, "Paul's first-login flow");
        Assert.That(_afterRun.AminaMustChangePassword, Is.True, "Amina's password was set inside the window");
    }

    [Test]
    public async Task Csv_lists_the_affected_persons_with_their_verified_contacts_and_nobody_else()
    {
        var lines = await File.ReadAllLinesAsync(_csvFile);
        Assert.That(lines[0], Is.EqualTo("person_id,mobile,email,reasons"));
        var rows = lines.Skip(1).Select(l => l.Split(',')).ToDictionary(c => Guid.Parse(c[0]));
        Assert.That(rows.Keys, Is.EquivalentTo(new[] { _jeanne.PersonId, _marc.PersonId, _paulId, _aminaId }));
        var jeanne = await WithDbAsync(db => db.Persons.SingleAsync(p => p.Id == _jeanne.PersonId));
        Assert.Multiple(() =>
        {
            Assert.That(rows[_jeanne.PersonId][1], Is.EqualTo(jeanne.MobilePhoneVerified ? jeanne.MobilePhone : ""));
            Assert.That(rows[_jeanne.PersonId][2], Is.EqualTo(jeanne.EmailVerified ? jeanne.Email : ""));
            Assert.That(rows[_jeanne.PersonId][3].Split(' '), Is.SupersetOf(new[] { "authorization", "session", "token" }));
            Assert.That(rows[_paulId][3], Is.EqualTo("flow"));
            Assert.That(rows[_aminaId][3], Is.EqualTo("password"), "her session and tokens came after the window");
            Assert.That(string.Join('\n', lines), Does.Not.Contain(DemoData.JeanneDupont.Nir!), "never a NIR");
        });
    }

    [Test]
    public void Rerun_revokes_nothing_twice_and_sends_no_duplicate_logout()
    {
        Assert.That(_rerun.ExitCode, Is.Zero, _rerun.ToString());
        Assert.That(_rerun.Text, Does.Contain("Revoked 0 session(s), 0 authorization(s), 0 token(s); voided 0 flow(s) and 0 household invitation(s); asked a new password of 0 person(s)"));
        Assert.That(_rerun.Text, Does.Contain("Back-channel logout: 0 delivered, 0 failed."));
        Assert.That(_afterRerun.LogoutTokensReceived, Is.EqualTo(_afterRun.LogoutTokensReceived));
        Assert.That(_afterRerun.SessionAliveOnA["louise"] && _afterRerun.SessionAliveOnB["amina"], Is.True);
    }

    [Test]
    public async Task Each_run_is_audited_with_the_operator_and_each_person_with_what_was_revoked()
    {
        var rows = await WithDbAsync(db => db.AuditEvents.Where(e => e.Type.StartsWith("admin.incident") || e.Type == AuditEventTypes.IncidentPersonRevoked
            || e.Type == AuditEventTypes.BackchannelLogout).ToListAsync());
        Assert.Multiple(() =>
        {
            Assert.That(rows.Count(r => r.Type == AuditEventTypes.IncidentRevokeDryRun), Is.EqualTo(3), "three dry runs: ARIPA, caf-fr, all clients");
            Assert.That(rows.Count(r => r.Type == AuditEventTypes.IncidentRevoked), Is.EqualTo(2), "the run and the re-run");
            Assert.That(rows.Where(r => r.Type.StartsWith("admin.incident")).Select(r => r.Details), Has.All.Contains("operator=" + Environment.UserName));
            Assert.That(rows.Where(r => r.Type == AuditEventTypes.IncidentPersonRevoked).Select(r => r.PersonId),
                Is.SupersetOf(new Guid?[] { _jeanne.PersonId, _marc.PersonId, _paulId, _aminaId }));
            Assert.That(rows.Count(r => r.Type == AuditEventTypes.BackchannelLogout && r.Outcome == "delivered"), Is.EqualTo(2));
            Assert.That(rows.Select(r => r.Channel).Distinct(), Is.EqualTo(new[] { "cli" }));
        });
    }

    // ---- scenario plumbing ----

    private async Task<Signed> SignInAsync(CafConnectFactory instance, DemoPerson person)
    {
        var cookies = new System.Net.CookieContainer();
        var driver = new OidcDriver(instance.CreateBrowser(cookies));
        TokenSet tokens;
        if (person.Nir is not null)
        {
            tokens = await driver.SignInAndRedeemAsync(TestClient.CafFr, person.Nir, person.Password);
        }
        else
        {
            // A provisional identifier is typed on the login page's « identifiant provisoire » mode.
            var pkce = Pkce.Create();
            var challenge = await driver.AuthorizeAsync(OidcDriver.AuthorizationParameters(TestClient.CafFr, pkce));
            var login = await driver.SubmitLoginAsync(new Uri(challenge.Headers.Location!.OriginalString + "&mode=provisoire", UriKind.RelativeOrAbsolute),
                person.ProvisionalId!, person.Password);
            Assert.That(login.StatusCode, Is.EqualTo(HttpStatusCode.Redirect), await OidcDriver.ErrorsOf(login));
            var code = OidcDriver.ToAuthorizationResponse(await driver.Browser.GetAsync(login.Headers.Location))["code"]!;
            tokens = await OidcDriver.ReadTokensAsync(await driver.RedeemCodeAsync(TestClient.CafFr, code, pkce.Verifier));
        }
        var id = await WithDbAsync(db => db.Persons.Where(p => p.Nir == person.Nir && p.ProvisionalId == person.ProvisionalId).Select(p => p.Id).SingleAsync());
        var subject = await WithDbAsync(db => db.Persons.Where(p => p.Id == id).Select(p => p.Subject).SingleAsync());
        return new Signed(id, subject, cookies, tokens);
    }

    private Task<Guid> PersonIdAsync(string nir) => WithDbAsync(db => db.Persons.Where(p => p.Nir == nir).Select(p => p.Id).SingleAsync());

    private async Task<T> WithDbAsync<T>(Func<CafConnectDbContext, Task<T>> query)
    {
        using var scope = _instanceA.Services.CreateScope();
        return await query(scope.ServiceProvider.GetRequiredService<CafConnectDbContext>());
    }

    private async Task<Observed> ObserveAsync()
    {
        var people = new Dictionary<string, Signed> { ["louise"] = _louise, ["jeanne"] = _jeanne, ["marc"] = _marc, ["amina"] = _amina };
        var onA = new Dictionary<string, bool>();
        var onB = new Dictionary<string, bool>();
        var active = new Dictionary<string, bool>();
        foreach (var (name, person) in people)
        {
            onA[name] = await SessionAliveAsync(_instanceA, person.Cookies);
            onB[name] = await SessionAliveAsync(_instanceB, person.Cookies);
            active[name] = await IntrospectActiveAsync(person.Tokens.AccessToken);
        }
        var flowVoided = await WithDbAsync(db => db.Flows.AnyAsync(f => f.PersonId == _paulId && f.VoidedAt != null));
        var flagged = await WithDbAsync(db => db.RequiredActions.AnyAsync(a => a.PersonId == _aminaId && a.Action == RequiredAction.ChooseNewPassword));
        return new Observed(onA, onB, active, _relyingParty.Tokens.Count, flowVoided, flagged);
    }

    /// <summary>Asks "Mon compte" with a copy of the browser's cookies (a refused cookie is deleted; the other instance must see the original).</summary>
    private static async Task<bool> SessionAliveAsync(CafConnectFactory instance, System.Net.CookieContainer cookies)
    {
        var copy = new System.Net.CookieContainer();
        foreach (Cookie cookie in cookies.GetAllCookies())
        {
            copy.Add(new Cookie(cookie.Name, cookie.Value, cookie.Path, cookie.Domain));
        }
        var response = await instance.CreateBrowser(copy).GetAsync("/mon-compte");
        return response.StatusCode == HttpStatusCode.OK;
    }

    private async Task<bool> IntrospectActiveAsync(string accessToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/connect/introspect")
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["token"] = accessToken }),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic",
            Convert.ToBase64String(Encoding.UTF8.GetBytes($"{TestClient.CafFr.ClientId}:{TestClient.CafFr.Secret}")));
        var response = await _instanceB.CreateClient().SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), body);
        return JsonDocument.Parse(body).RootElement.GetProperty("active").GetBoolean();
    }

    private async Task<CliOutcome> Cli(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var exit = await cli::CafConnect.Cli.CafConnectCli.RunAsync([.. args, "--config", _configFile], stdout, stderr);
        var outcome = new CliOutcome(exit, stdout.ToString(), stderr.ToString());
        await TestContext.Out.WriteLineAsync($"$ cafconnect {string.Join(' ', args)}\nexit {exit}\n{outcome.Out}\n{outcome.Err}");
        return outcome;
    }

    /// <summary>The store's settings as the CLI's --config JSON ("Storage:Provider" → {"Storage":{"Provider":…}}).</summary>
    internal static string WriteCliConfig(TestStore store)
    {
        var root = new JsonObject();
        foreach (var (key, value) in store.Settings)
        {
            var parts = key.Split(':');
            var node = root;
            foreach (var part in parts[..^1])
            {
                node = (JsonObject)(node[part] ??= new JsonObject());
            }
            node[parts[^1]] = value;
        }
        var file = Path.Combine(Path.GetTempPath(), "cafconnect-tests", $"incident-config-{Guid.NewGuid():N}.json");
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        File.WriteAllText(file, root.ToJsonString());
        return file;
    }
}

/// <summary>
/// <c>cafconnect incident revoke</c> and « Mon foyer » (adversarial review, 6 December 2026, eighth session; decision 60):
/// an invitation sent from a session of the window — sending asks no password — is what someone in another's session
/// would leave behind: a civil status and a contact of their own, waiting 30 days to be placed on that file.
/// </summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
public sealed class IncidentRevokeInvitationTests(StoreKind kind)
{
    [Test]
    public async Task Incident_revoke_voids_the_invitations_sent_in_the_window_or_from_its_sessions_and_keeps_those_sent_before()
    {
        await using var host = HostStore.Start(kind);
        var foyer = new Uri("/mon-compte/foyer", UriKind.Relative);
        // Before the window: Louise invites Nina onto her own file.
        var louise = await HouseholdInvitationTests.SignInAsync(host, DemoData.LouiseDubois);
        var kept = await louise.PostAsync(foyer, HouseholdInvitationTests.Nina());
        Assert.That(FirstLoginDriver.Next(kept).OriginalString, Is.EqualTo("/mon-compte/foyer?invitation=envoyee"));
        await Task.Delay(50);
        var from = DateTimeOffset.UtcNow;
        await Task.Delay(50);
        // In the window: someone in Jeanne's session invites a made-up member with a contact of their own onto her file.
        var intruder = await HouseholdInvitationTests.SignInAsync(host, DemoData.JeanneDupont);
        var fields = HouseholdInvitationTests.Nina(contact: "complice@example.fr");
        fields["FileNumber"] = "0260311";
        var sent = await intruder.PostAsync(foyer, fields);
        Assert.That(FirstLoginDriver.Next(sent).OriginalString, Is.EqualTo("/mon-compte/foyer?invitation=envoyee"));
        await Task.Delay(50);
        var to = DateTimeOffset.UtcNow;
        await Task.Delay(50);
        // After the window, from the session opened in it (still live until the run): ended with that session.
        var later = HouseholdInvitationTests.Nina(contact: "complice2@example.fr");
        (later["FileNumber"], later["GivenNames"]) = ("0260311", "Nino");
        Assert.That(FirstLoginDriver.Next(await intruder.PostAsync(foyer, later)).OriginalString, Is.EqualTo("/mon-compte/foyer?invitation=envoyee"));

        var config = IncidentRevokeTests.WriteCliConfig(host.Store);
        try
        {
            string[] window = ["incident", "revoke", "--from", from.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ"), "--to", to.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ"),
                "--issuer", "http://localhost/", "--config", config];
            var dryRun = await CliAsync([.. window, "--dry-run"]);
            Assert.That(dryRun, Does.Contain("would void 0 flow(s) and 2 household invitation(s)"));
            var planted = await host.QueryAsync(db => db.HouseholdInvitations.AsNoTracking().SingleAsync(i => i.Contact == "complice@example.fr"));
            Assert.That(planted.ExpiresAt, Is.GreaterThan(DateTimeOffset.UtcNow), "the dry run changes nothing");
            Assert.That(await CliAsync(window), Does.Contain("voided 0 flow(s) and 2 household invitation(s)"));
            Assert.That(await CliAsync(window), Does.Contain("voided 0 flow(s) and 0 household invitation(s)"), "a re-run voids nothing twice");
        }
        finally
        {
            File.Delete(config);
        }

        // The invitee of the planted invitation is not offered it: her account joins nobody's file.
        var (_, next) = await HouseholdInvitationTests.NinaCreatesHerAccountAsync(host, "complice@example.fr");
        Assert.That(next.AbsolutePathOrOriginal(), Is.EqualTo("/creer-mon-compte/recapitulatif"), "no invitation to answer: the incident ended it");
        Assert.That(await host.QueryAsync(db => db.Memberships.CountAsync(m => m.Household!.FileNumber == "0260311")), Is.EqualTo(2), "Jeanne and Marc only");
        var jeanneId = await host.QueryAsync(db => db.Persons.Where(p => p.Nir == DemoData.JeanneDupont.Nir).Select(p => p.Id).SingleAsync());
        var voided = await host.QueryAsync(db => db.AuditEvents.AsNoTracking().Where(e => e.Type == AuditEventTypes.HouseholdInvitationVoided).ToListAsync());
        Assert.That(voided.Select(e => (e.Outcome, e.PersonId, e.Channel)), Is.EqualTo(new[] { ("incident", (Guid?)jeanneId, "cli"), ("incident", (Guid?)jeanneId, "cli") }));
        Assert.That(await host.QueryAsync(db => db.HouseholdInvitations.CountAsync(i => i.Contact.StartsWith("complice") && i.AcceptedAt == null)), Is.EqualTo(2));

        // Louise's invitation, sent before the window, stands.
        var (_, html) = await louise.GetAsync(foyer);
        Assert.That(WebUtility.HtmlDecode(html), Does.Contain("Invitation envoyée le"), "the invitation sent before the window is still open");
    }

    private static async Task<string> CliAsync(string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var exit = await cli::CafConnect.Cli.CafConnectCli.RunAsync(args, stdout, stderr);
        await TestContext.Out.WriteLineAsync($"$ cafconnect {string.Join(' ', args)}\nexit {exit}\n{stdout}\n{stderr}");
        Assert.That(exit, Is.Zero, stderr.ToString());
        return Regex.Replace(stdout.ToString(), @"\s+", " ");
    }
}
