using Microsoft.Extensions.DependencyInjection;

namespace CafConnect.IdP.Tests.Support;

/// <summary>
/// Base of every fixture that runs the host: the same tests run once on SQLite and once on PostgreSQL
/// (<c>[TestFixture(StoreKind.Sqlite)] [TestFixture(StoreKind.PostgreSql)]</c>), each on a store of its own.
/// </summary>
public abstract class StoreFixture(StoreKind kind)
{
    protected StoreKind Kind { get; } = kind;
    protected TestStore Store { get; private set; } = null!;
    protected CafConnectFactory Host { get; private set; } = null!;

    [OneTimeSetUp]
    public async Task StartHostAsync()
    {
        Store = TestStore.Create(Kind);
        Host = new CafConnectFactory(Store, configureServices: ConfigureServices);
        _ = Host.Server; // start now: migrations and seeding happen here, not inside the first test
        await Task.CompletedTask;
    }

    [OneTimeTearDown]
    public async Task StopHostAsync()
    {
        if (Host is not null)
        {
            await Host.DisposeAsync();
        }
        if (Store is not null)
        {
            await Store.DisposeAsync();
        }
    }

    protected OidcDriver NewBrowser() => new(Host.CreateBrowser());

    /// <summary>Services the fixture replaces or adds after the host registered its own (a clock, a hook).</summary>
    protected virtual void ConfigureServices(IServiceCollection services)
    {
    }
}
