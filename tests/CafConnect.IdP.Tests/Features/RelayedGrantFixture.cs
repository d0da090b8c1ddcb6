using System.Text.Json;
using CafConnect.IdP.Tests.Features.FirstLogin;
using CafConnect.IdP.Tests.Support;
using CafConnect.Infrastructure.Audit;
using CafConnect.Infrastructure.Clients;
using CafConnect.Infrastructure.Persistence;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace CafConnect.IdP.Tests.Features;

/// <summary>
/// Base of the fixtures of the grants a relaying client calls at the token endpoint for the person in front of it (the
/// kiosks' identifier-password grant, the voice server's phone grant): one host per store on a <see cref="ManualClock"/>
/// (delays, locks and blocks are waited out by advancing it), each request from the address the test names (the source
/// budgets count per address or per client), and what those tests register and read.
/// </summary>
public abstract class RelayedGrantFixture(StoreKind kind)
{
    protected StoreKind Kind { get; } = kind;
    protected ManualClock Clock { get; } = new();
    protected JourneyHost Journey { get; private set; } = null!;
    protected CafConnectFactory Host => Journey.Host;

    /// <summary>The fixture's settings (budgets, lifetimes).</summary>
    protected abstract IReadOnlyDictionary<string, string?> Settings { get; }

    [OneTimeSetUp]
    public void StartHost() => Journey = JourneyHost.StartOnClock(Kind, Clock, Settings);

    [OneTimeTearDown]
    public async Task StopHost()
    {
        if (Journey is not null)
        {
            await Journey.DisposeAsync();
        }
    }

    /// <summary>A client whose requests come from <paramref name="ip"/> (the test server's own address when null).</summary>
    protected OidcDriver DriverFrom(string? ip)
    {
        var browser = Host.CreateBrowser();
        if (ip is not null)
        {
            browser.DefaultRequestHeaders.Add(TestClientIp.Header, ip);
        }
        return new OidcDriver(browser);
    }

    /// <summary>
    /// A relaying client of the test's own — confidential, holding <paramref name="grantType"/>, so a source budget of its
    /// own — registered as an administrator would.
    /// </summary>
    protected async Task<TestClient> NewRelayingClientAsync(string clientIdPrefix, string displayName, string grantType, string redirectUri)
    {
        var client = new TestClient(clientIdPrefix + Guid.NewGuid().ToString("N")[..8], "secret-de-test-" + Guid.NewGuid().ToString("N"), redirectUri, null);
        using var scope = Host.Services.CreateScope();
        await scope.ServiceProvider.GetRequiredService<ClientAdministration>().AddAsync(new ClientRegistration
        {
            ClientId = client.ClientId,
            DisplayName = displayName,
            Kind = ClientKind.Confidential,
            ClientSecret = client.Secret,
            RedirectUris = [client.RedirectUri],
            Scopes = [CafScopes.Caf],
            ExtraGrantTypes = [grantType],
        });
        return client;
    }

    /// <summary>The audit lines of a person (of no person when null), oldest first.</summary>
    protected async Task<List<AuditEvent>> AuditOfAsync(Guid? personId)
    {
        using var scope = Host.Services.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<CafConnectDbContext>();
        return await db.AuditEvents.AsNoTracking().Where(e => e.PersonId == personId).OrderBy(e => e.Id).ToListAsync();
    }

    protected static async Task<JsonElement> JsonOf(HttpResponseMessage response) => JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
}
