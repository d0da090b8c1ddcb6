using CafConnect.Infrastructure.Audit;
using CafConnect.Infrastructure.Notifications;
using CafConnect.Infrastructure.Persistence;
using CafConnect.Infrastructure.Tests.Support;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace CafConnect.Infrastructure.Tests.Notifications;

/// <summary>The transactional outbox and its dispatcher on SQLite and on PostgreSQL (<c>CAFCONNECT_TEST_POSTGRES</c>).</summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
public sealed class OutboxTests(StoreKind kind)
{
    private const string Code = "483920";
    private const string Recipient = "jean.dupont@exemple.fr";

    private TestDatabase _database = null!;
    private FakeTimeProvider _clock = null!;
    private readonly IDataProtectionProvider _dataProtection = new EphemeralDataProtectionProvider();
    private readonly List<IAsyncDisposable> _disposables = [];

    [SetUp]
    public async Task CreateStore()
    {
        _database = await TestDatabase.CreateAsync(kind);
        _clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 24, 8, 0, 0, TimeSpan.Zero));
    }

    [TearDown]
    public async Task DropStore()
    {
        foreach (var disposable in _disposables)
        {
            await disposable.DisposeAsync();
        }
        _disposables.Clear();
        if (_database is not null)
        {
            await _database.DisposeAsync();
        }
    }

    private OutboxHarness Harness(IDictionary<string, string?>? settings = null, INotificationSenderResolver? senders = null)
    {
        var harness = OutboxHarness.Create(_database, _clock, _dataProtection, settings, senders);
        _disposables.Add(harness);
        return harness;
    }

    private static NotificationRequest CodeRequest(string key, NotificationChannel channel = NotificationChannel.Email, string recipient = Recipient, string code = Code) =>
        new(NotificationKind.VerificationCode, channel, recipient,
            new Dictionary<string, string> { ["code"] = code, ["validity"] = "15 minutes" }, Guid.NewGuid(), key);

    [Test]
    public async Task A_message_is_committed_or_rolled_back_with_the_business_change()
    {
        var harness = Harness(senders: new RecordingSender());

        foreach (var commit in new[] { false, true })
        {
            await using var scope = harness.Services.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<CafConnectDbContext>();
            // A transaction of the caller's own, as the store's retrying strategy requires (decision 29): inside it.
            await db.Database.CreateExecutionStrategy().ExecuteAsync(async () =>
            {
                await using var transaction = await db.Database.BeginTransactionAsync();
                scope.ServiceProvider.GetRequiredService<INotificationOutbox>().Enqueue(CodeRequest(commit ? "committed" : "rolled-back"));
                db.AuditEvents.Add(new AuditEvent { OccurredAt = _clock.GetUtcNow(), Type = "test.change" });
                await db.SaveChangesAsync();
                if (commit)
                {
                    await transaction.CommitAsync();
                }
                else
                {
                    await transaction.RollbackAsync();
                }
            });
        }

        var messages = await harness.MessagesAsync();
        await using var check = harness.Services.CreateAsyncScope();
        var audits = await check.ServiceProvider.GetRequiredService<CafConnectDbContext>().AuditEvents.CountAsync();
        Assert.Multiple(() =>
        {
            Assert.That(messages.Select(m => m.IdempotencyKey), Is.EqualTo(new[] { "committed" }));
            Assert.That(audits, Is.EqualTo(1));
        });
    }

    [Test]
    public async Task Bodies_are_rendered_at_enqueue_time_and_encrypted_at_rest()
    {
        var harness = Harness(senders: new RecordingSender());
        await harness.EnqueueAsync(CodeRequest("k-encrypted"));

        var row = (await harness.MessagesAsync()).Single();
        await using var scope = harness.Services.CreateAsyncScope();
        var view = (await scope.ServiceProvider.GetRequiredService<OutboxReader>().LatestAsync(10)).Single();

        Assert.Multiple(() =>
        {
            Assert.That(row.Subject, Is.EqualTo("Votre code de vérification"));
            Assert.That(row.ProtectedTextBody, Is.Not.Null.And.Not.Contain(Code));
            Assert.That(row.ProtectedHtmlBody, Is.Not.Null.And.Not.Contain(Code));
            Assert.That(row.NextAttemptAt, Is.EqualTo(_clock.GetUtcNow()));
            Assert.That(row.Kind, Is.EqualTo(NotificationKind.VerificationCode));
            Assert.That(view.TextBody, Does.Contain(Code).And.Contain("Bonjour,"));
            Assert.That(view.HtmlBody, Does.Contain($"<strong>{Code}</strong>"));
            Assert.That(harness.Logs.Entries.Select(e => e.Message), Has.None.Contain(Code));
        });
    }

    [Test]
    public async Task Dispatch_sends_once_marks_sent_and_wipes_the_bodies()
    {
        var sender = new RecordingSender();
        var harness = Harness(senders: sender);
        await harness.EnqueueAsync(CodeRequest("k-once", NotificationChannel.Sms, "06 12 34 56 78"));

        var first = await harness.Dispatcher.DispatchDueAsync(CancellationToken.None);
        _clock.Advance(TimeSpan.FromMinutes(5));
        var second = await harness.Dispatcher.DispatchDueAsync(CancellationToken.None);
        var row = (await harness.MessagesAsync()).Single();

        Assert.Multiple(() =>
        {
            Assert.That(first, Is.EqualTo(new OutboxDispatchResult(1, 1, 0, 0)));
            Assert.That(second.Claimed, Is.Zero);
            Assert.That(sender.Sent, Has.Count.EqualTo(1));
            Assert.That(sender.Sent[0].TextBody, Does.Contain(Code).And.Contain("Ne communiquez jamais ce code"));
            Assert.That(sender.Sent[0].IdempotencyKey, Is.EqualTo("k-once"));
            Assert.That(row.SentAt, Is.EqualTo(_clock.GetUtcNow() - TimeSpan.FromMinutes(5)));
            Assert.That(row.Attempts, Is.EqualTo(1));
            Assert.That(row.ProtectedTextBody, Is.Null);
            Assert.That(row.ProtectedHtmlBody, Is.Null);
            Assert.That(row.LockedUntil, Is.Null);
            Assert.That(harness.Logs.Entries.Select(e => e.Message), Has.None.Contain(Code));
            Assert.That(harness.Logs.Entries.Select(e => e.Message), Has.None.Contain("0612345678").And.None.Contain("06 12 34 56 78"));
            Assert.That(harness.Logs.Entries.Where(e => e.Event.Id == 2103).Select(e => e.Message), Has.One.Contain("06******78"));
        });
    }

    [Test]
    public async Task A_repeated_idempotency_key_yields_one_message()
    {
        var sender = new RecordingSender();
        var harness = Harness(senders: sender);

        await harness.EnqueueAsync(CodeRequest("k-dup"), CodeRequest("k-dup", code: "111111"));
        await harness.EnqueueAsync(CodeRequest("k-dup", code: "222222"));
        await harness.Dispatcher.DispatchDueAsync(CancellationToken.None);
        await harness.EnqueueAsync(CodeRequest("k-dup", code: "333333"));
        await harness.Dispatcher.DispatchDueAsync(CancellationToken.None);
        var messages = await harness.MessagesAsync();

        Assert.Multiple(() =>
        {
            Assert.That(messages, Has.Count.EqualTo(1));
            Assert.That(sender.Sent.Select(s => s.TextBody.Contains(Code)), Is.EqualTo(new[] { true }));
            Assert.That(harness.Logs.Entries.Count(e => e.Event.Id == 2102), Is.EqualTo(3));
        });
    }

    [Test]
    public async Task Two_transactions_racing_with_one_key_commit_one_message()
    {
        var harness = Harness(senders: new RecordingSender());
        await using var a = harness.Services.CreateAsyncScope();
        await using var b = harness.Services.CreateAsyncScope();
        a.ServiceProvider.GetRequiredService<INotificationOutbox>().Enqueue(CodeRequest("k-race"));
        b.ServiceProvider.GetRequiredService<INotificationOutbox>().Enqueue(CodeRequest("k-race"));

        await a.ServiceProvider.GetRequiredService<CafConnectDbContext>().SaveChangesAsync();
        Assert.ThrowsAsync<DbUpdateException>(() => b.ServiceProvider.GetRequiredService<CafConnectDbContext>().SaveChangesAsync());
        Assert.That(await harness.MessagesAsync(), Has.Count.EqualTo(1));
    }

    [Test]
    public async Task An_email_reaches_a_real_smtp_server_in_french_with_text_html_and_a_message_id_from_the_key()
    {
        await using var smtp = SmtpSink.Start();
        var harness = Harness(new Dictionary<string, string?>
        {
            ["Notifications:Smtp:Host"] = "127.0.0.1",
            ["Notifications:Smtp:Port"] = smtp.Port.ToString(),
            ["Notifications:Smtp:Security"] = "None",
            ["Notifications:Smtp:From"] = "Caf <ne-pas-repondre@caf.fr>",
        });
        await harness.EnqueueAsync(CodeRequest("flow-42/email/1"));

        var result = await harness.Dispatcher.DispatchDueAsync(CancellationToken.None);

        Assert.That(result.Sent, Is.EqualTo(1));
        var received = smtp.Messages.Single();
        var mail = received.Parse();
        Assert.Multiple(() =>
        {
            Assert.That(received.MailFrom, Is.EqualTo("ne-pas-repondre@caf.fr"));
            Assert.That(received.RcptTo, Is.EqualTo(new[] { Recipient }));
            Assert.That(mail.Subject, Is.EqualTo("Votre code de vérification"));
            Assert.That(mail.MessageId, Is.EqualTo(SmtpEmailSender.MessageIdFor("flow-42/email/1", "caf.fr")));
            Assert.That(mail.MessageId, Does.Not.Contain("flow-42"));
            Assert.That(mail.TextBody, Does.Contain("Bonjour,").And.Contain(Code).And.Contain("valable 15 minutes")
                .And.Contain("Ne communiquez jamais ce code").And.Contain("Votre caisse d'Allocations familiales")
                .And.Contain("Votre Caf vous recommande de ne pas cliquer sur les liens contenus dans les courriels"));
            Assert.That(mail.HtmlBody, Does.Contain($"<strong>{Code}</strong>").And.Contain("<html lang=\"fr\">").And.Contain("Ne communiquez jamais ce code"));
            Assert.That(mail.Body!.ContentType.MimeType, Is.EqualTo("multipart/alternative"));
        });
    }

    [Test]
    public async Task Smtp_down_then_up_retries_with_backoff_and_sends_exactly_once()
    {
        var port = SmtpSink.FreePort();
        var harness = Harness(new Dictionary<string, string?>
        {
            ["Notifications:Smtp:Host"] = "127.0.0.1",
            ["Notifications:Smtp:Port"] = port.ToString(),
            ["Notifications:Smtp:Security"] = "None",
            ["Notifications:Smtp:Timeout"] = "00:00:05",
        });
        await harness.EnqueueAsync(CodeRequest("k-down-up"));

        var failedAt = _clock.GetUtcNow();
        var whileDown = await harness.Dispatcher.DispatchDueAsync(CancellationToken.None);
        var afterFailure = (await harness.MessagesAsync()).Single();
        var tooEarly = await harness.Dispatcher.DispatchDueAsync(CancellationToken.None);

        await using var smtp = SmtpSink.Start(port);
        _clock.Advance(TimeSpan.FromSeconds(5));
        var whileUp = await harness.Dispatcher.DispatchDueAsync(CancellationToken.None);
        _clock.Advance(TimeSpan.FromMinutes(30));
        var later = await harness.Dispatcher.DispatchDueAsync(CancellationToken.None);
        var sent = (await harness.MessagesAsync()).Single();

        Assert.Multiple(() =>
        {
            Assert.That(whileDown, Is.EqualTo(new OutboxDispatchResult(1, 0, 1, 0)));
            Assert.That(afterFailure.Attempts, Is.EqualTo(1));
            Assert.That(afterFailure.SentAt, Is.Null);
            Assert.That(afterFailure.NextAttemptAt, Is.EqualTo(failedAt + TimeSpan.FromSeconds(5)), "first backoff: 5 s");
            Assert.That(afterFailure.LastError, Is.Not.Null.And.Not.Contain(Code));
            Assert.That(afterFailure.ProtectedTextBody, Is.Not.Null, "kept for the retry");
            Assert.That(tooEarly.Claimed, Is.Zero, "not before NextAttemptAt");
            Assert.That(whileUp.Sent, Is.EqualTo(1));
            Assert.That(later.Claimed, Is.Zero);
            Assert.That(smtp.Messages, Has.Count.EqualTo(1));
            Assert.That(sent.Attempts, Is.EqualTo(2));
            Assert.That(sent.SentAt, Is.Not.Null);
            Assert.That(sent.LastError, Is.Null);
            Assert.That(harness.Logs.Entries.Count(e => e.Event.Id == 2104), Is.EqualTo(1));
            Assert.That(harness.Logs.Entries.Select(e => e.Message), Has.None.Contain(Code));
        });
    }

    [Test]
    public async Task Two_dispatchers_on_one_store_send_each_message_once()
    {
        var sender = new RecordingSender { Before = async _ => await Task.Delay(Random.Shared.Next(1, 5)) };
        var first = Harness(senders: sender);
        var second = Harness(senders: sender);
        var requests = Enumerable.Range(0, 30)
            .Select(i => CodeRequest($"k-{i}", i % 2 == 0 ? NotificationChannel.Email : NotificationChannel.Sms, i % 2 == 0 ? Recipient : "0612345678", $"{i:D6}"))
            .ToArray();
        await first.EnqueueAsync(requests);

        async Task<int> DrainAsync(OutboxDispatcher dispatcher)
        {
            var total = 0;
            for (var round = 0; round < 20; round++)
            {
                var result = await dispatcher.DispatchDueAsync(CancellationToken.None);
                total += result.Sent;
                if (result.Claimed == 0)
                {
                    break;
                }
            }
            return total;
        }

        var counts = await Task.WhenAll(Task.Run(() => DrainAsync(first.Dispatcher)), Task.Run(() => DrainAsync(second.Dispatcher)));
        var rows = await first.MessagesAsync();

        Assert.Multiple(() =>
        {
            Assert.That(sender.Sent.GroupBy(s => s.IdempotencyKey).Select(g => g.Count()), Has.All.EqualTo(1), "nothing sent twice");
            Assert.That(sender.Sent.Select(s => s.IdempotencyKey), Is.EquivalentTo(requests.Select(r => r.IdempotencyKey)));
            Assert.That(counts.Sum(), Is.EqualTo(30));
            Assert.That(rows.Select(r => r.SentAt), Has.All.Not.Null);
        });
    }

    [Test]
    public async Task A_message_is_given_up_after_the_maximum_attempts_with_its_bodies_wiped()
    {
        var sender = new RecordingSender { Before = _ => throw new InvalidOperationException("gateway refused") };
        var harness = Harness(new Dictionary<string, string?> { ["Notifications:MaxAttempts"] = "3" }, sender);
        await harness.EnqueueAsync(CodeRequest("k-give-up"));

        var results = new List<OutboxDispatchResult>();
        for (var i = 0; i < 4; i++)
        {
            results.Add(await harness.Dispatcher.DispatchDueAsync(CancellationToken.None));
            _clock.Advance(TimeSpan.FromMinutes(10));
        }
        var row = (await harness.MessagesAsync()).Single();

        Assert.Multiple(() =>
        {
            Assert.That(results.Select(r => (r.Retrying, r.GivenUp)), Is.EqualTo(new[] { (1, 0), (1, 0), (0, 1), (0, 0) }));
            Assert.That(row.Attempts, Is.EqualTo(3));
            Assert.That(row.FailedAt, Is.Not.Null);
            Assert.That(row.SentAt, Is.Null);
            Assert.That(row.ProtectedTextBody, Is.Null);
            Assert.That(row.ProtectedHtmlBody, Is.Null);
            Assert.That(row.LastError, Is.EqualTo("InvalidOperationException: gateway refused"));
            Assert.That(harness.Logs.Entries.Where(e => e.Event.Id == 2105).Select(e => e.Level), Is.EqualTo(new[] { LogLevel.Error }));
            Assert.That(harness.Logs.Entries.Select(e => e.Message), Has.None.Contain(Code));
        });
    }

    [Test]
    public async Task Without_gateways_messages_go_to_files_and_the_development_reader_still_shows_them()
    {
        var harness = Harness();
        await harness.EnqueueAsync(
            CodeRequest("k-file-email"),
            CodeRequest("k-file-sms", NotificationChannel.Sms, "0612345678", "765432"),
            new NotificationRequest(NotificationKind.ProvisionalPassword, NotificationChannel.Letter, "M. Jean DUPONT\n1 rue de la Paix\n75002 PARIS",
                new Dictionary<string, string> { ["password"] = "Kx7pQ2mz", ["valid_until"] = "08/12/2026" }, null, "k-file-letter"));

        var result = await harness.Dispatcher.DispatchDueAsync(CancellationToken.None);
        await using var scope = harness.Services.CreateAsyncScope();
        var views = await scope.ServiceProvider.GetRequiredService<OutboxReader>().LatestAsync(10);
        var files = Directory.GetFiles(Path.Combine(_database.Directory, "outbox")).Select(Path.GetFileName).ToList();

        Assert.Multiple(() =>
        {
            Assert.That(result.Sent, Is.EqualTo(3));
            Assert.That(files.Count(f => f!.EndsWith(".eml")), Is.EqualTo(1));
            Assert.That(files.Count(f => f!.EndsWith(".txt")), Is.EqualTo(2));
            Assert.That(views.Select(v => v.SentAt), Has.All.Not.Null);
            Assert.That(views.Single(v => v.Channel == NotificationChannel.Email).TextBody, Does.Contain(Code));
            Assert.That(views.Single(v => v.Channel == NotificationChannel.Email).HtmlBody, Does.Contain($"<strong>{Code}</strong>"));
            Assert.That(views.Single(v => v.Channel == NotificationChannel.Sms).TextBody, Does.StartWith("Votre code de vérification Caf : 765432."));
            Assert.That(views.Single(v => v.Channel == NotificationChannel.Letter).TextBody, Does.Contain("Kx7pQ2mz").And.Contain("Madame, Monsieur,"));
        });
    }
}
