using System.Collections.Concurrent;
using CafConnect.Infrastructure.Notifications;
using CafConnect.Infrastructure.Persistence;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace CafConnect.Infrastructure.Tests.Support;

/// <summary>One "instance" of the service on a test store: its own container and connections, the real registration.</summary>
public sealed class OutboxHarness : IAsyncDisposable
{
    private OutboxHarness(ServiceProvider provider, ListLoggerProvider logs)
    {
        Services = provider;
        Logs = logs;
    }

    public ServiceProvider Services { get; }
    public ListLoggerProvider Logs { get; }
    public OutboxDispatcher Dispatcher => Services.GetRequiredService<OutboxDispatcher>();

    public static OutboxHarness Create(TestDatabase database, TimeProvider clock, IDataProtectionProvider dataProtection,
        IDictionary<string, string?>? settings = null, INotificationSenderResolver? senders = null)
    {
        var values = new Dictionary<string, string?> { ["Notifications:FileSink:Directory"] = Path.Combine(database.Directory, "outbox") };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            values[key] = value;
        }
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(values).Build();
        var logs = new ListLoggerProvider();
        var services = new ServiceCollection();
        services.AddLogging(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Trace));
        services.AddSingleton(clock);
        services.AddSingleton(dataProtection);
        if (senders is not null)
        {
            services.AddSingleton(senders);
        }
        if (database.Provider == StorageProvider.Sqlite)
        {
            services.AddDbContext<CafConnectDbContext, SqliteCafConnectDbContext>(o => StorageRegistration.Configure(o, database.Provider, database.ConnectionString));
        }
        else
        {
            services.AddDbContext<CafConnectDbContext, PostgreSqlCafConnectDbContext>(o => StorageRegistration.Configure(o, database.Provider, database.ConnectionString));
        }
        services.AddCafConnectNotifications(configuration, database.Directory);
        services.AddSingleton<OutboxDispatcher>();
        return new OutboxHarness(services.BuildServiceProvider(), logs);
    }

    public async Task EnqueueAsync(params NotificationRequest[] requests)
    {
        await using var scope = Services.CreateAsyncScope();
        var outbox = scope.ServiceProvider.GetRequiredService<INotificationOutbox>();
        foreach (var request in requests)
        {
            outbox.Enqueue(request);
        }
        await scope.ServiceProvider.GetRequiredService<CafConnectDbContext>().SaveChangesAsync();
    }

    public async Task<List<OutboxMessage>> MessagesAsync()
    {
        await using var scope = Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<CafConnectDbContext>().OutboxMessages.AsNoTracking().ToListAsync();
    }

    public ValueTask DisposeAsync() => Services.DisposeAsync();
}

/// <summary>Records what it is asked to send; optionally fails or waits first.</summary>
public sealed class RecordingSender : INotificationSender, INotificationSenderResolver
{
    private readonly ConcurrentQueue<OutgoingNotification> _sent = new();

    public Func<OutgoingNotification, Task>? Before { get; set; }

    public IReadOnlyList<OutgoingNotification> Sent => _sent.ToList();

    public async Task SendAsync(OutgoingNotification message, CancellationToken cancellationToken)
    {
        if (Before is not null)
        {
            await Before(message);
        }
        _sent.Enqueue(message);
    }

    public INotificationSender For(NotificationChannel channel) => this;
}

/// <summary>Collects formatted log lines (with event names) to check what is — and is not — logged.</summary>
public sealed class ListLoggerProvider : ILoggerProvider
{
    private readonly ConcurrentQueue<(LogLevel Level, EventId Event, string Message)> _entries = new();

    public IReadOnlyList<(LogLevel Level, EventId Event, string Message)> Entries => _entries.ToList();

    public ILogger CreateLogger(string categoryName) => new Logger(this);

    public void Dispose()
    {
    }

    private sealed class Logger(ListLoggerProvider owner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            owner._entries.Enqueue((logLevel, eventId, formatter(state, exception) + (exception is null ? "" : " " + exception)));
    }
}
