using Microsoft.Extensions.Logging;

namespace CafConnect.Infrastructure.Notifications;

/// <summary>Log events of the outbox: ids, kind, channel and masked recipient only — never a body, code or password.</summary>
internal static partial class NotificationLog
{
    [LoggerMessage(EventId = 2101, EventName = "NotificationEnqueued", Level = LogLevel.Information,
        Message = "Notification {MessageId} ({Kind}, {Channel}) queued for {Recipient}")]
    public static partial void Enqueued(ILogger logger, Guid messageId, NotificationKind kind, NotificationChannel channel, string recipient);

    [LoggerMessage(EventId = 2102, EventName = "NotificationDuplicateIgnored", Level = LogLevel.Information,
        Message = "Notification ({Kind}, {Channel}) for {Recipient} not queued: its idempotency key was already used")]
    public static partial void DuplicateIgnored(ILogger logger, NotificationKind kind, NotificationChannel channel, string recipient);

    [LoggerMessage(EventId = 2103, EventName = "NotificationSent", Level = LogLevel.Information,
        Message = "Notification {MessageId} ({Kind}, {Channel}) sent to {Recipient} at attempt {Attempt}")]
    public static partial void Sent(ILogger logger, Guid messageId, NotificationKind kind, NotificationChannel channel, string recipient, int attempt);

    [LoggerMessage(EventId = 2104, EventName = "NotificationSendFailed", Level = LogLevel.Warning,
        Message = "Notification {MessageId} ({Kind}, {Channel}) to {Recipient} failed at attempt {Attempt}: {Error}; next attempt at {NextAttemptAt:o}")]
    public static partial void SendFailed(ILogger logger, Guid messageId, NotificationKind kind, NotificationChannel channel, string recipient, int attempt, string error, DateTimeOffset nextAttemptAt);

    [LoggerMessage(EventId = 2105, EventName = "NotificationGivenUp", Level = LogLevel.Error,
        Message = "Notification {MessageId} ({Kind}, {Channel}) to {Recipient} given up after {Attempt} attempts: {Error}")]
    public static partial void GivenUp(ILogger logger, Guid messageId, NotificationKind kind, NotificationChannel channel, string recipient, int attempt, string error);

    [LoggerMessage(EventId = 2106, EventName = "OutboxDispatchFailed", Level = LogLevel.Error,
        Message = "The outbox dispatcher failed; it tries again at the next poll")]
    public static partial void DispatchFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 2107, EventName = "OutboxDispatcherStarted", Level = LogLevel.Information,
        Message = "Outbox dispatcher {Instance} started: polls every {PollInterval}; e-mail by {Email}, SMS by {Sms}, letters by {Letter}")]
    public static partial void Started(ILogger logger, string instance, TimeSpan pollInterval, string email, string sms, string letter);
}
