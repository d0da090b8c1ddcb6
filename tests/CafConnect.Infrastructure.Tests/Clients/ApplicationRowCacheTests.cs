using System.Reflection;
using CafConnect.Infrastructure.Clients;
using CafConnect.Infrastructure.Persistence;
using CafConnect.Infrastructure.Tests.Support;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using OpenIddict.Abstractions;
using OpenIddict.EntityFrameworkCore.Models;

namespace CafConnect.Infrastructure.Tests.Clients;

/// <summary>
/// Client rows shared across requests (docs/decisions.md #39): what is served from memory, for how long, and what a
/// change does to it.
/// </summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
public sealed class ApplicationRowCacheTests(StoreKind kind)
{
    private const string ClientId = "cache-probe";
    private TestDatabase _database = null!;
    private ServiceProvider _services = null!;
    private FakeTimeProvider _clock = null!;

    [SetUp]
    public async Task Start()
    {
        _database = await TestDatabase.CreateAsync(kind);
        var settings = new Dictionary<string, string?>
        {
            ["Storage:Provider"] = _database.Provider.ToString(),
            ["ConnectionStrings:CafConnect"] = _database.ConnectionString,
            ["Notifications:FileSink:Directory"] = Path.Combine(_database.Directory, "outbox"),
        };
        if (kind == StoreKind.PostgreSql)
        {
            settings["Redis:Configuration"] = TestServers.Require(TestServers.RedisVariable, "Redis");
            settings["Throttling:KeyPrefix"] = $"cafconnect-test:{Guid.NewGuid():N}:thr:";
            settings["Redis:ClientChangesChannel"] = $"cafconnect-test:{Guid.NewGuid():N}:clients-changed";
        }
        _clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        _settings = settings;
        _services = NewProcess();
        await using var scope = _services.CreateAsyncScope();
        await scope.ServiceProvider.GetRequiredService<ClientAdministration>().AddAsync(new ClientRegistration
        {
            ClientId = ClientId, DisplayName = "Avant", Kind = ClientKind.Service, ClientSecret = "Secret-typed-by-an-operator-1", Scopes = ["cafconnect.admin"],
        });
    }

    /// <summary>The services of one process on this store (and Redis with PostgreSQL); a second call is another process.</summary>
    private ServiceProvider NewProcess()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton<Microsoft.AspNetCore.DataProtection.IDataProtectionProvider>(new Microsoft.AspNetCore.DataProtection.EphemeralDataProtectionProvider());
        services.AddSingleton<TimeProvider>(_clock);
        services.AddCafConnectInfrastructure(new ConfigurationBuilder().AddInMemoryCollection(_settings).Build(), _database.Directory);
        return services.BuildServiceProvider();
    }

    private Dictionary<string, string?> _settings = null!;

    [TearDown]
    public async Task Stop()
    {
        if (_services is not null)
        {
            await _services.DisposeAsync();
        }
        if (_database is not null)
        {
            await _database.DisposeAsync();
        }
    }

    private async Task<string?> DisplayNameSeenByARequestAsync()
    {
        await using var scope = _services.CreateAsyncScope();
        var applications = scope.ServiceProvider.GetRequiredService<IOpenIddictApplicationManager>();
        var application = await applications.FindByClientIdAsync(ClientId);
        return application is null ? null : await applications.GetDisplayNameAsync(application);
    }

    /// <summary>What another instance or the CLI in its own process does: the row changes under this process.</summary>
    private async Task RenameInTheStoreBehindTheCacheAsync(string name)
    {
        await using var scope = _services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<CafConnectDbContext>();
        var changed = await db.Set<OpenIddictEntityFrameworkCoreApplication>().Where(a => a.ClientId == ClientId)
            .ExecuteUpdateAsync(s => s.SetProperty(a => a.DisplayName, name));
        Assert.That(changed, Is.EqualTo(1));
    }

    [Test]
    public async Task A_row_changed_by_another_process_is_served_from_memory_until_its_lifetime_ends_then_read_again()
    {
        Assert.That(await DisplayNameSeenByARequestAsync(), Is.EqualTo("Avant"));
        await RenameInTheStoreBehindTheCacheAsync("Après");

        // Served from memory: this request did not read the store (which says "Après").
        _clock.Advance(ApplicationRowSnapshots.Lifetime - TimeSpan.FromMilliseconds(1));
        Assert.That(await DisplayNameSeenByARequestAsync(), Is.EqualTo("Avant"));

        // The bound: once the lifetime is over, the next request reads the store.
        _clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.That(await DisplayNameSeenByARequestAsync(), Is.EqualTo("Après"));
    }

    [Test]
    public async Task A_client_disabled_through_this_process_is_refused_at_once_not_after_the_lifetime()
    {
        Assert.That(await DisplayNameSeenByARequestAsync(), Is.EqualTo("Avant"));
        await using (var scope = _services.CreateAsyncScope())
        {
            var administration = scope.ServiceProvider.GetRequiredService<ClientAdministration>();
            var registration = await administration.FindAsync(ClientId);
            await administration.UpdateAsync(registration! with { Disabled = true, DisplayName = "Désactivé", ClientSecret = null });
        }

        await using (var scope = _services.CreateAsyncScope())
        {
            var applications = scope.ServiceProvider.GetRequiredService<IOpenIddictApplicationManager>();
            var application = await applications.FindByClientIdAsync(ClientId);
            Assert.That(await applications.GetDisplayNameAsync(application!), Is.EqualTo("Désactivé"));
            var properties = await applications.GetPropertiesAsync(application!);
            Assert.That(properties.ContainsKey(ClientAdministration.DisabledProperty), Is.True, "the disabled mark must be seen without waiting");
        }
    }

    [Test]
    public async Task Each_request_gets_its_own_copy_tracked_by_its_own_context_and_saving_it_writes_nothing()
    {
        Assert.That(await DisplayNameSeenByARequestAsync(), Is.EqualTo("Avant"));
        object? first;
        await using (var scope = _services.CreateAsyncScope())
        {
            var applications = scope.ServiceProvider.GetRequiredService<IOpenIddictApplicationManager>();
            var db = scope.ServiceProvider.GetRequiredService<CafConnectDbContext>();
            first = await applications.FindByClientIdAsync(ClientId);
            var again = await applications.FindByIdAsync((await applications.GetIdAsync(first!))!);
            Assert.That(again, Is.SameAs(first), "one entity per request, whichever key found it");
            Assert.That(db.Entry(first!).State, Is.EqualTo(EntityState.Unchanged));
            Assert.That(await db.SaveChangesAsync(), Is.Zero, "a copy from memory is not a change");
        }
        await using (var scope = _services.CreateAsyncScope())
        {
            var applications = scope.ServiceProvider.GetRequiredService<IOpenIddictApplicationManager>();
            var second = await applications.FindByClientIdAsync(ClientId);
            Assert.That(second, Is.Not.SameAs(first), "requests never share an entity");
        }
    }

    [Test]
    public async Task A_row_read_while_a_change_was_made_is_not_kept()
    {
        var snapshots = _services.GetRequiredService<ApplicationRowSnapshots>();
        var row = new OpenIddictEntityFrameworkCoreApplication { Id = "id-probe", ClientId = "race-probe", DisplayName = "lu avant" };
        var generationBeforeRead = snapshots.Generation;
        snapshots.EvictAll(); // a change through this process, between the read and the keep
        snapshots.Keep(row, generationBeforeRead);
        Assert.That(snapshots.FindByClientId("race-probe"), Is.Null);

        snapshots.Keep(row, snapshots.Generation);
        Assert.That(snapshots.FindByClientId("race-probe")?.DisplayName, Is.EqualTo("lu avant"));
        await Task.CompletedTask;
    }

    [Test]
    public async Task A_row_read_while_another_process_announced_a_change_is_not_kept()
    {
        if (kind != StoreKind.PostgreSql)
        {
            Assert.Ignore("Announcements need Redis; the embedded SQLite store has none (docs/decisions.md #45).");
        }
        // Another process (a host instance) on the same store and Redis, listening as a host does.
        await using var other = NewProcess();
        var subscriber = ActivatorUtilities.CreateInstance<ClientChangesSubscriber>(other);
        await subscriber.StartAsync(CancellationToken.None);
        try
        {
            var otherRows = other.GetRequiredService<ApplicationRowSnapshots>();
            // Its read of the row is in flight: the generation taken, the row as the store held it.
            var generationBeforeRead = otherRows.Generation;
            OpenIddictEntityFrameworkCoreApplication readBefore;
            await using (var scope = other.CreateAsyncScope())
            {
                readBefore = await scope.ServiceProvider.GetRequiredService<CafConnectDbContext>().Set<OpenIddictEntityFrameworkCoreApplication>()
                    .AsNoTracking().SingleAsync(a => a.ClientId == ClientId);
            }

            // This process changes the client through its manager: announced.
            await using (var scope = _services.CreateAsyncScope())
            {
                var administration = scope.ServiceProvider.GetRequiredService<ClientAdministration>();
                var registration = await administration.FindAsync(ClientId);
                await administration.UpdateAsync(registration! with { DisplayName = "Après", ClientSecret = null });
            }
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
            while (otherRows.Generation == generationBeforeRead && DateTime.UtcNow < deadline)
            {
                await Task.Delay(10);
            }

            // The read completes after the announcement arrived: it is not kept, exactly as after a local change.
            otherRows.Keep(readBefore, generationBeforeRead);
            Assert.That(otherRows.FindByClientId(ClientId), Is.Null, "a row read before the announcement is not kept");
            await using (var scope = other.CreateAsyncScope())
            {
                var applications = scope.ServiceProvider.GetRequiredService<IOpenIddictApplicationManager>();
                Assert.That(await applications.GetDisplayNameAsync((await applications.FindByClientIdAsync(ClientId))!), Is.EqualTo("Après"));
            }
        }
        finally
        {
            await subscriber.StopAsync(CancellationToken.None);
        }
    }

    [Test]
    public void The_copy_carries_every_stored_column()
    {
        var row = new OpenIddictEntityFrameworkCoreApplication();
        var columns = typeof(OpenIddictEntityFrameworkCoreApplication).GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.CanWrite && p.PropertyType == typeof(string)).ToList();
        Assert.That(columns, Has.Count.GreaterThanOrEqualTo(15));
        foreach (var column in columns)
        {
            column.SetValue(row, $"value of {column.Name}");
        }
        // A column OpenIddict adds that is not a string would not be copied: fail so that Copy is updated.
        var others = typeof(OpenIddictEntityFrameworkCoreApplication).GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.CanWrite && p.PropertyType != typeof(string)).Select(p => p.Name);
        Assert.That(others, Is.Empty);

        var copy = ApplicationRowSnapshots.Copy(row);
        foreach (var column in columns)
        {
            Assert.That(column.GetValue(copy), Is.EqualTo($"value of {column.Name}"), column.Name);
        }
    }
}
