using System.Net;
using CafConnect.IdP.Demo;
using CafConnect.IdP.Tests.Features.AccountCreation;
using CafConnect.IdP.Tests.Features.FirstLogin;
using CafConnect.IdP.Tests.Features.Recovery;
using CafConnect.IdP.Tests.Support;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace CafConnect.IdP.Tests.Security;

/// <summary>
/// Enumeration (issue 12 item 4, issue 20 item 3): the journeys that promise not to tell whether an account exists give
/// the same whole answer — status, full <c>Location</c>, headers, cookies and body, compared with
/// <see cref="ResponseSnapshot"/> — for every branch, at every step. Over HTTP on the real host, both stores.
/// </summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
public sealed class IdenticalAnswersTests(StoreKind kind)
{
    private const string UnknownNir = "1850575112099";

    private ManualClock _clock = null!;

    private JourneyHost StartHost()
    {
        _clock = new ManualClock();
        return JourneyHost.Start(kind, new Dictionary<string, string?>
        {
            ["Notifications:FileSink:Directory"] = HostStore.NewSinkDirectory(),
            ["Recovery:RateLimit:KeyPrefix"] = $"test-{Guid.NewGuid():N}:",
        }, services => services.AddSingleton<TimeProvider>(_clock));
    }

    /// <summary>
    /// « Mot de passe oublié ? » for an account with two verified contacts (Jeanne), one (Louise, her e-mail
    /// unverified here), none (Karim: the letter path), an unknown NIR and a closed account (Marc, closed here):
    /// the request, the code page, a wrong code, « Demander un nouveau code » by SMS and by mail right away (too soon)
    /// and after the interval, the page after a resend, the new-password page typed directly, and « Quitter ».
    /// </summary>
    [Test]
    public async Task Password_recovery_answers_alike_at_every_step_for_two_contacts_one_none_unknown_and_closed()
    {
        await using var host = StartHost();
        await host.QueryAsync(async db =>
        {
            var louise = await db.Persons.SingleAsync(p => p.Nir == DemoData.LouiseDubois.Nir);
            louise.EmailVerified = false;
            var marc = await db.Persons.SingleAsync(p => p.Nir == DemoData.MarcDupont.Nir);
            marc.ClosedAt = DateTimeOffset.UtcNow.AddDays(-1);
            return await db.SaveChangesAsync();
        });
        var branches = new (string Name, string Identifier)[]
        {
            ("deux coordonnées", DemoData.JeanneDupont.Nir!),
            ("une coordonnée", DemoData.LouiseDubois.Nir!),
            ("aucune coordonnée", DemoData.KarimBenali.Nir!),
            ("identifiant inconnu", UnknownNir),
            ("compte clôturé", DemoData.MarcDupont.Nir!),
        };
        var steps = new SortedDictionary<string, List<(string Branch, string Snapshot)>>(StringComparer.Ordinal);
        void Record(string step, string branch, string snapshot)
        {
            if (!steps.TryGetValue(step, out var list))
            {
                steps[step] = list = [];
            }
            list.Add((branch, snapshot));
        }

        foreach (var (name, identifier) in branches)
        {
            var person = new RecoveryDriver(host.Host.CreateBrowser());
            var (startPage, startHtml) = await person.Pages.GetAsync(new Uri("/mot-de-passe-oublie", UriKind.Relative));
            Record("01 GET /mot-de-passe-oublie", name, await ResponseSnapshot.OfAsync(startPage));
            var requested = await person.RequestAsync(identifier);
            Record("02 POST identifier", name, await ResponseSnapshot.OfAsync(requested));
            var codePage = requested.Headers.Location!;
            Record("03 GET code page", name, await ResponseSnapshot.OfAsync(await person.Browser.GetAsync(codePage)));
            Record("04 POST wrong code", name, await ResponseSnapshot.OfAsync(await person.Pages.PostAsync(codePage, new Dictionary<string, string> { ["Code"] = "999999" })));
            Record("05 POST malformed code", name, await ResponseSnapshot.OfAsync(await person.Pages.PostAsync(codePage, new Dictionary<string, string> { ["Code"] = "12a" })));
            Record("06 POST resend by SMS at once", name, await ResponseSnapshot.OfAsync(await person.Pages.PostAsync(codePage, new Dictionary<string, string>(), "ResendSms")));
            Record("07 POST resend by mail at once", name, await ResponseSnapshot.OfAsync(await person.Pages.PostAsync(codePage, new Dictionary<string, string>(), "ResendEmail")));
            _clock.Advance(TimeSpan.FromSeconds(31));
            var resent = await person.Pages.PostAsync(codePage, new Dictionary<string, string>(), "ResendEmail");
            Record("08 POST resend by mail after 30 s", name, await ResponseSnapshot.OfAsync(resent));
            if (resent.Headers.Location is { } afterResend)
            {
                Record("09 GET code page after a resend", name, await ResponseSnapshot.OfAsync(await person.Browser.GetAsync(afterResend)));
            }
            Record("10 POST resend by SMS at once after that", name, await ResponseSnapshot.OfAsync(await person.Pages.PostAsync(codePage, new Dictionary<string, string>(), "ResendSms")));
            _clock.Advance(TimeSpan.FromSeconds(31));
            Record("11 POST resend by SMS after 30 s", name, await ResponseSnapshot.OfAsync(await person.Pages.PostAsync(codePage, new Dictionary<string, string>(), "ResendSms")));
            Record("12 POST wrong code after resends", name, await ResponseSnapshot.OfAsync(await person.Pages.PostAsync(codePage, new Dictionary<string, string> { ["Code"] = "999999" })));
            var passwordPage = new Uri("/mot-de-passe-oublie/nouveau-mot-de-passe?flow=" + FirstLoginDriver.FlowIdOf(codePage), UriKind.Relative);
            Record("13 GET new-password page without the code", name, await ResponseSnapshot.OfAsync(await person.Browser.GetAsync(passwordPage)));
            Record("14 POST quit", name, await ResponseSnapshot.OfAsync(await person.Pages.PostAsync(codePage, new Dictionary<string, string>(), "Quit")));
            Record("15 GET code page after quitting", name, await ResponseSnapshot.OfAsync(await person.Browser.GetAsync(codePage)));
            _ = startHtml;
        }

        Assert.Multiple(() =>
        {
            foreach (var (step, answers) in steps)
            {
                Assert.That(answers, Has.Count.EqualTo(branches.Length), $"{step}: reached by every branch");
                ResponseSnapshot.AssertAllEqual(step, answers);
            }
        });
        Assert.That(steps["02 POST identifier"][0].Snapshot, Does.StartWith("status: 302\n").And.Contain("location: /mot-de-passe-oublie/code?flow=FLOW\n"));
        Assert.That(steps["07 POST resend by mail at once"][0].Snapshot, Does.StartWith("status: 400\n"), "too soon, for every branch");
        Assert.That(steps["08 POST resend by mail after 30 s"][0].Snapshot, Does.Contain("location: /mot-de-passe-oublie/code?flow=FLOW&renvoye=1\n"));
    }

    /// <summary>
    /// The message ceiling across journeys (docs/decisions.md #31) must not tell whether a NIR names someone: « Mot de
    /// passe oublié ? » for a person whose ceiling other journeys already spent (Jeanne: her codes are withheld), a
    /// person within it (Louise) and an unknown NIR give the same whole answers — the request, the code page, a resend,
    /// the page after it, and the resend that reaches the identifier's own count (refused alike for all three). The
    /// ceiling is lowered to 2 an hour so that it, not the flow's 4 sends, is what refuses.
    /// </summary>
    [Test]
    public async Task Password_recovery_answers_alike_when_the_persons_message_ceiling_is_spent_within_it_and_for_an_unknown_NIR()
    {
        _clock = new ManualClock();
        await using var host = JourneyHost.Start(kind, new Dictionary<string, string?>
        {
            ["Notifications:FileSink:Directory"] = HostStore.NewSinkDirectory(),
            ["Recovery:RateLimit:KeyPrefix"] = $"test-{Guid.NewGuid():N}:",
            ["Messages:Cap:PerHour"] = "2",
            ["Messages:Cap:PerDay"] = "2",
        }, services => services.AddSingleton<TimeProvider>(_clock));
        var jeanneId = await host.QueryAsync(async db => (await db.Persons.SingleAsync(p => p.Nir == DemoData.JeanneDupont.Nir)).Id);
        // Other journeys (a creation, a first login…) spent Jeanne's ceiling before this recovery.
        for (var i = 0; i < 2; i++)
        {
            using var scope = host.Host.Services.CreateScope();
            var cap = scope.ServiceProvider.GetRequiredService<CafConnect.Application.RateLimiting.MessageCap>();
            Assert.That(await cap.CountAsync(CafConnect.Application.RateLimiting.MessageCap.Journeys.AccountCreation,
                new CafConnect.Application.RateLimiting.MessageRecipient(jeanneId), answersAlike: false, CancellationToken.None),
                Is.EqualTo(CafConnect.Application.RateLimiting.MessageCapOutcome.Allowed));
        }
        var branches = new (string Name, string Identifier)[]
        {
            ("plafond atteint", DemoData.JeanneDupont.Nir!),
            ("sous le plafond", DemoData.LouiseDubois.Nir!),
            ("identifiant inconnu", UnknownNir),
        };
        var steps = new SortedDictionary<string, List<(string Branch, string Snapshot)>>(StringComparer.Ordinal);
        void Record(string step, string branch, string snapshot) => (steps.TryGetValue(step, out var list) ? list : steps[step] = []).Add((branch, snapshot));
        foreach (var (name, identifier) in branches)
        {
            var person = new RecoveryDriver(host.Host.CreateBrowser());
            var requested = await person.RequestAsync(identifier);
            Record("01 POST identifier", name, await ResponseSnapshot.OfAsync(requested));
            var codePage = requested.Headers.Location!;
            Record("02 GET code page", name, await ResponseSnapshot.OfAsync(await person.Browser.GetAsync(codePage)));
            _clock.Advance(TimeSpan.FromSeconds(31));
            var resent = await person.Pages.PostAsync(codePage, new Dictionary<string, string>(), "ResendSms");
            Record("03 POST resend after 30 s", name, await ResponseSnapshot.OfAsync(resent));
            Record("04 GET code page after the resend", name, await ResponseSnapshot.OfAsync(await person.Browser.GetAsync(resent.Headers.Location)));
            _clock.Advance(TimeSpan.FromSeconds(31));
            Record("05 POST resend over the identifier's count", name,
                await ResponseSnapshot.OfAsync(await person.Pages.PostAsync(codePage, new Dictionary<string, string>(), "ResendSms")));
        }

        Assert.Multiple(() =>
        {
            foreach (var (step, answers) in steps)
            {
                Assert.That(answers, Has.Count.EqualTo(branches.Length), $"{step}: reached by every branch");
                ResponseSnapshot.AssertAllEqual(step, answers);
            }
        });
        Assert.That(WebUtility.HtmlDecode(steps["05 POST resend over the identifier's count"][0].Snapshot), Does.StartWith("status: 400\n")
            .And.Contain("Vous avez demandé le nombre maximum de codes. Recommencez la démarche plus tard."));
        var codes = await host.QueryAsync(db => db.OutboxMessages.AsNoTracking()
            .Where(m => m.Kind == CafConnect.Infrastructure.Notifications.NotificationKind.VerificationCode).Select(m => m.PersonId).ToListAsync());
        Assert.Multiple(() =>
        {
            Assert.That(codes.Count(id => id == jeanneId), Is.Zero, "Jeanne's ceiling was spent: her codes were withheld");
            Assert.That(codes, Has.Count.EqualTo(2), "Louise's two codes, within her ceiling");
        });
    }

    /// <summary>
    /// « Identifiant provisoire oublié ? » for a civil status that holds a provisional identifier with this verified
    /// contact (Amina: the identifier is sent), the same civil status with another contact, an unknown civil status, and
    /// the same holder once her account is closed: the form, the request and the page after it.
    /// </summary>
    [Test]
    public async Task The_provisional_id_reminder_answers_alike_whether_or_not_the_civil_status_and_contact_match()
    {
        await using var host = StartHost();
        var branches = new (string Name, string BirthName, string Contact, bool CloseFirst)[]
        {
            ("identité et mail connus", "Diallo", "amina.diallo@example.fr", false),
            ("identité connue, autre mail", "Diallo", "quelquun@example.fr", false),
            ("identité inconnue", "Inconnue", "amina.diallo@example.fr", false),
            ("compte clôturé", "Diallo", "amina.diallo@example.fr", true),
        };
        var steps = new Dictionary<string, List<(string Branch, string Snapshot)>>();
        void Record(string step, string branch, string snapshot) => (steps.TryGetValue(step, out var list) ? list : steps[step] = []).Add((branch, snapshot));
        foreach (var (name, birthName, contact, closeFirst) in branches)
        {
            if (closeFirst)
            {
                await host.QueryAsync(async db =>
                {
                    (await db.Persons.SingleAsync(p => p.ProvisionalId == DemoData.AminaDiallo.ProvisionalId)).ClosedAt = DateTimeOffset.UtcNow.AddDays(-1);
                    return await db.SaveChangesAsync();
                });
            }
            var browser = new FirstLoginDriver(host.Host.CreateBrowser());
            var form = new Uri("/identifiant-provisoire-oublie", UriKind.Relative);
            Record("1 GET form", name, await ResponseSnapshot.OfAsync(await browser.Browser.GetAsync(form)));
            var posted = await browser.PostAsync(form, new Dictionary<string, string>
            {
                ["BirthName"] = birthName, ["GivenNames"] = "Amina", ["BirthDate"] = "09/05/1990", ["Contact"] = contact,
            });
            Record("2 POST request", name, await ResponseSnapshot.OfAsync(posted));
            Assert.That(posted.StatusCode, Is.EqualTo(HttpStatusCode.Redirect), name);
            Record("3 GET page after", name, await ResponseSnapshot.OfAsync(await browser.Browser.GetAsync(posted.Headers.Location!)));
        }
        Assert.Multiple(() =>
        {
            foreach (var (step, answers) in steps)
            {
                ResponseSnapshot.AssertAllEqual(step, answers);
            }
        });
    }

    /// <summary>
    /// « Créer Mon Compte » with a NIR, before the civil status fully matches: an unknown NIR, a closed account's NIR and
    /// a known NIR with another birth name get one answer (what follows a full match — an existing account, a contact
    /// not on record — may differ: by then the person proved the civil status).
    /// </summary>
    [Test]
    public async Task Account_creation_with_a_NIR_refuses_alike_an_unknown_NIR_a_closed_account_and_a_civil_status_mismatch()
    {
        await using var host = StartHost();
        await host.QueryAsync(async db =>
        {
            (await db.Persons.SingleAsync(p => p.Nir == DemoData.MarcDupont.Nir)).ClosedAt = DateTimeOffset.UtcNow.AddDays(-1);
            return await db.SaveChangesAsync();
        });
        static string WithKey(string nir) => nir + (97 - long.Parse(nir) % 97).ToString("D2");
        // The same birth name typed everywhere: only the NIR differs, and the form shows back what was typed.
        var branches = new (string Name, string Nir)[]
        {
            ("NIR inconnu", "209036938302696"),
            ("compte clôturé", WithKey(DemoData.MarcDupont.Nir!)),
            ("état civil différent", AccountCreationDriver.LeaNir),
        };
        var answers = new List<(string Branch, string Snapshot)>();
        foreach (var (name, nir) in branches)
        {
            var person = new AccountCreationDriver(host);
            var response = await person.SubmitWithNirAsync(AccountCreationDriver.Lea(nir: nir, birthName: "Durand"));
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), name + ": " + await OidcDriver.ErrorsOf(response));
            answers.Add((name, (await ResponseSnapshot.OfAsync(response)).Replace(nir, "NIR")));
        }
        ResponseSnapshot.AssertAllEqual("POST /creer-mon-compte/avec-nir", answers);
    }
}
