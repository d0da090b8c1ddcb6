using System.Net;
using CafConnect.IdP.Demo;
using CafConnect.IdP.Tests.Features.AccountCreation;
using CafConnect.IdP.Tests.Features.FirstLogin;
using CafConnect.IdP.Tests.Features.Recovery;
using CafConnect.IdP.Tests.Support;
using CafConnect.Infrastructure.Audit;
using Microsoft.AspNetCore.Hosting;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace CafConnect.IdP.Tests.Security;

/// <summary>
/// Guess budgets of 6-digit codes (issue 12, item 3): every code check spends the account's budget of the login
/// throttle (delay after 3 consecutive failures, lock at 10) — or, where no account exists yet, the budget of the
/// identity being claimed — so resending codes or starting new flows no longer adds guesses; and every per-IP limiter
/// counts an IPv6 client by its /64. Over HTTP on the real host, the host's clock a <see cref="ManualClock"/>.
/// </summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
public sealed class CodeGuessBudgetTests(StoreKind kind)
{
    private const string JeanneNir = "2850375112048";
    private const string JeanneMobile = "+33615000001";
    private const string WrongCredentials = "Le numéro de Sécurité sociale ou le mot de passe est incorrect.";

    /// <summary>More than the longest delay before the lock (64 s after the 9th failure): each guess is really checked.</summary>
    private static readonly TimeSpan PastEveryDelay = TimeSpan.FromSeconds(65);

    private ManualClock _clock = null!;

    private JourneyHost StartHost(IDictionary<string, string?>? overrides = null)
    {
        _clock = new ManualClock();
        var settings = new Dictionary<string, string?>
        {
            ["Notifications:FileSink:Directory"] = HostStore.NewSinkDirectory(),
            ["Recovery:RateLimit:KeyPrefix"] = $"test-{Guid.NewGuid():N}:",
            // The attacker's flows are not limited by the request forms here: only the guess budget is under test.
            ["Recovery:RateLimit:PerIdentifierLimit"] = "1000",
            ["Recovery:RateLimit:PerIpLimit"] = "1000",
        };
        foreach (var (key, value) in overrides ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }
        return JourneyHost.Start(kind, settings, services => services.AddSingleton<TimeProvider>(_clock));
    }

    [Test]
    public async Task Ten_wrong_recovery_codes_lock_the_account_and_the_right_password_is_then_refused()
    {
        await using var host = StartHost();
        var attacker = new RecoveryDriver(host.Host.CreateBrowser());
        var sent = 0;
        Uri codePage = null!;
        for (var guess = 0; guess < 10; guess++)
        {
            // Five wrong entries void a code: the attacker starts a new flow for each code, as the loop of the issue did.
            if (guess % 5 == 0)
            {
                codePage = await attacker.RequestCodePageAsync(JeanneNir);
                sent++;
            }
            _clock.Advance(PastEveryDelay);
            var response = await attacker.Pages.PostAsync(codePage, new Dictionary<string, string> { ["Code"] = "999999" });
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), $"guess {guess + 1}");
        }

        var owner = new OidcDriver(host.Host.CreateBrowser());
        var login = await owner.SubmitLoginAsync(new Uri("/connexion", UriKind.Relative), JeanneNir, DemoData.JeanneDupont.Password);
        Assert.That(login.StatusCode, Is.EqualTo(HttpStatusCode.OK), "ten wrong codes lock the account: even the right password is refused");
        Assert.That(await OidcDriver.ErrorsOf(login), Does.Contain(WrongCredentials), "the lock answers like a wrong password");

        var jeanne = await host.QueryAsync(db => db.Persons.AsNoTracking().SingleAsync(p => p.Nir == JeanneNir));
        var locked = await host.QueryAsync(db => db.AuditEvents.AsNoTracking().Where(e => e.PersonId == jeanne.Id && e.Type == AuditEventTypes.AccountLocked).ToListAsync());
        Assert.That(locked, Has.Count.EqualTo(1), "one lock, audited");
        Assert.That((await host.Sms.WaitForAsync(JeanneMobile, alreadySeen: sent)).Text, Does.Contain("temporairement bloqué"), "the owner is told");
    }

    /// <summary>
    /// The loop of the issue (new flows and resends, 5 tries each) gave about 200 checked guesses an hour. Now a burst
    /// of 40 wrong codes over 8 flows gets 3 guesses checked; the rest are refused by the account's delay, and even the
    /// right code of a fresh flow is refused while the delay runs — exactly like a wrong code.
    /// </summary>
    [Test]
    public async Task New_flows_and_resends_add_no_guesses_beyond_the_account_budget()
    {
        await using var host = StartHost();
        var answers = new List<string>();
        for (var flowNumber = 0; flowNumber < 8; flowNumber++)
        {
            var attacker = new RecoveryDriver(host.Host.CreateBrowser());
            var codePage = await attacker.RequestCodePageAsync(JeanneNir);
            for (var entry = 0; entry < 5; entry++)
            {
                answers.Add((await OidcDriver.ErrorsOf(await attacker.Pages.PostAsync(codePage, new Dictionary<string, string> { ["Code"] = "999999" }))).Split(" | ")[0]);
            }
        }
        var owner = new RecoveryDriver(host.Host.CreateBrowser());
        var ownerPage = await owner.RequestCodePageAsync(JeanneNir);
        var code = SmsGatewaySink.CodeIn((await host.Sms.WaitForAsync(JeanneMobile, alreadySeen: 8)).Text);
        var rightDuringDelay = await owner.Pages.PostAsync(ownerPage, new Dictionary<string, string> { ["Code"] = code });

        var jeanne = await host.QueryAsync(db => db.Persons.AsNoTracking().SingleAsync(p => p.Nir == JeanneNir));
        var outcomes = await host.QueryAsync(db => db.AuditEvents.AsNoTracking()
            .Where(e => e.PersonId == jeanne.Id && e.Type == AuditEventTypes.RecoveryCodeRejected).Select(e => e.Outcome).ToListAsync());
        Assert.Multiple(() =>
        {
            Assert.That(outcomes.Count(o => o == "Wrong"), Is.EqualTo(3), "three guesses checked, whatever the number of flows");
            Assert.That(outcomes.Count(o => o == "throttled"), Is.EqualTo(38), "the rest refused by the account's delay, the owner's right code included");
            Assert.That(answers.Take(5), Is.EqualTo(new[]
            {
                "Le code saisi est incorrect. Il vous reste 4 essais.", "Le code saisi est incorrect. Il vous reste 3 essais.",
                "Le code saisi est incorrect. Il vous reste 2 essais.", "Le code saisi est incorrect. Il vous reste 1 essai.",
                "Le code saisi est incorrect. Trop d'essais : ce code n'est plus valable. Demandez l'envoi d'un nouveau code.",
            }), "a refused check answers exactly like a wrong code");
            Assert.That(rightDuringDelay.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        });

        // Once the delay (and the block of this one IP, which spent 41 attempts) has passed, the owner's right code works:
        // the budget delays guesses, it does not keep the owner out.
        _clock.Advance(TimeSpan.FromMinutes(16));
        var later = new RecoveryDriver(host.Host.CreateBrowser());
        var laterPage = await later.RequestCodePageAsync(JeanneNir);
        var laterCode = SmsGatewaySink.CodeIn((await host.Sms.WaitForAsync(JeanneMobile, alreadySeen: 9)).Text);
        Assert.That(FirstLoginDriver.Next(await later.Pages.PostAsync(laterPage, new Dictionary<string, string> { ["Code"] = laterCode })).AbsolutePathOrOriginal(),
            Is.EqualTo("/mot-de-passe-oublie/nouveau-mot-de-passe"));
    }

    [Test]
    public async Task Wrong_first_login_contact_codes_spend_the_account_budget()
    {
        await using var host = StartHost(new Dictionary<string, string?> { ["Throttling:LockAfterFailures"] = "5", ["Throttling:FreeFailures"] = "100" });
        var paul = new FirstLoginDriver(host.Host.CreateBrowser());
        var intro = await paul.LoginWithLegacyCodeAsync();
        var contact = await paul.AcceptTermsAndChoosePasswordAsync(intro);
        var verify = FirstLoginDriver.Next(await paul.PostAsync(contact, new Dictionary<string, string> { ["Channel"] = "Sms", ["Mobile"] = "06 15 00 00 99" }));
        for (var i = 0; i < 5; i++)
        {
            await paul.PostAsync(verify, new Dictionary<string, string> { ["Code"] = "999999" });
        }
        var person = await host.QueryAsync(db => db.Persons.AsNoTracking().SingleAsync(p => p.Nir == FirstLoginDriver.PaulNir));
        var locked = await host.QueryAsync(db => db.AuditEvents.AsNoTracking().CountAsync(e => e.PersonId == person.Id && e.Type == AuditEventTypes.AccountLocked));
        Assert.That(locked, Is.EqualTo(1), "five wrong contact codes reach the (lowered) lock threshold of the account");
    }

    /// <summary>
    /// Without a NIR nobody exists yet: the budget is the civil status being claimed, so another contact or a new flow
    /// for the same civil status spends the same budget.
    /// </summary>
    [Test]
    public async Task Creation_codes_without_a_NIR_spend_the_budget_of_the_claimed_civil_status()
    {
        await using var host = StartHost(new Dictionary<string, string?>
        {
            ["Throttling:LockAfterFailures"] = "3",
            ["Throttling:FreeFailures"] = "100",
        });
        for (var flowNumber = 0; flowNumber < 3; flowNumber++)
        {
            var attacker = new AccountCreationDriver(host);
            var verify = FirstLoginDriver.Next(await attacker.SubmitWithoutNirAsync(AccountCreationDriver.Morvan(contact: $"attaquant{flowNumber}@test.fr")));
            await attacker.Pages.PostAsync(verify, new Dictionary<string, string> { ["Code"] = "999999" });
        }
        var morvan = new AccountCreationDriver(host);
        var page = FirstLoginDriver.Next(await morvan.SubmitWithoutNirAsync(AccountCreationDriver.Morvan()));
        var code = await morvan.CodeSentToAsync("daniel.morvan@test.fr");
        var refused = await morvan.Pages.PostAsync(page, new Dictionary<string, string> { ["Code"] = code });
        Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), "the claimed civil status is locked: the right code is refused");
        Assert.That(await OidcDriver.ErrorsOf(refused), Does.Contain("Le code saisi est incorrect"));

        _clock.Advance(TimeSpan.FromMinutes(16));
        var after = new AccountCreationDriver(host);
        var afterPage = FirstLoginDriver.Next(await after.SubmitWithoutNirAsync(AccountCreationDriver.Morvan(contact: "daniel.morvan2@test.fr")));
        var afterCode = await after.CodeSentToAsync("daniel.morvan2@test.fr");
        Assert.That(FirstLoginDriver.Next(await after.Pages.PostAsync(afterPage, new Dictionary<string, string> { ["Code"] = afterCode })).AbsolutePathOrOriginal(),
            Is.EqualTo("/creer-mon-compte/recapitulatif"), "after the lock the person creates their account");
    }

    [Test]
    public async Task Every_per_IP_request_limit_counts_an_IPv6_client_by_its_64()
    {
        _clock = new ManualClock();
        await using var host = JourneyHost.Start(kind, new Dictionary<string, string?>
        {
            ["Notifications:FileSink:Directory"] = HostStore.NewSinkDirectory(),
            ["Recovery:RateLimit:KeyPrefix"] = $"test-{Guid.NewGuid():N}:",
            ["Recovery:RateLimit:PerIpLimit"] = "2",
        }, services => services.AddSingleton<IStartupFilter, TestClientIp>());
        async Task<HttpStatusCode> RecoveryFrom(string ip, string identifier)
        {
            var browser = host.Host.CreateBrowser();
            browser.DefaultRequestHeaders.Add(TestClientIp.Header, ip);
            return (await new RecoveryDriver(browser).RequestAsync(identifier)).StatusCode;
        }
        var first = await RecoveryFrom("2001:db8:1:2::1", "P10000001");
        var second = await RecoveryFrom("2001:db8:1:2:aaaa::7", "P10000002");
        var thirdSame64 = await RecoveryFrom("2001:db8:1:2:ffff:ffff:ffff:ffff", "P10000003");
        var otherNetwork = await RecoveryFrom("2001:db8:1:3::1", "P10000004");
        Assert.Multiple(() =>
        {
            Assert.That(new[] { first, second }, Is.All.EqualTo(HttpStatusCode.Redirect));
            Assert.That(thirdSame64, Is.EqualTo((HttpStatusCode)429), "three addresses of one /64 are one client");
            Assert.That(otherNetwork, Is.EqualTo(HttpStatusCode.Redirect), "another /64 has its own budget");
        });
    }
}
