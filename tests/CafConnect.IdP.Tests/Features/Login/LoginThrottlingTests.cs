using System.Net;
using CafConnect.Application.Persistence;
using CafConnect.Domain.Accounts;
using CafConnect.IdP.Demo;
using CafConnect.IdP.Tests.Features.FirstLogin;
using CafConnect.IdP.Tests.Support;
using CafConnect.Infrastructure.Audit;
using CafConnect.Infrastructure.Notifications;
using CafConnect.Infrastructure.Persistence;
using CafConnect.Infrastructure.Security;
using CafConnect.Infrastructure.Throttling;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace CafConnect.IdP.Tests.Features.Login;

/// <summary>
/// Throttling and lockout over HTTP, on the real host (docs/security.md): progressive delay after 3 failures, lock after
/// 10 (15 min, then 30…), the owner told once per lock, per-IP budget against spraying, no difference a visitor could
/// see between a refused attempt and a wrong password. Each test has its own store and host; the host's clock is a
/// <see cref="ManualClock"/>, the client IP comes from <see cref="TestClientIp"/>.
/// </summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
public sealed class LoginThrottlingTests(StoreKind kind)
{
    private const string WrongCredentials = "Le numéro de Sécurité sociale ou le mot de passe est incorrect.";
    private const string JeanneNir = "2850375112048";
    private const string WrongPassword = "PasLeBon123";
    private const string AttackerIp = "203.0.113.10";

    private ManualClock _clock = null!;
    private JourneyHost _host = null!;

    [SetUp]
    public void StartHost()
    {
        _host = null!;
        _clock = new ManualClock();
        _host = JourneyHost.StartOnClock(kind, _clock);
    }

    [TearDown]
    public async Task StopHost()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }
    }

    private async Task<HttpResponseMessage> LoginAsync(string identifier, string password, string ip = AttackerIp)
    {
        var browser = _host.Host.CreateBrowser();
        browser.DefaultRequestHeaders.Add(TestClientIp.Header, ip);
        return await new OidcDriver(browser).SubmitLoginAsync(new Uri("/connexion", UriKind.Relative), identifier, password);
    }

    private static async Task AssertLooksLikeAWrongPassword(HttpResponseMessage response, string what)
    {
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), what + ": the page is shown again, as for a wrong password");
        Assert.That(response.Headers.Location, Is.Null, what);
        Assert.That(await OidcDriver.ErrorsOf(response), Is.EqualTo(WrongCredentials), what);
        Assert.That(response.Headers.TryGetValues("Set-Cookie", out var cookies) ? cookies.Where(c => c.Contains(".session=")) : [], Is.Empty, what + ": no session");
    }

    private static async Task AssertSignedIn(HttpResponseMessage response, string what)
    {
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Redirect), what + ": " + await OidcDriver.ErrorsOf(response));
    }

    private async Task FailAsync(int times, string identifier = JeanneNir, string ip = AttackerIp, TimeSpan? spacing = null)
    {
        for (var i = 0; i < times; i++)
        {
            await AssertLooksLikeAWrongPassword(await LoginAsync(identifier, WrongPassword, ip), $"failure {i + 1}");
            _clock.Advance(spacing ?? TimeSpan.FromMinutes(2)); // past every delay (64 s at most before a lock)
        }
    }

    private async Task<List<AuditEvent>> AuditOfAsync(string nir)
    {
        using var scope = _host.Host.Services.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<CafConnectDbContext>();
        var person = await db.Persons.SingleAsync(p => p.Nir == nir);
        return await db.AuditEvents.AsNoTracking().Where(e => e.PersonId == person.Id).OrderBy(e => e.Id).ToListAsync();
    }

    private async Task<List<OutboxMessage>> LockMessagesAsync()
    {
        using var scope = _host.Host.Services.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<CafConnectDbContext>();
        return await db.OutboxMessages.AsNoTracking().Where(m => m.Kind == NotificationKind.AccountLocked).ToListAsync();
    }

    [Test]
    public async Task After_three_failures_even_the_right_password_waits_1_s_then_signs_in()
    {
        for (var i = 0; i < 3; i++)
        {
            await AssertLooksLikeAWrongPassword(await LoginAsync(JeanneNir, WrongPassword), $"failure {i + 1}");
        }

        await AssertLooksLikeAWrongPassword(await LoginAsync(JeanneNir, DemoData.JeanneDupont.Password), "right password within the 1 s delay");
        _clock.Advance(TimeSpan.FromSeconds(1));
        await AssertSignedIn(await LoginAsync(JeanneNir, DemoData.JeanneDupont.Password), "right password after the delay");

        var audit = await AuditOfAsync(JeanneNir);
        Assert.That(audit.Select(e => (e.Type, e.Outcome)), Is.EqualTo(new (string, string?)[]
        {
            (AuditEventTypes.LoginFailed, "wrong_password"), (AuditEventTypes.LoginFailed, "wrong_password"), (AuditEventTypes.LoginFailed, "wrong_password"),
            (AuditEventTypes.LoginFailed, "throttled"),
            (AuditEventTypes.LoginSucceeded, "pwd"),
        }));
        Assert.That(audit[3].IpAddress, Is.EqualTo(AttackerIp));
    }

    [Test]
    public async Task Ten_failures_lock_the_account_the_right_password_gets_the_wrong_password_answer_and_the_owner_is_told_once()
    {
        await FailAsync(10);

        await AssertLooksLikeAWrongPassword(await LoginAsync(JeanneNir, DemoData.JeanneDupont.Password), "right password on a locked account");
        await AssertLooksLikeAWrongPassword(await LoginAsync(JeanneNir, DemoData.JeanneDupont.Password, ip: "198.51.100.7"), "locked from any IP");
        await AssertLooksLikeAWrongPassword(await LoginAsync(JeanneNir, WrongPassword), "wrong password on a locked account");

        var sms = await _host.Sms.WaitForAsync(DemoData.JeanneDupont.Mobile!);
        var messages = await LockMessagesAsync();
        var audit = await AuditOfAsync(JeanneNir);
        Assert.Multiple(() =>
        {
            Assert.That(sms.Text, Does.Contain("Votre compte Caf a été temporairement bloqué après plusieurs tentatives de connexion infructueuses")
                .And.Contain("15 minutes"));
            Assert.That(messages.Select(m => (m.Channel, m.Recipient)), Is.EquivalentTo(new[]
            {
                (NotificationChannel.Sms, DemoData.JeanneDupont.Mobile!), (NotificationChannel.Email, DemoData.JeanneDupont.Email!),
            }), "one SMS and one e-mail for the lock, whatever came after");
            Assert.That(messages.Select(m => m.Subject), Has.Some.EqualTo("Votre compte a été temporairement bloqué"));
            Assert.That(audit.Count(e => e.Type == AuditEventTypes.LoginFailed && e.Outcome == "wrong_password"), Is.EqualTo(10));
            Assert.That(audit.Count(e => e.Type == AuditEventTypes.AccountLocked), Is.EqualTo(1));
            Assert.That(audit.Single(e => e.Type == AuditEventTypes.AccountLocked).Outcome, Is.EqualTo("lock_1"));
            Assert.That(audit.Count(e => e.Type == AuditEventTypes.LoginFailed && e.Outcome == "locked"), Is.EqualTo(3));
            Assert.That(audit.Where(e => e.Details is not null).Select(e => e.Details), Has.None.Contains(JeanneNir));
        });
        await Task.Delay(500);
        Assert.That(_host.Sms.CountTo(DemoData.JeanneDupont.Mobile!), Is.EqualTo(1), "the later refused attempts send nothing");
    }

    [Test]
    public async Task The_lock_ends_after_15_minutes_and_the_next_one_lasts_30()
    {
        await FailAsync(9);
        await AssertLooksLikeAWrongPassword(await LoginAsync(JeanneNir, WrongPassword), "10th failure");

        _clock.Advance(TimeSpan.FromMinutes(15) - TimeSpan.FromSeconds(1));
        await AssertLooksLikeAWrongPassword(await LoginAsync(JeanneNir, DemoData.JeanneDupont.Password), "one second before the end of the lock");
        _clock.Advance(TimeSpan.FromSeconds(1));
        // A new series: nine failures, the tenth locks again, twice as long.
        await FailAsync(9);
        await AssertLooksLikeAWrongPassword(await LoginAsync(JeanneNir, WrongPassword), "20th failure");
        _clock.Advance(TimeSpan.FromMinutes(30) - TimeSpan.FromSeconds(1));
        await AssertLooksLikeAWrongPassword(await LoginAsync(JeanneNir, DemoData.JeanneDupont.Password), "29 min 59 s into the second lock");
        _clock.Advance(TimeSpan.FromSeconds(1));
        await AssertSignedIn(await LoginAsync(JeanneNir, DemoData.JeanneDupont.Password), "the second lock has ended");

        var audit = await AuditOfAsync(JeanneNir);
        Assert.That(audit.Where(e => e.Type == AuditEventTypes.AccountLocked).Select(e => e.Outcome), Is.EqualTo(new[] { "lock_1", "lock_2" }));
        Assert.That(audit.Where(e => e.Type == AuditEventTypes.AccountLocked).Select(e => e.Details), Has.Some.Contains("duration=1800s"));
        Assert.That((await LockMessagesAsync()).Count, Is.EqualTo(4), "an SMS and an e-mail per lock");
    }

    [Test]
    public async Task A_success_resets_the_count_of_consecutive_failures()
    {
        await FailAsync(2, spacing: TimeSpan.Zero);
        await AssertSignedIn(await LoginAsync(JeanneNir, DemoData.JeanneDupont.Password), "right password after two failures");
        await FailAsync(2, spacing: TimeSpan.Zero);

        // Without the reset these would be the 4th and 5th consecutive failures: a delay would refuse the right password.
        await AssertSignedIn(await LoginAsync(JeanneNir, DemoData.JeanneDupont.Password), "right password after two more failures");
    }

    [Test]
    public async Task Password_recovery_reset_lifts_the_lock_and_is_audited()
    {
        await FailAsync(10);
        using (var scope = _host.Host.Services.CreateScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<CafConnectDbContext>();
            var jeanne = await db.Persons.SingleAsync(p => p.Nir == JeanneNir);
            var throttle = scope.ServiceProvider.GetRequiredService<ILoginThrottle>();
            Assert.That(await throttle.ResetAsync(jeanne.Id, "password_recovery"), Is.True, "a lock was in force");
            Assert.That(await throttle.ResetAsync(jeanne.Id, "password_recovery"), Is.False, "nothing left to lift");
            // The reset appends its audit line; the caller's use case (the recovery journey) commits it.
            await scope.ServiceProvider.GetRequiredService<IUnitOfWork>().CommitAsync();
        }

        await AssertSignedIn(await LoginAsync(JeanneNir, DemoData.JeanneDupont.Password), "right password after the reset");
        var unlocked = (await AuditOfAsync(JeanneNir)).Where(e => e.Type == AuditEventTypes.AccountUnlocked).ToList();
        Assert.That(unlocked.Select(e => e.Outcome), Is.EqualTo(new[] { "password_recovery" }));
    }

    [Test]
    public async Task Spraying_one_password_over_40_accounts_from_one_IP_is_stopped_after_30_failures()
    {
        const string Sprayed = "Printemps2024";
        var nirs = await SeedAccountsAsync(40, "Autre7Chose", rightPasswordAt: 35, rightPassword: Sprayed);

        var answers = new List<HttpResponseMessage>();
        foreach (var nir in nirs)
        {
            answers.Add(await LoginAsync(nir, Sprayed));
        }

        for (var i = 0; i < answers.Count; i++)
        {
            await AssertLooksLikeAWrongPassword(answers[i], $"account {i + 1}");
        }
        // The 35th account's password was the sprayed one: refused all the same, since the IP had spent its budget.
        await AssertSignedIn(await LoginAsync(nirs[34], Sprayed, ip: "198.51.100.8"), "the same password from another IP");

        using var scope = _host.Host.Services.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<CafConnectDbContext>();
        var failures = await db.AuditEvents.AsNoTracking().Where(e => e.Type == AuditEventTypes.LoginFailed && e.IpAddress == AttackerIp).OrderBy(e => e.Id).ToListAsync();
        Assert.That(failures.Select(e => e.Outcome), Is.EqualTo(Enumerable.Repeat("wrong_password", 30).Concat(Enumerable.Repeat("throttled", 10))));
        Assert.That(failures.Skip(30).Select(e => e.Details), Is.All.EqualTo("scope=ip"));

        // After the 15-minute block, the IP gets a fresh budget.
        _clock.Advance(TimeSpan.FromMinutes(15));
        await AssertSignedIn(await LoginAsync(JeanneNir, DemoData.JeanneDupont.Password), "after the IP block");
    }

    [Test]
    public async Task Unknown_identifiers_spend_the_IP_budget_and_look_the_same()
    {
        for (var i = 1; i <= 30; i++)
        {
            await AssertLooksLikeAWrongPassword(await LoginAsync($"1700175101{i:000}", WrongPassword), $"unknown NIR {i}");
        }

        await AssertLooksLikeAWrongPassword(await LoginAsync(JeanneNir, DemoData.JeanneDupont.Password), "a real account from the same IP");
        await AssertSignedIn(await LoginAsync(JeanneNir, DemoData.JeanneDupont.Password, ip: "198.51.100.9"), "from another IP");

        var audit = await AuditOfAsync(JeanneNir);
        Assert.That(audit.Select(e => (e.Type, e.Outcome, e.Details)), Is.EqualTo(new (string, string?, string?)[]
        {
            (AuditEventTypes.LoginFailed, "throttled", "scope=ip"),
            (AuditEventTypes.LoginSucceeded, "pwd", null),
        }));
    }

    /// <summary>Accounts with NIRs 1 80 01 75 101 001…, all with <paramref name="password"/> except one.</summary>
    private async Task<List<string>> SeedAccountsAsync(int count, string password, int rightPasswordAt, string rightPassword)
    {
        using var scope = _host.Host.Services.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<CafConnectDbContext>();
        var hasher = scope.ServiceProvider.GetRequiredService<ISecretHasher>();
        var usual = hasher.Hash(password);
        var nirs = new List<string>();
        for (var i = 1; i <= count; i++)
        {
            var nir = $"1800175101{i:000}";
            nirs.Add(nir);
            db.Persons.Add(new PersonAccount
            {
                Nir = nir,
                Civility = Civility.Monsieur,
                BirthName = "ESSAI",
                GivenNames = "Personne",
                BirthDate = new DateOnly(1980, 1, 1),
                PasswordHash = i == rightPasswordAt ? hasher.Hash(rightPassword) : usual,
                CredentialKind = CredentialKind.Personal,
                PasswordSetAt = _clock.GetUtcNow(),
            });
        }
        await db.SaveChangesAsync();
        return nirs;
    }
}
