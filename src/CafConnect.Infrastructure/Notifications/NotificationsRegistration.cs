using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Http.Resilience;
using Polly;

namespace CafConnect.Infrastructure.Notifications;

public static class NotificationsRegistration
{
    /// <summary>
    /// The outbox (scoped, on the store's unit of work), the templates, the senders and the read model; not the
    /// dispatcher, which only the host runs (<see cref="AddOutboxDispatcher"/>): the CLI queues, it never sends.
    /// E-mail goes through SMTP when <c>Notifications:Smtp:Host</c> is set, SMS through the gateway when
    /// <c>Notifications:Sms:Url</c> is set; otherwise, and always for letters, to files in
    /// <c>Notifications:FileSink:Directory</c> (<c>data/outbox</c> under <paramref name="contentRoot"/>).
    /// </summary>
    public static IServiceCollection AddCafConnectNotifications(this IServiceCollection services, IConfiguration configuration, string contentRoot)
    {
        var section = configuration.GetSection("Notifications");
        var dispatcher = section.Get<OutboxDispatcherOptions>() ?? new OutboxDispatcherOptions();
        var smtp = section.GetSection("Smtp").Get<SmtpOptions>() ?? new SmtpOptions();
        var sms = section.GetSection("Sms").Get<SmsOptions>() ?? new SmsOptions();
        var files = section.GetSection("FileSink").Get<FileSinkOptions>() ?? new FileSinkOptions();

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(dispatcher);
        services.TryAddSingleton(smtp);
        services.TryAddSingleton(sms);
        services.TryAddSingleton<NotificationTemplates>();
        services.TryAddSingleton<OutboxBodyProtector>();
        services.TryAddScoped<INotificationOutbox, NotificationOutbox>();
        services.TryAddScoped<OutboxReader>();
        services.TryAddSingleton(new FileNotificationSink(Path.GetFullPath(files.Directory, contentRoot), smtp.From));

        var useSmtp = !string.IsNullOrWhiteSpace(smtp.Host);
        var useSmsGateway = !string.IsNullOrWhiteSpace(sms.Url);
        if (useSmtp)
        {
            services.TryAddSingleton<SmtpEmailSender>();
        }
        if (useSmsGateway)
        {
            services.TryAddSingleton<HttpSmsSender>();
            services.AddHttpClient(HttpSmsSender.HttpClientName)
                .AddResilienceHandler("sms", pipeline =>
                {
                    if (sms.MaxRetries > 0)
                    {
                        // 5xx, 408, 429, network errors and attempt timeouts; the same request (same Idempotency-Key) each time.
                        pipeline.AddRetry(new HttpRetryStrategyOptions
                        {
                            MaxRetryAttempts = sms.MaxRetries,
                            Delay = sms.RetryDelay,
                            BackoffType = DelayBackoffType.Exponential,
                            UseJitter = true,
                        });
                    }
                    pipeline.AddTimeout(sms.AttemptTimeout);
                });
        }

        services.TryAddSingleton<INotificationSenderResolver>(sp =>
        {
            var sink = sp.GetRequiredService<FileNotificationSink>();
            return new NotificationSenderResolver(
                email: useSmtp ? sp.GetRequiredService<SmtpEmailSender>() : sink,
                sms: useSmsGateway ? sp.GetRequiredService<HttpSmsSender>() : sink,
                letter: sink);
        });
        return services;
    }

    /// <summary>The background sender of the outbox (the host only). Expects <see cref="AddCafConnectNotifications"/>.</summary>
    public static IServiceCollection AddOutboxDispatcher(this IServiceCollection services)
    {
        services.TryAddSingleton<OutboxDispatcher>();
        services.AddHostedService(sp => sp.GetRequiredService<OutboxDispatcher>());
        return services;
    }
}
