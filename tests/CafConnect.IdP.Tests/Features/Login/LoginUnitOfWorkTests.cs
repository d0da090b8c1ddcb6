using System.Net;
using CafConnect.Domain.Identity;
using CafConnect.IdP.Demo;
using CafConnect.IdP.Features.Login;
using CafConnect.IdP.Tests.Support;
using CafConnect.Infrastructure.Audit;
using CafConnect.Infrastructure.Persistence;
using Microsoft.AspNetCore.Http;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace CafConnect.IdP.Tests.Features.Login;

/// <summary>
/// The login is one use case with one save point (docs/decisions.md #22): whatever its outcome, what it changed (last
/// login, an upgraded hash, the session row) and its audit line are committed together, once — no audit line saves
/// half of it on the way. Called without HTTP round trips, on the host's own services.
/// </summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
public sealed class LoginUnitOfWorkTests(StoreKind kind) : StoreFixture(kind)
{
    private async Task<(LoginOutcome Outcome, int Commits)> LogInAsync(string nir, string password)
    {
        await using var scope = Host.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<CafConnectDbContext>();
        var commits = 0;
        db.SavedChanges += (_, _) => commits++;
        var http = new DefaultHttpContext { RequestServices = scope.ServiceProvider };
        http.Connection.RemoteIpAddress = IPAddress.Parse("198.51.100.23");
        // The audit lines read the request (session id) through the accessor, as in a real request.
        scope.ServiceProvider.GetRequiredService<IHttpContextAccessor>().HttpContext = http;
        var outcome = await scope.ServiceProvider.GetRequiredService<LoginHandler>()
            .HandleAsync(new LoginAttempt(LoginIdentifierKind.Nir, nir, password, "unit-of-work-test"), http);
        return (outcome, commits);
    }

    private async Task<List<AuditEvent>> AuditOfAsync(string nir)
    {
        await using var scope = Host.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<CafConnectDbContext>();
        var person = await db.Persons.AsNoTracking().SingleAsync(p => p.Nir == nir);
        return await db.AuditEvents.AsNoTracking().Where(a => a.PersonId == person.Id && a.ClientId == "unit-of-work-test").ToListAsync();
    }

    [Test]
    public async Task A_wrong_password_commits_once_with_its_audit_line()
    {
        var (outcome, commits) = await LogInAsync(DemoData.LouiseDubois.Nir!, "PasLeBon1234");

        Assert.That(outcome.FormError, Is.Not.Null);
        Assert.That(commits, Is.EqualTo(1));
        Assert.That((await AuditOfAsync(DemoData.LouiseDubois.Nir!)).Select(a => (a.Type, a.Outcome)),
            Is.EqualTo(new[] { (AuditEventTypes.LoginFailed, (string?)"wrong_password") }));
    }

    [Test]
    public async Task A_legacy_code_first_login_commits_once_the_last_login_and_the_required_actions_line()
    {
        var (outcome, commits) = await LogInAsync(DemoData.PaulMartin.Nir!, DemoData.MartinLegacyCode);

        Assert.That(outcome.NeedsActions, Is.True);
        Assert.That(commits, Is.EqualTo(1));
        Assert.That((await AuditOfAsync(DemoData.PaulMartin.Nir!)).Select(a => a.Type), Is.EqualTo(new[] { AuditEventTypes.LoginRequiredActions }));
        await using var scope = Host.Services.CreateAsyncScope();
        var stored = await scope.ServiceProvider.GetRequiredService<CafConnectDbContext>().Persons.AsNoTracking().SingleAsync(p => p.Nir == DemoData.PaulMartin.Nir);
        Assert.That(stored.LastLoginAt, Is.Not.Null, "committed with the audit line");
    }

    [Test]
    public async Task A_successful_login_commits_once_the_session_row_and_its_audit_line()
    {
        var (outcome, commits) = await LogInAsync(DemoData.JeanneDupont.Nir!, DemoData.JeanneDupont.Password);

        Assert.That(outcome.Succeeded, Is.True, "Jeanne has nothing pending: she is signed in");
        Assert.That(commits, Is.EqualTo(1));
        var audit = await AuditOfAsync(DemoData.JeanneDupont.Nir!);
        Assert.That(audit.Select(a => a.Type), Is.EqualTo(new[] { AuditEventTypes.LoginSucceeded }));
        Assert.That(audit[0].SessionId, Is.Not.Null);
        await using var scope = Host.Services.CreateAsyncScope();
        Assert.That(await scope.ServiceProvider.GetRequiredService<CafConnectDbContext>().ProviderSessions.AnyAsync(s => s.Id == audit[0].SessionId),
            Is.True, "the session row the audit line names was committed with it");
    }
}
