using System.Net;
using CafConnect.IdP.Federation;
using CafConnect.Application.SignIn;
using CafConnect.Domain.Accounts;
using CafConnect.Domain.Identity;
using CafConnect.Domain.Passwords;
using CafConnect.IdP.Demo;
using CafConnect.IdP.Features;
using CafConnect.IdP.Features.FirstLogin;
using CafConnect.IdP.Features.FranceConnect;
using CafConnect.IdP.Features.Login;
using CafConnect.IdP.Tests.Support;
using CafConnect.Infrastructure.Accounts;
using CafConnect.Infrastructure.Audit;
using CafConnect.Infrastructure.Flows;
using CafConnect.Infrastructure.Persistence;
using Microsoft.AspNetCore.Http;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace CafConnect.IdP.Tests.Features.SignIn;

/// <summary>
/// Every way a session opens commits through the one « commit a sign-in » (<see cref="CommitSignIn"/>): two sign-ins of
/// the same person at the same moment (the app and the web, two tabs) both open their session — on the password login,
/// FranceConnect and the end of the first-login steps alike. Only the password login used to merge them; the other two
/// answered 500. The other sign-in is a real password login of the same person, committed just before this one's
/// commit, on the host's own services (no HTTP round trip, so the interleaving is exact).
/// </summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
public sealed class SignInRaceTests(StoreKind kind) : StoreFixture(kind)
{
    private static readonly string Nir = DemoData.JeanneDupont.Nir!;

    /// <summary>Runs <paramref name="signIn"/> in a request scope; <paramref name="justBeforeTheFirstSave"/> commits first.</summary>
    private async Task<T> InRequestAsync<T>(Func<IServiceProvider, HttpContext, Task<T>> signIn, Action? justBeforeTheFirstSave = null)
    {
        await using var scope = Host.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<CafConnectDbContext>();
        if (justBeforeTheFirstSave is not null)
        {
            var done = false;
            db.SavingChanges += (_, _) =>
            {
                if (!done)
                {
                    done = true;
                    justBeforeTheFirstSave();
                }
            };
        }
        var http = new DefaultHttpContext { RequestServices = scope.ServiceProvider };
        http.Connection.RemoteIpAddress = IPAddress.Parse("198.51.100.31");
        scope.ServiceProvider.GetRequiredService<IHttpContextAccessor>().HttpContext = http;
        return await signIn(scope.ServiceProvider, http);
    }

    /// <summary>The other sign-in: Jeanne's password login, committed (last login, concurrency stamp, session row).</summary>
    private void OtherPasswordLogin()
    {
        var outcome = InRequestAsync((services, http) => services.GetRequiredService<LoginHandler>()
            .HandleAsync(new LoginAttempt(LoginIdentifierKind.Nir, Nir, DemoData.JeanneDupont.Password, "race-test"), http)).GetAwaiter().GetResult();
        Assert.That(outcome.Succeeded, Is.True, "the other sign-in commits first");
    }

    private async Task<List<AuditEvent>> SucceededLoginsSinceAsync(long afterId)
    {
        await using var scope = Host.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<CafConnectDbContext>();
        var person = await db.Persons.AsNoTracking().SingleAsync(p => p.Nir == Nir);
        return await db.AuditEvents.AsNoTracking().Where(a => a.PersonId == person.Id && a.Id > afterId && a.Type == AuditEventTypes.LoginSucceeded).ToListAsync();
    }

    private async Task<long> LastAuditIdAsync()
    {
        await using var scope = Host.Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<CafConnectDbContext>().AuditEvents.MaxAsync(a => (long?)a.Id) ?? 0;
    }

    private async Task<int> StoredSessionsAsync(IEnumerable<AuditEvent> logins)
    {
        var ids = logins.Select(a => a.SessionId).ToList();
        await using var scope = Host.Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<CafConnectDbContext>().ProviderSessions.CountAsync(s => ids.Contains(s.Id));
    }

    [Test]
    public async Task Two_password_logins_racing_both_open_their_session()
    {
        var since = await LastAuditIdAsync();
        var outcome = await InRequestAsync((services, http) => services.GetRequiredService<LoginHandler>()
            .HandleAsync(new LoginAttempt(LoginIdentifierKind.Nir, Nir, DemoData.JeanneDupont.Password, "race-test"), http), OtherPasswordLogin);

        Assert.That(outcome.Succeeded, Is.True);
        var logins = await SucceededLoginsSinceAsync(since);
        Assert.That(logins, Has.Count.EqualTo(2));
        Assert.That(await StoredSessionsAsync(logins), Is.EqualTo(2));
    }

    [Test]
    public async Task A_FranceConnect_sign_in_racing_a_password_login_opens_its_session()
    {
        var subject = "fc-race-" + Guid.NewGuid().ToString("N");
        await using (var scope = Host.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<CafConnectDbContext>();
            var jeanne = await db.Persons.SingleAsync(p => p.Nir == Nir);
            db.ExternalLogins.RemoveRange(db.ExternalLogins.Where(l => l.PersonId == jeanne.Id));
            new ExternalLoginDirectory(db).Add(FranceConnectOptions.ProviderName, subject, jeanne.Id, DateTimeOffset.UtcNow);
            await db.SaveChangesAsync();
        }
        var pivot = new PivotIdentity(subject, "Jeanne", "DUPONT", DemoData.JeanneDupont.BirthDate, "female", null, PivotIdentity.FranceCountryCode);
        var since = await LastAuditIdAsync();

        // Built as the host builds it when FranceConnect is enabled (this host runs without it: no stand-in needed here).
        var outcome = await InRequestAsync((services, http) => ActivatorUtilities.CreateInstance<FranceConnectSignIn>(services,
                new ExternalLoginDirectory(services.GetRequiredService<CafConnectDbContext>()))
            .SignInAsync(http, pivot, idToken: null, "/mon-compte", clientId: null, CancellationToken.None), OtherPasswordLogin);

        Assert.That(outcome, Is.EqualTo(new FranceConnectOutcome("/mon-compte", SignedIn: true)), "merged with the other sign-in, not a 500");
        var logins = await SucceededLoginsSinceAsync(since);
        Assert.That(logins.Select(a => a.Outcome), Is.EquivalentTo(new[] { "pwd", "fc" }));
        Assert.That(await StoredSessionsAsync(logins), Is.EqualTo(2));
    }

    /// <summary>A first-login flow for Jeanne with one step left (the terms), stored; returns its id.</summary>
    private async Task<string> StartFirstLoginAsync()
    {
        return await InRequestAsync(async (services, http) =>
        {
            var jeanne = await services.GetRequiredService<PersonDirectory>().FindByNirAsync(Nir);
            var flow = services.GetRequiredService<FirstLoginJourney>().Start(http, jeanne!, [RequiredAction.AcceptTerms], PasswordKind.Personal, "/mon-compte", null);
            await services.GetRequiredService<CafConnectDbContext>().SaveChangesAsync();
            return flow.Id;
        });
    }

    private async Task<StepResult> AcceptTermsAsync(string flowId, Action justBeforeTheFirstSave) =>
        await InRequestAsync(async (services, http) =>
        {
            var db = services.GetRequiredService<CafConnectDbContext>();
            var flow = await db.Flows.SingleAsync(f => f.Id == flowId);
            var person = (await services.GetRequiredService<PersonDirectory>().FindByIdAsync(flow.PersonId!.Value))!;
            var step = new FirstLoginStep(flow, FlowStore.ReadContext<FirstLoginContext>(flow), person);
            return await services.GetRequiredService<FirstLoginJourney>().AcceptTermsAsync(http, step, accepted: true, CancellationToken.None);
        }, justBeforeTheFirstSave);

    [Test]
    public async Task The_end_of_the_first_login_steps_racing_a_password_login_opens_its_session()
    {
        var flowId = await StartFirstLoginAsync();
        var since = await LastAuditIdAsync();

        var result = await AcceptTermsAsync(flowId, OtherPasswordLogin);

        Assert.That(result.RedirectTo, Is.EqualTo("/mon-compte"), "the last step ends signed in, merged with the other sign-in");
        var logins = await SucceededLoginsSinceAsync(since);
        Assert.That(logins.Select(a => a.Outcome), Is.EquivalentTo(new[] { "pwd", "pwd+required_actions" }));
        Assert.That(await StoredSessionsAsync(logins), Is.EqualTo(2));
    }

    [Test]
    public async Task The_end_of_the_first_login_steps_after_a_password_replaced_meanwhile_opens_nothing()
    {
        var flowId = await StartFirstLoginAsync();
        var since = await LastAuditIdAsync();

        var result = await AcceptTermsAsync(flowId, () =>
        {
            using var scope = Host.Services.CreateScope();
            var db = scope.ServiceProvider.GetRequiredService<CafConnectDbContext>();
            var person = db.Persons.Single(p => p.Nir == Nir);
            person.PasswordSetAt = DateTimeOffset.UtcNow;
            person.ConcurrencyStamp = Guid.NewGuid();
            db.SaveChanges();
        });

        Assert.That(result.Errors.Values, Is.EqualTo(new[] { CommitSignIn.AccountChangedMessage }), "a French message, not a 500");
        Assert.That(await SucceededLoginsSinceAsync(since), Is.Empty, "nothing of the step is stored");
    }
}
