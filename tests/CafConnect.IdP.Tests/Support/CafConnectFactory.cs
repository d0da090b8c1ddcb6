using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;

namespace CafConnect.IdP.Tests.Support;

/// <summary>
/// The real host (Program) on the in-memory test server, in its Development configuration (the five seeded
/// clients, the demo households), pointed at a test store. Two factories on the same store are two instances
/// sharing it — or one instance restarted.
/// </summary>
/// <paramref name="configureServices"/> replaces services after the host registered its own (e.g. a
/// <see cref="ManualClock"/> as the TimeProvider). <paramref name="environment"/> is Development unless a test needs the
/// production rules (start-up checks, JSON logs).
public sealed class CafConnectFactory(
    TestStore store,
    IReadOnlyDictionary<string, string?>? overrides = null,
    Action<Microsoft.Extensions.DependencyInjection.IServiceCollection>? configureServices = null,
    string environment = "Development") : WebApplicationFactory<Program>
{
    public TestStore Store { get; } = store;

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment(environment);
        var settings = new Dictionary<string, string?>(Store.Settings)
        {
            // Cheaper hashes keep the suite fast; production parameters are tested in the hasher's own tests.
            ["Security:Argon2id:MemoryKiB"] = "8192",
            ["Security:Argon2id:Iterations"] = "1",
            // Messages without a gateway go to files: into a temporary folder, never the source tree.
            ["Notifications:FileSink:Directory"] = Path.Combine(Path.GetTempPath(), "cafconnect-test-outbox", Guid.NewGuid().ToString("N")),
        };
        foreach (var (key, value) in overrides ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }
        // UseSetting, not ConfigureAppConfiguration: with minimal hosting the latter is applied only after Program has
        // read its configuration (the store, the hasher), so the host would silently run on its default SQLite file.
        foreach (var (key, value) in settings)
        {
            builder.UseSetting(key, value);
        }
        if (configureServices is not null)
        {
            builder.ConfigureTestServices(configureServices);
        }
    }

    /// <summary>
    /// Starts the host on the real server (Kestrel) on a free loopback port instead of the in-memory one, for what only
    /// a real connection shows (several instances reached over HTTP, a client's socket cut short); its base address.
    /// </summary>
    public Uri StartOnKestrel()
    {
        UseKestrel(kestrel => kestrel.Listen(System.Net.IPAddress.Loopback, 0));
        StartServer();
        var addresses = Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>().Features
            .Get<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>()!.Addresses;
        return new Uri(addresses.Single().TrimEnd('/') + "/");
    }

    /// <summary>
    /// A browser-like client: keeps cookies (in <paramref name="cookies"/> when given, so one browser can talk to
    /// several instances), does not follow redirects (tests assert each hop).
    /// </summary>
    public HttpClient CreateBrowser(System.Net.CookieContainer? cookies = null) =>
        CreateDefaultClient(new Uri("http://localhost"), new Microsoft.AspNetCore.Mvc.Testing.Handlers.CookieContainerHandler(cookies ?? new System.Net.CookieContainer()));
}
