using System.Net;
using CafConnect.IdP.Tests.Support;
using CafConnect.Infrastructure.Notifications;
using CafConnect.Infrastructure.Persistence;
using CafConnect.Infrastructure.Tests.Support;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace CafConnect.IdP.Tests.Features.FirstLogin;

/// <summary>
/// The first login with the code sent by e-mail, over HTTP, against a real SMTP server on loopback (the infrastructure
/// tests' sink): a relay that is down when the code is asked for, and the e-mail code's own lifetime.
/// </summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
public sealed class FirstLoginEmailTests(StoreKind kind)
{
    private const string PaulEmail = "paul.martin@example.fr";
    private const string CodeSubject = "Votre code de vérification";

    private static Dictionary<string, string?> SmtpSettings(int port) => new()
    {
        ["Notifications:Smtp:Host"] = "127.0.0.1",
        ["Notifications:Smtp:Port"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Notifications:Smtp:Security"] = "None",
        ["Notifications:Smtp:From"] = "Caf <ne-pas-repondre@caf.fr>",
        ["Notifications:Smtp:Timeout"] = "00:00:05",
        // Retries in a fraction of a second instead of 5 s, 10 s, 20 s…
        ["Notifications:RetryBaseDelay"] = "00:00:00.200",
        ["Notifications:RetryMaxDelay"] = "00:00:00.500",
    };

    [Test]
    public async Task SMTP_down_when_Paul_asks_for_an_e_mail_code_the_code_waits_in_the_outbox_arrives_once_when_SMTP_is_back_and_completes_the_journey()
    {
        var port = SmtpSink.FreePort();
        await using var host = JourneyHost.Start(kind, SmtpSettings(port));
        var person = new FirstLoginDriver(host.Host.CreateBrowser());
        var contact = await person.AcceptTermsAndChoosePasswordAsync(await person.LoginWithLegacyCodeAsync());

        // Nothing listens on the port: the page does not wait for the relay, the verification page is shown.
        var verify = FirstLoginDriver.Next(await person.PostAsync(contact, new Dictionary<string, string> { ["Channel"] = "Email", ["Email"] = PaulEmail }));
        Assert.That(verify.AbsolutePathOrOriginal(), Is.EqualTo("/premiere-connexion/verification"));
        var (page, html) = await person.GetAsync(verify);
        Assert.That(page.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(WebUtility.HtmlDecode(html), Does.Contain("par mail à l'adresse suivante").And.Contain("p***@example.fr"), "the records' address, masked while it is being proven");

        // The dispatcher tried, failed, and keeps the message with its body for the next attempt.
        var waiting = await WaitForCodeMessageAsync(host, m => m.Attempts >= 2 && m.SentAt == null, "two failed attempts while SMTP is down");
        Assert.Multiple(() =>
        {
            Assert.That(waiting.FailedAt, Is.Null, "not given up");
            Assert.That(waiting.LastError, Is.Not.Null.And.Not.Empty, "the failure is recorded");
            Assert.That(waiting.ProtectedTextBody, Is.Not.Null, "the body is kept until it is sent");
        });

        // The relay comes back on the same port: the next retry delivers.
        await using var smtp = SmtpSink.Start(port);
        var sent = await WaitForCodeMessageAsync(host, m => m.SentAt != null, "sent once SMTP is back");
        Assert.That(sent.ProtectedTextBody, Is.Null, "the body is wiped once sent");
        // A few more dispatcher rounds (poll 100 ms, retry 200–500 ms): nothing is sent again.
        await Task.Delay(TimeSpan.FromSeconds(1.5));
        var codeMails = smtp.Messages.Where(m => m.RcptTo.Contains(PaulEmail) && m.Parse().Subject == CodeSubject).ToList();
        Assert.That(codeMails, Has.Count.EqualTo(1), "the code e-mail arrives exactly once");
        var mail = codeMails[0].Parse();
        Assert.That(mail.TextBody, Does.Contain("valable 15 minutes"), "the e-mail code's lifetime, by default");

        var done = await person.PostAsync(verify, new Dictionary<string, string> { ["Code"] = SmsGatewaySink.CodeIn(mail.TextBody!) });
        // Paul holds a file with a partner: the delegation question is the last step.
        Assert.That((await person.AnswerDelegationAsync(FirstLoginDriver.Next(done), "false")).OriginalString, Is.EqualTo("/mon-compte"), "the code from the e-mail completes the journey");
        await using var scope = host.Host.Services.CreateAsyncScope();
        var paul = await scope.ServiceProvider.GetRequiredService<CafConnectDbContext>().Persons.AsNoTracking()
            .SingleAsync(p => p.Nir == FirstLoginDriver.PaulNir);
        Assert.That((paul.Email, paul.EmailVerified), Is.EqualTo((PaulEmail, true)));
    }

    /// <summary>
    /// The e-mail code follows <c>Verification:EmailLifetime</c> and nothing else: with 2 s it is refused after 2 s even
    /// though the SMS lifetime is long; with the SMS lifetime at 2 s and the e-mail one left at its default (15 minutes),
    /// it is still accepted after those 2 s.
    /// </summary>
    [TestCase("00:00:02", "01:00:00", true, "2 secondes")]
    [TestCase(null, "00:00:02", false, "15 minutes")]
    public async Task The_e_mail_code_is_valid_for_the_e_mail_lifetime_only(string? emailLifetime, string smsLifetime, bool expired, string announced)
    {
        await using var smtp = SmtpSink.Start();
        var settings = SmtpSettings(smtp.Port);
        settings["Verification:SmsLifetime"] = smsLifetime;
        if (emailLifetime is not null)
        {
            settings["Verification:EmailLifetime"] = emailLifetime;
        }
        await using var host = JourneyHost.Start(kind, settings);
        var person = new FirstLoginDriver(host.Host.CreateBrowser());
        var contact = await person.AcceptTermsAndChoosePasswordAsync(await person.LoginWithLegacyCodeAsync());
        var (_, contactHtml) = await person.GetAsync(contact);
        Assert.That(WebUtility.HtmlDecode(contactHtml), Does.Contain($"et {announced} par mail"), "the contact page announces the configured lifetime");

        var verify = FirstLoginDriver.Next(await person.PostAsync(contact, new Dictionary<string, string> { ["Channel"] = "Email", ["Email"] = PaulEmail }));
        await WaitForCodeMessageAsync(host, m => m.SentAt != null, "sent");
        var mail = smtp.Messages.Single(m => m.RcptTo.Contains(PaulEmail)).Parse();
        Assert.That(mail.TextBody, Does.Contain($"valable {announced}"), "the e-mail announces the configured lifetime");

        await Task.Delay(TimeSpan.FromSeconds(2.5));
        var submitted = await person.PostAsync(verify, new Dictionary<string, string> { ["Code"] = SmsGatewaySink.CodeIn(mail.TextBody!) });

        if (expired)
        {
            Assert.That(submitted.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
            Assert.That(await OidcDriver.ErrorsOf(submitted), Does.Contain("Ce code n'est plus valable. Demandez l'envoi d'un nouveau code."));
        }
        else
        {
            Assert.That(FirstLoginDriver.Next(submitted).AbsolutePathOrOriginal(), Is.EqualTo(FirstLoginDriver.DelegationPath), "still valid: the SMS lifetime does not apply to e-mail");
        }
    }

    /// <summary>The verification-code e-mail to Paul in the outbox, once it satisfies <paramref name="condition"/>.</summary>
    private static async Task<OutboxMessage> WaitForCodeMessageAsync(JourneyHost host, Func<OutboxMessage, bool> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(15);
        List<OutboxMessage> messages;
        do
        {
            await using (var scope = host.Host.Services.CreateAsyncScope())
            {
                messages = await scope.ServiceProvider.GetRequiredService<CafConnectDbContext>().OutboxMessages.AsNoTracking()
                    .Where(m => m.Kind == NotificationKind.VerificationCode && m.Channel == NotificationChannel.Email && m.Recipient == PaulEmail)
                    .ToListAsync();
            }
            Assert.That(messages, Has.Count.LessThanOrEqualTo(1), "one code asked, one message");
            if (messages.Count == 1 && condition(messages[0]))
            {
                return messages[0];
            }
            await Task.Delay(100);
        }
        while (DateTime.UtcNow < deadline);
        Assert.Fail($"the code e-mail is not {what} within 15 s: " + string.Join(", ", messages.Select(m => $"attempts={m.Attempts} sent={m.SentAt} error={m.LastError}")));
        return null!;
    }
}
