using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using CafConnect.IdP.Demo;
using CafConnect.IdP.Tests.Support;
using CafConnect.Infrastructure.Clients;
using CafConnect.Infrastructure.Persistence;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using OpenIddict.Abstractions;
using OpenIddict.Core;
using OpenIddict.EntityFrameworkCore.Models;

namespace CafConnect.IdP.Tests.Protocol;

/// <summary>
/// Client secrets (docs/decisions.md #28): a secret CafConnect generated is kept as a keyed HMAC and checked in constant
/// time; a wrong secret fails; a secret stored with OpenIddict's PBKDF2 — every secret before the change, and every
/// secret an operator typed — still verifies. A client authenticated the new way still introspects and revokes.
/// </summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
public sealed class ClientSecretHashingTests(StoreKind kind) : StoreFixture(kind)
{
    private const string RedirectUri = "http://127.0.0.1:5000/demo/callback";

    /// <summary>What <c>cafconnect clients add --generate-secret</c> prints (CafConnect.Cli ClientCommands.NewSecret).</summary>
    private static string GeneratedSecret() => System.Buffers.Text.Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));

    private async Task<TestClient> RegisterAsync(string clientId, string secret, ClientKind clientKind = ClientKind.Confidential)
    {
        using var scope = Host.Services.CreateScope();
        await scope.ServiceProvider.GetRequiredService<ClientAdministration>().AddAsync(new ClientRegistration
        {
            ClientId = clientId,
            DisplayName = clientId,
            Kind = clientKind,
            ClientSecret = secret,
            RedirectUris = clientKind == ClientKind.Service ? [] : [RedirectUri],
            Scopes = clientKind == ClientKind.Service ? [CafScopes.Admin] : ["profile", "caf", "offline_access"],
        });
        return new TestClient(clientId, secret, RedirectUri, null);
    }

    private async Task<string?> StoredSecretAsync(string clientId)
    {
        await using var scope = Host.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<CafConnectDbContext>();
        return await db.Set<OpenIddictEntityFrameworkCoreApplication>().Where(a => a.ClientId == clientId).Select(a => a.ClientSecret).SingleAsync();
    }

    private async Task<HttpResponseMessage> ClientCredentialsAsync(string clientId, string secret)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/connect/token")
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["grant_type"] = "client_credentials", ["scope"] = CafScopes.Admin }),
        };
        request.Headers.Authorization = Basic(clientId, secret);
        return await Host.CreateClient().SendAsync(request);
    }

    private static AuthenticationHeaderValue Basic(string clientId, string secret) =>
        new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{Uri.EscapeDataString(clientId)}:{Uri.EscapeDataString(secret)}")));

    private async Task<JsonElement> PostAsClientAsync(TestClient client, string path, string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["token"] = token }) };
        request.Headers.Authorization = Basic(client.ClientId, client.Secret!);
        var response = await Host.CreateClient().SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), path + ": " + body);
        return body.Length == 0 ? default : JsonDocument.Parse(body).RootElement.Clone();
    }

    private static async Task<string> ErrorOf(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString()!;

    [Test]
    public async Task A_generated_secret_is_stored_as_a_keyed_hash_and_gets_a_token()
    {
        var secret = GeneratedSecret();
        await RegisterAsync("service-genere", secret, ClientKind.Service);

        var stored = await StoredSecretAsync("service-genere");
        var response = await ClientCredentialsAsync("service-genere", secret);

        Assert.That(stored, Does.StartWith(ClientSecretPolicy.KeyedHashPrefix), "kept as the keyed hash, not PBKDF2");
        Assert.That(stored, Does.Not.Contain(secret));
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), await response.Content.ReadAsStringAsync());
    }

    [Test]
    public async Task A_wrong_secret_for_a_keyed_hash_client_is_invalid_client()
    {
        var secret = GeneratedSecret();
        await RegisterAsync("service-genere-2", secret, ClientKind.Service);
        // One character changed, and another generated secret: both wrong.
        var oneCharacterOff = secret[..^1] + (secret[^1] == 'A' ? 'B' : 'A');

        var nearMiss = await ClientCredentialsAsync("service-genere-2", oneCharacterOff);
        var another = await ClientCredentialsAsync("service-genere-2", GeneratedSecret());
        var right = await ClientCredentialsAsync("service-genere-2", secret);

        Assert.Multiple(async () =>
        {
            Assert.That(nearMiss.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
            Assert.That(await ErrorOf(nearMiss), Is.EqualTo("invalid_client"));
            Assert.That(another.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
            Assert.That(right.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        });
    }

    [Test]
    public async Task A_secret_stored_with_PBKDF2_before_the_change_still_verifies()
    {
        // A client registered before decision 28: its generated secret was stretched with OpenIddict's own PBKDF2.
        var secret = GeneratedSecret();
        await RegisterAsync("service-ancien", "un-secret-provisoire-tape-a-la-main", ClientKind.Service);
        await using (var scope = Host.Services.CreateAsyncScope())
        {
            var services = scope.ServiceProvider;
            var pbkdf2 = await new OpenIddictDefaultManager(services).HashAsync(secret);
            var db = services.GetRequiredService<CafConnectDbContext>();
            var application = await db.Set<OpenIddictEntityFrameworkCoreApplication>().SingleAsync(a => a.ClientId == "service-ancien");
            application.ClientSecret = pbkdf2;
            await db.SaveChangesAsync();
        }
        var stored = await StoredSecretAsync("service-ancien");

        var right = await ClientCredentialsAsync("service-ancien", secret);
        var wrong = await ClientCredentialsAsync("service-ancien", GeneratedSecret());

        Assert.Multiple(() =>
        {
            Assert.That(ClientSecretPolicy.IsKeyedHash(stored), Is.False, "the row holds OpenIddict's PBKDF2 hash");
            Assert.That(right.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(wrong.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        });
    }

    [Test]
    public async Task A_typed_secret_keeps_PBKDF2_and_verifies()
    {
        // The demo's systeme-prestations secret comes from configuration, as an operator would type it.
        var stored = await StoredSecretAsync("systeme-prestations");
        var right = await ClientCredentialsAsync("systeme-prestations", "demo-secret-systeme-prestations-not-for-production");
        var wrong = await ClientCredentialsAsync("systeme-prestations", "demo-secret-systeme-prestations-not-for-productioN");

        Assert.Multiple(() =>
        {
            Assert.That(ClientSecretPolicy.IsKeyedHash(stored), Is.False, "a typed secret is stretched");
            Assert.That(right.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(wrong.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        });
    }

    [Test]
    public async Task A_keyed_hash_client_refreshes_introspects_and_revokes()
    {
        var client = await RegisterAsync("rp-genere", GeneratedSecret());
        var browser = NewBrowser();
        var tokens = await browser.SignInAndRedeemAsync(client, DemoData.JeanneDupont.Nir!, DemoData.JeanneDupont.Password, "openid profile caf offline_access");

        var refreshed = await OidcDriver.ReadTokensAsync(await browser.RefreshAsync(client, tokens.RefreshToken!));
        var activeBefore = (await PostAsClientAsync(client, "/connect/introspect", refreshed.AccessToken)).GetProperty("active").GetBoolean();
        await PostAsClientAsync(client, "/connect/revoke", refreshed.AccessToken);
        var activeAfter = (await PostAsClientAsync(client, "/connect/introspect", refreshed.AccessToken)).GetProperty("active").GetBoolean();
        var wrongSecret = await browser.RefreshAsync(client with { Secret = GeneratedSecret() }, refreshed.RefreshToken!);

        Assert.Multiple(async () =>
        {
            Assert.That(activeBefore, Is.True, "introspection by the client itself");
            Assert.That(activeAfter, Is.False, "revoked by the client itself");
            Assert.That(wrongSecret.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
            Assert.That(await ErrorOf(wrongSecret), Is.EqualTo("invalid_client"));
        });
    }

    /// <summary>OpenIddict's stock manager, to produce the PBKDF2 hash it stored before decision 28.</summary>
    private sealed class OpenIddictDefaultManager(IServiceProvider services) : OpenIddictApplicationManager<OpenIddictEntityFrameworkCoreApplication>(
        services.GetRequiredService<IOpenIddictApplicationCache<OpenIddictEntityFrameworkCoreApplication>>(),
        NullLogger<OpenIddictApplicationManager<OpenIddictEntityFrameworkCoreApplication>>.Instance,
        services.GetRequiredService<IOptionsMonitor<OpenIddictCoreOptions>>(),
        services.GetRequiredService<IOpenIddictApplicationStore<OpenIddictEntityFrameworkCoreApplication>>())
    {
        public ValueTask<string> HashAsync(string secret) => ObfuscateClientSecretAsync(secret);
    }
}
