using CafConnect.Infrastructure.Persistence;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace CafConnect.Infrastructure.Notifications;

/// <summary>Section <c>Notifications</c> (the dispatcher's own keys).</summary>
public sealed class OutboxDispatcherOptions
{
    /// <summary><c>Notifications:PollInterval</c>.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Messages claimed per round.</summary>
    public int BatchSize { get; set; } = 20;

    /// <summary>Attempts after which a message is given up (<see cref="OutboxMessage.FailedAt"/>).</summary>
    public int MaxAttempts { get; set; } = 20;

    /// <summary>How long a claim holds; longer than any send (SMTP and SMS timeouts included).</summary>
    public TimeSpan LockDuration { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Delay after the first failure, doubled at each further failure…</summary>
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>…up to this.</summary>
    public TimeSpan RetryMaxDelay { get; set; } = TimeSpan.FromMinutes(10);

    public TimeSpan BackoffAfter(int attempts)
    {
        var exponent = Math.Clamp(attempts - 1, 0, 30);
        var delay = RetryBaseDelay.TotalMilliseconds * Math.Pow(2, exponent);
        return delay >= RetryMaxDelay.TotalMilliseconds ? RetryMaxDelay : TimeSpan.FromMilliseconds(delay);
    }
}

public readonly record struct OutboxDispatchResult(int Claimed, int Sent, int Retrying, int GivenUp);

/// <summary>
/// Sends the outbox. Several instances may run it at once: each message is claimed by a conditional UPDATE
/// (<c>WHERE Id = @id AND SentAt IS NULL AND FailedAt IS NULL AND (LockedUntil IS NULL OR LockedUntil &lt; now)</c>)
/// that affects one row for exactly one instance, on every provider. The claim expires after
/// <see cref="OutboxDispatcherOptions.LockDuration"/>, so a message claimed by a crashed instance is taken over.
/// <para>
/// Delivery is at least once, never knowingly twice: a message marked sent is never sent again. The remaining window
/// is between the gateway accepting a message and <c>SentAt</c> being written (a crash, the store unreachable, the
/// claim expiring during a very slow send): the message is then sent again after the claim expires. The repeat carries
/// the same idempotency key — the SMTP <c>Message-ID</c> derived from it, the SMS gateway's <c>Idempotency-Key</c>
/// header, the same file name in the file sink — so that the gateway can drop it.
/// </para>
/// </summary>
public sealed class OutboxDispatcher(
    IServiceScopeFactory scopes,
    INotificationSenderResolver senders,
    OutboxDispatcherOptions options,
    TimeProvider clock,
    ILogger<OutboxDispatcher> logger,
    Observability.CafConnectMetrics? metrics = null) : BackgroundService
{
    /// <summary>How often the backlog gauges are refreshed (a count on the dispatcher's index; not every poll).</summary>
    public static readonly TimeSpan BacklogMeasureInterval = TimeSpan.FromSeconds(15);
    private DateTimeOffset _backlogMeasuredAt = DateTimeOffset.MinValue;

    /// <summary>Written to <see cref="OutboxMessage.LockedBy"/> (diagnostics only: claims rely on <c>LockedUntil</c>).</summary>
    public string InstanceId { get; } = Truncate($"{Environment.MachineName}/{Environment.ProcessId}/{Guid.NewGuid():N}", 100);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        NotificationLog.Started(logger, InstanceId, options.PollInterval,
            SenderName(NotificationChannel.Email), SenderName(NotificationChannel.Sms), SenderName(NotificationChannel.Letter));
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                OutboxDispatchResult result;
                do
                {
                    result = await DispatchDueAsync(stoppingToken);
                }
                while (result.Claimed >= options.BatchSize && !stoppingToken.IsCancellationRequested);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception exception)
            {
                NotificationLog.DispatchFailed(logger, exception);
            }

            try
            {
                await Task.Delay(options.PollInterval, clock, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    /// <summary>One round: claims the due messages (up to the batch size) and sends them one by one.</summary>
    public async Task<OutboxDispatchResult> DispatchDueAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<CafConnectDbContext>();
        var protector = scope.ServiceProvider.GetRequiredService<OutboxBodyProtector>();

        var now = clock.GetUtcNow();
        var due = await db.OutboxMessages.AsNoTracking()
            .Where(m => m.SentAt == null && m.FailedAt == null && m.NextAttemptAt <= now && (m.LockedUntil == null || m.LockedUntil < now))
            .OrderBy(m => m.NextAttemptAt)
            .Select(m => m.Id)
            .Take(options.BatchSize)
            .ToListAsync(cancellationToken);

        if (metrics is not null && now - _backlogMeasuredAt >= BacklogMeasureInterval)
        {
            metrics.OutboxMeasured(await OutboxBacklogProbe.MeasureAsync(db, clock, cancellationToken));
            _backlogMeasuredAt = now;
        }

        int claimed = 0, sent = 0, retrying = 0, givenUp = 0;
        foreach (var id in due)
        {
            cancellationToken.ThrowIfCancellationRequested();
            now = clock.GetUtcNow();
            var lockedUntil = now + options.LockDuration;
            var instance = InstanceId;
            var rows = await db.OutboxMessages
                .Where(m => m.Id == id && m.SentAt == null && m.FailedAt == null && (m.LockedUntil == null || m.LockedUntil < now))
                .ExecuteUpdateAsync(s => s.SetProperty(m => m.LockedUntil, lockedUntil).SetProperty(m => m.LockedBy, instance), cancellationToken);
            if (rows != 1)
            {
                continue; // another instance claimed it first
            }
            claimed++;

            var message = await db.OutboxMessages.AsNoTracking().SingleAsync(m => m.Id == id, cancellationToken);
            var outcome = await SendOneAsync(db, protector, message, cancellationToken);
            metrics?.OutboxAttempt(message.Channel.ToString().ToLowerInvariant(), outcome switch
            {
                Outcome.Sent => "sent",
                Outcome.Retrying => "retrying",
                _ => "given_up",
            });
            _ = outcome switch
            {
                Outcome.Sent => sent++,
                Outcome.Retrying => retrying++,
                _ => givenUp++,
            };
        }
        return new OutboxDispatchResult(claimed, sent, retrying, givenUp);
    }

    private enum Outcome
    {
        Sent,
        Retrying,
        GivenUp,
    }

    private async Task<Outcome> SendOneAsync(CafConnectDbContext db, OutboxBodyProtector protector, OutboxMessage message, CancellationToken cancellationToken)
    {
        var masked = RecipientMask.Mask(message.Channel, message.Recipient);
        var attempt = message.Attempts + 1;
        try
        {
            var outgoing = new OutgoingNotification(
                message.Id, message.Kind, message.Channel, message.Recipient, message.Subject,
                protector.Unprotect(message.ProtectedTextBody) ?? string.Empty,
                protector.Unprotect(message.ProtectedHtmlBody),
                message.IdempotencyKey, message.CreatedAt);
            await senders.For(message.Channel).SendAsync(outgoing, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Shutting down: release the claim so another instance (or the next start) retries without waiting for it.
            await db.OutboxMessages.Where(m => m.Id == message.Id && m.SentAt == null)
                .ExecuteUpdateAsync(s => s.SetProperty(m => m.LockedUntil, (DateTimeOffset?)null).SetProperty(m => m.LockedBy, (string?)null), CancellationToken.None);
            throw;
        }
        catch (Exception exception)
        {
            var now = clock.GetUtcNow();
            var error = Describe(exception);
            if (attempt >= options.MaxAttempts)
            {
                // Bodies wiped too: a code or password that could not be delivered in time is of no use any more.
                await db.OutboxMessages.Where(m => m.Id == message.Id)
                    .ExecuteUpdateAsync(s => s
                        .SetProperty(m => m.Attempts, attempt)
                        .SetProperty(m => m.FailedAt, now)
                        .SetProperty(m => m.LastError, error)
                        .SetProperty(m => m.ProtectedTextBody, (string?)null)
                        .SetProperty(m => m.ProtectedHtmlBody, (string?)null)
                        .SetProperty(m => m.LockedUntil, (DateTimeOffset?)null)
                        .SetProperty(m => m.LockedBy, (string?)null), CancellationToken.None);
                NotificationLog.GivenUp(logger, message.Id, message.Kind, message.Channel, masked, attempt, error);
                return Outcome.GivenUp;
            }

            var next = now + options.BackoffAfter(attempt);
            await db.OutboxMessages.Where(m => m.Id == message.Id)
                .ExecuteUpdateAsync(s => s
                    .SetProperty(m => m.Attempts, attempt)
                    .SetProperty(m => m.NextAttemptAt, next)
                    .SetProperty(m => m.LastError, error)
                    .SetProperty(m => m.LockedUntil, (DateTimeOffset?)null)
                    .SetProperty(m => m.LockedBy, (string?)null), CancellationToken.None);
            NotificationLog.SendFailed(logger, message.Id, message.Kind, message.Channel, masked, attempt, error, next);
            return Outcome.Retrying;
        }

        // Not cancellable: the gateway has the message, recording it is what keeps it from being sent again.
        var sentAt = clock.GetUtcNow();
        await db.OutboxMessages.Where(m => m.Id == message.Id)
            .ExecuteUpdateAsync(s => s
                .SetProperty(m => m.Attempts, attempt)
                .SetProperty(m => m.SentAt, sentAt)
                .SetProperty(m => m.LastError, (string?)null)
                .SetProperty(m => m.ProtectedTextBody, (string?)null)
                .SetProperty(m => m.ProtectedHtmlBody, (string?)null)
                .SetProperty(m => m.LockedUntil, (DateTimeOffset?)null)
                .SetProperty(m => m.LockedBy, (string?)null), CancellationToken.None);
        NotificationLog.Sent(logger, message.Id, message.Kind, message.Channel, masked, attempt);
        return Outcome.Sent;
    }

    /// <summary>Type and a short message: gateways' answers, never the body (senders never put it in exceptions).</summary>
    internal static string Describe(Exception exception)
    {
        var inner = exception is HttpRequestException or AggregateException && exception.InnerException is not null ? exception.InnerException : exception;
        var text = $"{exception.GetType().Name}: {exception.Message.ReplaceLineEndings(" ")}";
        if (!ReferenceEquals(inner, exception))
        {
            text += $" ({inner.GetType().Name})";
        }
        return Truncate(text, 300);
    }

    private string SenderName(NotificationChannel channel) => senders.For(channel) switch
    {
        FileNotificationSink sink => $"files in {sink.Directory}",
        var sender => sender.GetType().Name,
    };

    private static string Truncate(string value, int max) => value.Length <= max ? value : value[..max];
}
