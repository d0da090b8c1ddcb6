using System.Net;
using CafConnect.IdP.Demo;
using CafConnect.IdP.Tests.Features.FirstLogin;
using CafConnect.IdP.Tests.Features.Recovery;
using CafConnect.IdP.Tests.Support;
using CafConnect.Infrastructure.Audit;
using CafConnect.Infrastructure.Notifications;
using Microsoft.EntityFrameworkCore;

namespace CafConnect.IdP.Tests.Features.ProvisionalIdRecovery;

/// <summary>"Identifiant provisoire oublié ?" over HTTP: the identifier reaches the verified contact, never the page.</summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
public sealed class ProvisionalIdRecoveryTests(StoreKind kind)
{
    private static Dictionary<string, string> Amina(string contact = "amina.diallo@example.fr", string birthDate = "09/05/1990", string givenNames = "amina") => new()
    {
        ["BirthName"] = "Diallo",
        ["GivenNames"] = givenNames,
        ["BirthDate"] = birthDate,
        ["Contact"] = contact,
    };

    private static Task<HttpResponseMessage> SubmitAsync(JourneyHost host, Dictionary<string, string> fields) =>
        new FirstLoginDriver(host.Host.CreateBrowser()).PostAsync(new Uri("/identifiant-provisoire-oublie", UriKind.Relative), fields);

    [Test]
    public async Task The_identifier_is_sent_to_the_verified_e_mail_and_never_shown()
    {
        await using var host = HostStore.Start(kind);
        var browser = new FirstLoginDriver(host.Host.CreateBrowser());

        var posted = await browser.PostAsync(new Uri("/identifiant-provisoire-oublie", UriKind.Relative), Amina(contact: " Amina.Diallo@EXAMPLE.fr "));
        Assert.That(posted.StatusCode, Is.EqualTo(HttpStatusCode.Redirect), await OidcDriver.ErrorsOf(posted));
        var (page, html) = await browser.GetAsync(posted.Headers.Location!);

        Assert.That(page.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(WebUtility.HtmlDecode(html), Does.Contain("Si les informations saisies correspondent"));
        Assert.That(html + await posted.Content.ReadAsStringAsync(), Does.Not.Contain(DemoData.AminaDiallo.ProvisionalId!));
        var amina = await host.QueryAsync(db => db.Persons.AsNoTracking().SingleAsync(p => p.ProvisionalId == DemoData.AminaDiallo.ProvisionalId));
        var message = (await host.OutboxOfAsync(amina.Id)).Single();
        Assert.That(message.Kind, Is.EqualTo(NotificationKind.ProvisionalIdReminder));
        Assert.That(message.Channel, Is.EqualTo(NotificationChannel.Email));
        var text = await host.WaitForFileTextAsync(message.Id);
        Assert.That(text, Does.Contain("Rappel de celui-ci : P33392250.").And.Contain("Veillez le conserver"));
        var audit = await host.QueryAsync(db => db.AuditEvents.AsNoTracking().SingleAsync(e => e.Type == AuditEventTypes.ProvisionalIdReminderRequested));
        Assert.That((audit.Outcome, audit.PersonId), Is.EqualTo(("sent", (Guid?)amina.Id)));
    }

    [Test]
    public async Task The_identifier_goes_by_SMS_with_the_seed_wording_when_the_verified_mobile_is_given()
    {
        await using var host = HostStore.Start(kind);
        await host.QueryAsync(async db =>
        {
            var amina = await db.Persons.SingleAsync(p => p.ProvisionalId == DemoData.AminaDiallo.ProvisionalId);
            amina.MobilePhone = "+33615000009";
            amina.MobilePhoneVerified = true;
            return await db.SaveChangesAsync();
        });

        var posted = await SubmitAsync(host, Amina(contact: "06 15 00 00 09"));

        Assert.That(posted.StatusCode, Is.EqualTo(HttpStatusCode.Redirect));
        var sms = await host.Sms.WaitForAsync("+33615000009");
        Assert.That(sms.Text, Does.StartWith("Vous venez de demander votre identifiant de connexion. Veillez le conserver : P33392250."));
    }

    [TestCase("amina.autre@example.fr", "09/05/1990", "Amina", TestName = "A contact that is not hers gets the same answer and no message")]
    [TestCase("amina.diallo@example.fr", "10/05/1990", "Amina", TestName = "A wrong birth date gets the same answer and no message")]
    [TestCase("amina.diallo@example.fr", "09/05/1990", "Aminata", TestName = "A wrong given name gets the same answer and no message")]
    [TestCase("jeanne.dupont@example.fr", "14/03/1985", "Jeanne", TestName = "A person without a provisional identifier gets the same answer and no message")]
    public async Task A_mismatch_gets_the_same_answer_and_sends_nothing(string contact, string birthDate, string givenNames)
    {
        await using var host = HostStore.Start(kind);
        var matchedBrowser = new FirstLoginDriver(host.Host.CreateBrowser());
        var matched = await matchedBrowser.PostAsync(new Uri("/identifiant-provisoire-oublie", UriKind.Relative), Amina());
        var otherBrowser = new FirstLoginDriver(host.Host.CreateBrowser());
        var fields = Amina(contact, birthDate, givenNames);
        if (contact.StartsWith("jeanne", StringComparison.Ordinal))
        {
            fields["BirthName"] = "Dupont";
        }
        var other = await otherBrowser.PostAsync(new Uri("/identifiant-provisoire-oublie", UriKind.Relative), fields);

        Assert.That(other.StatusCode, Is.EqualTo(matched.StatusCode));
        Assert.That(other.Headers.Location!.AbsolutePathOrOriginal(), Is.EqualTo(matched.Headers.Location!.AbsolutePathOrOriginal()));
        var (_, matchedHtml) = await matchedBrowser.GetAsync(matched.Headers.Location!);
        var (_, otherHtml) = await otherBrowser.GetAsync(other.Headers.Location!);
        Assert.That(RecoveryDriver.Comparable(otherHtml), Is.EqualTo(RecoveryDriver.Comparable(matchedHtml)));
        var messages = await host.QueryAsync(db => db.OutboxMessages.CountAsync(m => m.Kind == NotificationKind.ProvisionalIdReminder));
        Assert.That(messages, Is.EqualTo(1), "only the matching request sent a message");
    }

    [Test]
    public async Task Requests_are_limited_per_contact()
    {
        await using var host = HostStore.Start(kind, new Dictionary<string, string?> { ["Recovery:RateLimit:PerIdentifierLimit"] = "2" });
        Assert.That((await SubmitAsync(host, Amina())).StatusCode, Is.EqualTo(HttpStatusCode.Redirect));
        Assert.That((await SubmitAsync(host, Amina(birthDate: "01/01/1990"))).StatusCode, Is.EqualTo(HttpStatusCode.Redirect));

        var limited = await SubmitAsync(host, Amina());

        Assert.That(limited.StatusCode, Is.EqualTo((HttpStatusCode)429));
        Assert.That(await OidcDriver.ErrorsOf(limited), Does.Contain("trop de demandes"));
        Assert.That(await host.QueryAsync(db => db.OutboxMessages.CountAsync(m => m.Kind == NotificationKind.ProvisionalIdReminder)), Is.EqualTo(1));
    }

    [TestCase("31/02/1990", "JJ/MM/AAAA", TestName = "An impossible birth date gets a specific message")]
    [TestCase("01/01/2999", "passée", TestName = "A future birth date gets a specific message")]
    public async Task Malformed_input_gets_a_specific_message(string birthDate, string expected)
    {
        await using var host = HostStore.Start(kind);
        var refused = await SubmitAsync(host, Amina(birthDate: birthDate));
        Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(await OidcDriver.ErrorsOf(refused), Does.Contain(expected));
        var noContact = await SubmitAsync(host, Amina(contact: "01 23 45 67 89"));
        Assert.That(await OidcDriver.ErrorsOf(noContact), Does.Contain("06 ou 07"));
    }
}
