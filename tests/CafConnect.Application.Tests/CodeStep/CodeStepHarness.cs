using System.Collections.Concurrent;
using CafConnect.Domain.Accounts;
using CafConnect.Infrastructure;
using CafConnect.Infrastructure.Persistence;
using CafConnect.Infrastructure.Tests.Support;
using CafConnect.Infrastructure.Verification;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;

namespace CafConnect.Application.Tests.CodeStep;

/// <summary>
/// The application layer on a test store, as the host composes it (infrastructure, then the use cases), without HTTP:
/// SQLite with codes and counters in memory, or PostgreSQL with Redis. The clock is fake; the codes issued are recorded
/// (the outbox keeps them encrypted) so that a test can type the right one.
/// </summary>
public sealed class CodeStepHarness : IAsyncDisposable
{
    private CodeStepHarness(TestDatabase database, ServiceProvider services, FakeTimeProvider clock, RecordingCodeStore codes)
    {
        Database = database;
        Services = services;
        Clock = clock;
        Codes = codes;
    }

    public TestDatabase Database { get; }
    public ServiceProvider Services { get; }
    public FakeTimeProvider Clock { get; }
    public RecordingCodeStore Codes { get; }

    public static async Task<CodeStepHarness> StartAsync(StoreKind kind, IDictionary<string, string?>? overrides = null)
    {
        var database = await TestDatabase.CreateAsync(kind);
        var settings = new Dictionary<string, string?>
        {
            ["Storage:Provider"] = database.Provider.ToString(),
            ["ConnectionStrings:CafConnect"] = database.ConnectionString,
            ["Notifications:FileSink:Directory"] = Path.Combine(database.Directory, "outbox"),
        };
        if (kind == StoreKind.PostgreSql)
        {
            settings["Redis:Configuration"] = TestServers.Require(TestServers.RedisVariable, "Redis");
            settings["Throttling:KeyPrefix"] = $"cafconnect-test:{Guid.NewGuid():N}:thr:";
        }
        foreach (var (key, value) in overrides ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton<Microsoft.AspNetCore.DataProtection.IDataProtectionProvider>(new Microsoft.AspNetCore.DataProtection.EphemeralDataProtectionProvider());
        // Registered first: the infrastructure only adds what is missing (TryAdd).
        services.AddSingleton<TimeProvider>(clock);
        services.AddSingleton<IMacKeyProvider>(StaticMacKeyProvider.Random());
        RecordingCodeStore? recording = null;
        services.AddSingleton<IVerificationCodeStore>(sp => recording = new RecordingCodeStore(kind == StoreKind.Sqlite
            ? new InMemoryVerificationCodeStore(sp.GetRequiredService<VerificationCodeOptions>(), sp.GetRequiredService<CodeMac>(), clock)
            : new RedisVerificationCodeStore(sp.GetRequiredService<IConnectionMultiplexer>(), sp.GetRequiredService<VerificationCodeOptions>(),
                sp.GetRequiredService<CodeMac>(), clock, $"cafconnect-test:{Guid.NewGuid():N}:vc:")));
        services.AddCafConnectInfrastructure(configuration, database.Directory);
        services.AddCafConnectApplication(configuration);
        var provider = services.BuildServiceProvider();
        _ = provider.GetRequiredService<IVerificationCodeStore>();
        return new CodeStepHarness(database, provider, clock, recording!);
    }

    /// <summary>A person with a verified mobile, saved.</summary>
    public async Task<PersonAccount> AddPersonAsync(string mobile = "+33615009901")
    {
        var person = new PersonAccount
        {
            BirthName = "TEST", GivenNames = "Camille", BirthDate = new DateOnly(1990, 1, 1),
            MobilePhone = mobile, MobilePhoneVerified = true, CreatedAt = Clock.GetUtcNow(),
        };
        await using var scope = Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<CafConnectDbContext>();
        db.Persons.Add(person);
        await db.SaveChangesAsync();
        return person;
    }

    public async ValueTask DisposeAsync()
    {
        await Services.DisposeAsync();
        await Database.DisposeAsync();
    }
}

/// <summary>The real store, remembering the last code issued per flow.</summary>
public sealed class RecordingCodeStore(IVerificationCodeStore inner) : IVerificationCodeStore
{
    private readonly ConcurrentDictionary<string, string> _last = new(StringComparer.Ordinal);

    public string LastCodeOf(string flowId) => _last[flowId];

    public async Task<CodeIssue> IssueAsync(string flowId, ContactChannel channel, string contact, CodeSendScope sendScope, CancellationToken cancellationToken = default)
    {
        var issue = await inner.IssueAsync(flowId, channel, contact, sendScope, cancellationToken);
        if (issue.Code is { } code)
        {
            _last[flowId] = code;
        }
        return issue;
    }

    public Task<CodeCheckResult> CheckAsync(string flowId, ContactChannel channel, string contact, string? submittedCode, CancellationToken cancellationToken = default) =>
        inner.CheckAsync(flowId, channel, contact, submittedCode, cancellationToken);
}
