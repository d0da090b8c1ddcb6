using System.Net;
using CafConnect.IdP.Tests.Support;
using CafConnect.Infrastructure.Clients;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace CafConnect.Browser.Tests.Support;

/// <summary>
/// The real host (the IdP tests' <see cref="CafConnectFactory"/>: Development configuration, seeded clients and demo
/// households, a private store) served by Kestrel on a real loopback socket, so a real browser and a real relying-party
/// library can reach it. .NET 10's <c>WebApplicationFactory.UseKestrel</c> swaps the in-memory test server for Kestrel;
/// port 0 lets the system pick a free port, read back from the server's addresses.
/// <para>
/// Messages (SMS, e-mail) go to the file sink, as on the embedded default, in a folder of this host (not under the
/// project's content root), and the outbox is polled often so that a code is "received" within a second; the
/// Development page <c>/dev/messages</c> shows them.
/// </para>
/// </summary>
public sealed class LiveHost : IAsyncDisposable
{
    /// <summary>The relying party registered on this host for the journeys (see <see cref="RelyingParty"/>).</summary>
    public const string RelyingPartyClientId = "rp-navigateur";
    public const string RelyingPartyCallbackPath = "/rp-test/callback";

    private readonly string _messagesDirectory;

    private LiveHost(TestStore store, CafConnectFactory factory, Uri baseAddress, string messagesDirectory, TestClient relyingParty)
    {
        Store = store;
        Factory = factory;
        BaseAddress = baseAddress;
        _messagesDirectory = messagesDirectory;
        RelyingParty = relyingParty;
    }

    public TestStore Store { get; }
    public CafConnectFactory Factory { get; }

    /// <summary>http://127.0.0.1:PORT/ — also the issuer, since the host derives it from the request when none is configured.</summary>
    public Uri BaseAddress { get; }

    /// <summary>
    /// A confidential client registered by the test (through <see cref="ClientAdministration"/>, as an operator would)
    /// whose redirect URI is on this host's own port, at a path the host does not serve: the browser's arrival there is
    /// a request to the live host (its 404 page), never to whatever may listen on port 5000 (a developer's
    /// <c>dotnet run</c>, where the seeded clients point). The test only reads the URL (code, state, iss).
    /// </summary>
    public TestClient RelyingParty { get; }

    /// <param name="settings">Extra configuration (e.g. FranceConnect pointed at its stand-in).</param>
    /// <param name="port">A fixed loopback port when a peer must know the address beforehand (the FranceConnect stand-in's redirect URIs); 0 picks a free one.</param>
    public static LiveHost Start(StoreKind kind, IReadOnlyDictionary<string, string?>? settings = null, int port = 0)
    {
        var store = TestStore.Create(kind);
        var messages = Path.Combine(Path.GetTempPath(), "cafconnect-browser-messages", Guid.NewGuid().ToString("N"));
        var configuration = new Dictionary<string, string?>
        {
            ["Notifications:FileSink:Directory"] = messages,
            ["Notifications:PollInterval"] = "00:00:00.200",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            configuration[key] = value;
        }
        var factory = new CafConnectFactory(store, configuration);
        try
        {
            // Explicit Listen wins over the http://127.0.0.1:5000 that Program.cs sets when no URL is configured.
            factory.UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, port));
            factory.StartServer();
            var address = factory.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.SingleOrDefault()
                ?? throw new InvalidOperationException("Kestrel reported no listening address.");
            var baseAddress = new Uri(address.TrimEnd('/') + "/");
            if (!IPAddress.IsLoopback(IPAddress.Parse(baseAddress.Host)) || baseAddress.Port is 0 or 5000)
            {
                throw new InvalidOperationException($"Unexpected listening address {baseAddress}.");
            }
            var relyingParty = RegisterRelyingPartyAsync(factory.Services, baseAddress).GetAwaiter().GetResult();
            return new LiveHost(store, factory, baseAddress, messages, relyingParty);
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

    private static async Task<TestClient> RegisterRelyingPartyAsync(IServiceProvider services, Uri baseAddress)
    {
        var client = new TestClient(RelyingPartyClientId, "secret-du-service-de-test-navigateur-" + Guid.NewGuid().ToString("N"),
            new Uri(baseAddress, RelyingPartyCallbackPath.TrimStart('/')).ToString(), new Uri(baseAddress, "rp-test/deconnecte").ToString());
        await using var scope = services.CreateAsyncScope();
        await scope.ServiceProvider.GetRequiredService<ClientAdministration>().AddAsync(new ClientRegistration
        {
            ClientId = client.ClientId,
            DisplayName = "Service en ligne de test (navigateur)",
            Kind = ClientKind.Confidential,
            ClientSecret = client.Secret,
            RedirectUris = [client.RedirectUri],
            PostLogoutRedirectUris = [client.PostLogoutRedirectUri!],
            Scopes = ["profile", "email", "phone", "caf", "offline_access"],
        });
        return client;
    }

    public async ValueTask DisposeAsync()
    {
        await Factory.DisposeAsync();
        await Store.DisposeAsync();
        try
        {
            Directory.Delete(_messagesDirectory, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
        catch (IOException)
        {
            // A temp folder left behind is harmless.
        }
    }
}
