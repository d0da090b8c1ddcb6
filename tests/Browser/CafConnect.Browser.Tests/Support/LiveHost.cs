using System.Net;
using CafConnect.IdP.Tests.Support;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace CafConnect.Browser.Tests.Support;

/// <summary>
/// The real host (the IdP tests' <see cref="CafConnectFactory"/>: Development configuration, seeded clients and demo
/// households, a private store) served by Kestrel on a real loopback socket, so a real browser and a real relying-party
/// library can reach it. .NET 10's <c>WebApplicationFactory.UseKestrel</c> swaps the in-memory test server for Kestrel;
/// port 0 lets the system pick a free port, read back from the server's addresses.
/// </summary>
public sealed class LiveHost : IAsyncDisposable
{
    private LiveHost(TestStore store, CafConnectFactory factory, Uri baseAddress)
    {
        Store = store;
        Factory = factory;
        BaseAddress = baseAddress;
    }

    public TestStore Store { get; }
    public CafConnectFactory Factory { get; }

    /// <summary>http://127.0.0.1:PORT/ — also the issuer, since the host derives it from the request when none is configured.</summary>
    public Uri BaseAddress { get; }

    public static LiveHost Start(StoreKind kind)
    {
        var store = TestStore.Create(kind);
        var factory = new CafConnectFactory(store);
        try
        {
            // Explicit Listen wins over the http://127.0.0.1:5000 that Program.cs sets when no URL is configured.
            factory.UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
            factory.StartServer();
            var address = factory.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.SingleOrDefault()
                ?? throw new InvalidOperationException("Kestrel reported no listening address.");
            var baseAddress = new Uri(address.TrimEnd('/') + "/");
            if (!IPAddress.IsLoopback(IPAddress.Parse(baseAddress.Host)) || baseAddress.Port is 0 or 5000)
            {
                throw new InvalidOperationException($"Unexpected listening address {baseAddress}.");
            }
            return new LiveHost(store, factory, baseAddress);
        }
        catch
        {
            factory.Dispose();
            store.DisposeAsync().AsTask().GetAwaiter().GetResult();
            throw;
        }
    }

    /// <summary>A plain HTTP client on the real socket: no cookies shared with the browser, no automatic redirects.</summary>
    public HttpClient CreateHttpClient() => new(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = true })
    {
        BaseAddress = BaseAddress,
    };

    public async ValueTask DisposeAsync()
    {
        await Factory.DisposeAsync();
        await Store.DisposeAsync();
    }
}
