using System.Net;
using CafConnect.IdP.Demo;
using CafConnect.IdP.Tests.Support;
using CafConnect.Infrastructure.Audit;
using CafConnect.Infrastructure.Persistence;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace CafConnect.IdP.Tests.Features.Login;

/// <summary>
/// The return URL of the login page: any unusable one falls back to « Mon compte » (security issue, item 8), and the
/// client it names reaches the audit trail only when registered (agency-paths issue, item 3).
/// </summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
public sealed class ReturnUrlTests(StoreKind kind) : StoreFixture(kind)
{
    [TestCase("/%E3%80%80/evil.com", TestName = "A return URL with an ideographic space falls back to Mon compte")]
    [TestCase("/%09/evil.com", TestName = "A return URL with a tab falls back to Mon compte")]
    [TestCase("//evil.com", TestName = "A protocol-relative return URL falls back to Mon compte")]
    [TestCase("/%5Cevil.com", TestName = "A return URL with a backslash falls back to Mon compte")]
    [TestCase("https%3A%2F%2Fevil.com", TestName = "An absolute return URL falls back to Mon compte")]
    [TestCase("/mon-compte/%C3%A9", TestName = "A non-ASCII path of our own falls back to Mon compte")]
    public async Task Unusable_return_url_falls_back_to_Mon_compte_after_a_correct_login(string encodedReturnUrl)
    {
        var driver = NewBrowser();

        var login = await driver.SubmitLoginAsync(new Uri("/connexion?returnUrl=" + encodedReturnUrl, UriKind.Relative), DemoData.JeanneDupont.Nir!, DemoData.JeanneDupont.Password);

        Assert.That(login.StatusCode, Is.EqualTo(HttpStatusCode.Redirect), await OidcDriver.ErrorsOf(login));
        Assert.That(login.Headers.Location!.OriginalString, Is.EqualTo("/mon-compte"));
        Assert.That((await driver.Browser.GetAsync("/mon-compte")).StatusCode, Is.EqualTo(HttpStatusCode.OK), "signed in");
    }

    [Test]
    public async Task An_unregistered_client_id_in_the_return_url_never_reaches_the_audit_trail()
    {
        const string forged = "client-invente;=1+1";
        var returnUrl = "/connect/authorize?client_id=" + Uri.EscapeDataString(forged) + "&response_type=code";
        var driver = NewBrowser();

        await driver.SubmitLoginAsync(new Uri("/connexion?returnUrl=" + Uri.EscapeDataString(returnUrl), UriKind.Relative), DemoData.LouiseDubois.Nir!, "MauvaisMotDePasse1");
        await driver.SubmitLoginAsync(new Uri("/connexion?returnUrl=" + Uri.EscapeDataString(returnUrl), UriKind.Relative), DemoData.LouiseDubois.Nir!, DemoData.LouiseDubois.Password);

        using var scope = Host.Services.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<CafConnectDbContext>();
        var louise = await db.Persons.SingleAsync(p => p.Nir == DemoData.LouiseDubois.Nir);
        var events = await db.AuditEvents.Where(e => e.PersonId == louise.Id && (e.Type == AuditEventTypes.LoginFailed || e.Type == AuditEventTypes.LoginSucceeded)).ToListAsync();
        Assert.That(events.Select(e => e.Type), Does.Contain(AuditEventTypes.LoginFailed).And.Contain(AuditEventTypes.LoginSucceeded));
        Assert.That(events.Select(e => e.ClientId), Has.None.EqualTo(forged));
        Assert.That(await db.AuditEvents.AnyAsync(e => e.ClientId == forged), Is.False, "nowhere in the trail");
    }

    [Test]
    public async Task A_registered_client_id_in_the_return_url_is_audited()
    {
        var parameters = OidcDriver.AuthorizationParameters(TestClient.Aripa, Pkce.Create(), scope: "openid");
        var driver = NewBrowser();
        var challenge = await driver.AuthorizeAsync(parameters);

        await driver.SubmitLoginAsync(challenge.Headers.Location!, DemoData.JeanneDupont.Nir!, DemoData.JeanneDupont.Password);

        using var scope = Host.Services.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<CafConnectDbContext>();
        var jeanne = await db.Persons.SingleAsync(p => p.Nir == DemoData.JeanneDupont.Nir);
        Assert.That(await db.AuditEvents.Where(e => e.PersonId == jeanne.Id && e.Type == AuditEventTypes.LoginSucceeded).Select(e => e.ClientId).ToListAsync(), Does.Contain(TestClient.Aripa.ClientId));
    }
}
