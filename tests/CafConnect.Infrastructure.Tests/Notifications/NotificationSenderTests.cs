using System.Net;
using System.Text.Json;
using CafConnect.Infrastructure.Notifications;
using CafConnect.Infrastructure.Tests.Support;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using MimeKit;

namespace CafConnect.Infrastructure.Tests.Notifications;

public sealed class NotificationSenderTests
{
    private static OutgoingNotification Sms(string key = "flow-7/sms/2") => new(
        Guid.NewGuid(), NotificationKind.VerificationCode, NotificationChannel.Sms, "0612345678", null,
        "Votre code de vérification Caf : 048213. Il est valable 10 minutes.", null, key, new DateTimeOffset(2026, 11, 24, 8, 0, 0, TimeSpan.Zero));

    private static ServiceProvider Registered(Dictionary<string, string?> settings)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddCafConnectNotifications(new ConfigurationBuilder().AddInMemoryCollection(settings).Build(), Path.GetTempPath());
        return services.BuildServiceProvider();
    }

    private static Dictionary<string, string?> SmsSettings(HttpSink gateway) => new()
    {
        ["Notifications:Sms:Url"] = gateway.Url("/v1/sms"),
        ["Notifications:Sms:Token"] = "test-token",
        ["Notifications:Sms:Sender"] = "CAF",
        ["Notifications:Sms:RetryDelay"] = "00:00:00.050",
    };

    [Test]
    public async Task The_sms_gateway_gets_json_a_bearer_token_and_the_idempotency_key_and_a_503_is_retried()
    {
        using var gateway = new HttpSink(HttpStatusCode.ServiceUnavailable, HttpStatusCode.Accepted);
        await using var provider = Registered(SmsSettings(gateway));
        var sender = provider.GetRequiredService<INotificationSenderResolver>().For(NotificationChannel.Sms);

        await sender.SendAsync(Sms(), CancellationToken.None);

        var requests = gateway.Requests;
        Assert.That(sender, Is.InstanceOf<HttpSmsSender>());
        Assert.That(requests, Has.Count.EqualTo(2), "one 503, then accepted");
        using var json = JsonDocument.Parse(requests[1].Body);
        Assert.Multiple(() =>
        {
            Assert.That(requests.Select(r => r.Method), Has.All.EqualTo("POST"));
            Assert.That(requests.Select(r => r.Path), Has.All.EqualTo("/v1/sms"));
            Assert.That(requests.Select(r => r.Authorization), Has.All.EqualTo("Bearer test-token"));
            Assert.That(requests.Select(r => r.IdempotencyKey), Has.All.EqualTo("flow-7/sms/2"), "the retry repeats the key");
            Assert.That(requests[1].ContentType, Does.StartWith("application/json"));
            Assert.That(json.RootElement.GetProperty("to").GetString(), Is.EqualTo("0612345678"));
            Assert.That(json.RootElement.GetProperty("text").GetString(), Is.EqualTo("Votre code de vérification Caf : 048213. Il est valable 10 minutes."));
            Assert.That(json.RootElement.GetProperty("sender").GetString(), Is.EqualTo("CAF"));
            Assert.That(requests[0].Body, Is.EqualTo(requests[1].Body));
        });
    }

    [Test]
    public async Task A_gateway_that_stays_down_fails_the_send_without_the_text_in_the_error()
    {
        using var gateway = new HttpSink { Default = HttpStatusCode.BadGateway };
        await using var provider = Registered(SmsSettings(gateway));
        var sender = provider.GetRequiredService<INotificationSenderResolver>().For(NotificationChannel.Sms);

        var error = Assert.ThrowsAsync<HttpRequestException>(() => sender.SendAsync(Sms(), CancellationToken.None));

        Assert.That(gateway.Requests, Has.Count.EqualTo(3), "the first try and two retries");
        Assert.That(error!.Message, Does.Contain("502").And.Not.Contain("048213"));
    }

    [Test]
    public async Task A_client_error_is_not_retried()
    {
        using var gateway = new HttpSink { Default = HttpStatusCode.BadRequest };
        await using var provider = Registered(SmsSettings(gateway));

        Assert.ThrowsAsync<HttpRequestException>(() => provider.GetRequiredService<INotificationSenderResolver>().For(NotificationChannel.Sms).SendAsync(Sms(), CancellationToken.None));
        Assert.That(gateway.Requests, Has.Count.EqualTo(1));
    }

    [Test]
    public async Task Without_gateways_every_channel_goes_to_the_file_sink_and_letters_always_do()
    {
        await using var embedded = Registered(new Dictionary<string, string?>());
        await using var configured = Registered(new Dictionary<string, string?>
        {
            ["Notifications:Smtp:Host"] = "smtp.example", ["Notifications:Sms:Url"] = "https://sms.example/v1",
        });
        var sink = embedded.GetRequiredService<FileNotificationSink>();

        Assert.Multiple(() =>
        {
            Assert.That(Enum.GetValues<NotificationChannel>().Select(c => embedded.GetRequiredService<INotificationSenderResolver>().For(c)), Has.All.SameAs(sink));
            Assert.That(sink.Directory, Is.EqualTo(Path.Combine(Path.GetTempPath(), "data", "outbox")));
            Assert.That(configured.GetRequiredService<INotificationSenderResolver>().For(NotificationChannel.Email), Is.InstanceOf<SmtpEmailSender>());
            Assert.That(configured.GetRequiredService<INotificationSenderResolver>().For(NotificationChannel.Sms), Is.InstanceOf<HttpSmsSender>());
            Assert.That(configured.GetRequiredService<INotificationSenderResolver>().For(NotificationChannel.Letter), Is.InstanceOf<FileNotificationSink>());
            Assert.That(configured.GetService<OutboxDispatcher>(), Is.Null, "the dispatcher is the host's (AddOutboxDispatcher)");
        });
    }

    [Test]
    public async Task The_file_sink_writes_readable_owner_only_files()
    {
        var directory = Path.Combine(Path.GetTempPath(), "cafconnect-sink-" + Guid.NewGuid().ToString("N"));
        try
        {
            var sink = new FileNotificationSink(directory, "Caf <ne-pas-repondre@caf.fr>");
            var templates = new NotificationTemplates();
            var rendered = templates.Render(NotificationKind.ProvisionalIdReminder, NotificationChannel.Email, new Dictionary<string, string> { ["identifier"] = "P17917680" });
            var email = new OutgoingNotification(Guid.NewGuid(), NotificationKind.ProvisionalIdReminder, NotificationChannel.Email, "daniel.morvan@test.fr",
                rendered.Subject, rendered.Text, rendered.Html, "k-eml", new DateTimeOffset(2026, 11, 24, 8, 0, 0, TimeSpan.Zero));
            var sms = Sms() with { Id = Guid.NewGuid() };

            await sink.SendAsync(email, CancellationToken.None);
            await sink.SendAsync(email, CancellationToken.None);
            await sink.SendAsync(sms, CancellationToken.None);

            var files = Directory.GetFiles(directory).OrderBy(f => f).ToList();
            var eml = files.Single(f => f.EndsWith(".eml"));
            var txt = files.Single(f => f.EndsWith(".txt"));
            var mime = await MimeMessage.LoadAsync(eml);
            Assert.Multiple(() =>
            {
                Assert.That(files, Has.Count.EqualTo(2), "a repeat overwrites its own file");
                Assert.That(Path.GetFileName(eml), Does.Contain(email.Id.ToString("N")));
                Assert.That(mime.Subject, Is.EqualTo("Votre identifiant provisoire"));
                Assert.That(mime.To.Mailboxes.Single().Address, Is.EqualTo("daniel.morvan@test.fr"));
                Assert.That(mime.TextBody, Does.Contain("Rappel de celui-ci : P17917680."));
                Assert.That(mime.HtmlBody, Does.Contain("<strong>P17917680</strong>"));
                Assert.That(File.ReadAllText(txt), Does.Contain("Destinataire : 0612345678").And.EndWith("Il est valable 10 minutes."));
                if (!OperatingSystem.IsWindows())
                {
                    Assert.That(File.GetUnixFileMode(eml), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite));
                }
            });
            var readBack = await sink.TryReadAsync(sms.Id);
            Assert.That(readBack?.Text, Is.EqualTo(sms.TextBody));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [TestCase(1, 5)]
    [TestCase(2, 10)]
    [TestCase(3, 20)]
    [TestCase(7, 320)]
    [TestCase(8, 600)]
    [TestCase(19, 600)]
    public void The_backoff_doubles_from_five_seconds_up_to_ten_minutes(int attempts, int seconds) =>
        Assert.That(new OutboxDispatcherOptions().BackoffAfter(attempts), Is.EqualTo(TimeSpan.FromSeconds(seconds)));

    [TestCase(NotificationChannel.Email, "jean.dupont@exemple.fr", "j***@exemple.fr")]
    [TestCase(NotificationChannel.Sms, "06 12 34 56 78", "06******78")]
    [TestCase(NotificationChannel.Letter, "M. DUPONT\n1 rue de la Paix", "(adresse postale)")]
    public void Recipients_are_masked_in_logs(NotificationChannel channel, string recipient, string masked) =>
        Assert.That(RecipientMask.Mask(channel, recipient), Is.EqualTo(masked));
}
