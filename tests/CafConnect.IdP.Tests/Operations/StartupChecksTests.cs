using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CafConnect.IdP.Operations;
using CafConnect.IdP.Tests.Support;
using CafConnect.Infrastructure.Persistence;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;

namespace CafConnect.IdP.Tests.Operations;

/// <summary>
/// The host refuses to start on a configuration that would be unsafe in production, with a message naming what to set;
/// a correct production configuration starts, protects its key ring with the configured certificate and logs JSON.
/// </summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
public sealed class StartupChecksTests(StoreKind kind)
{
    private string _certificate = null!;
    private const string CertificatePassword = "mot-de-passe-du-certificat-de-test";

    [OneTimeSetUp]
    public void CreateCertificate()
    {
        using var rsa = RSA.Create(2048);
        var request = new CertificateRequest("CN=CafConnect key ring (tests)", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(1));
        _certificate = Path.Combine(Path.GetTempPath(), $"cafconnect-keyring-{Guid.NewGuid():N}.pfx");
        File.WriteAllBytes(_certificate, certificate.Export(X509ContentType.Pfx, CertificatePassword));
    }

    [OneTimeTearDown]
    public void DeleteCertificate() => File.Delete(_certificate);

    /// <summary>A production configuration that passes every check; each test breaks one thing.</summary>
    private Dictionary<string, string?> Production() => new()
    {
        ["Oidc:Issuer"] = "https://connexion.caf.example/",
        ["Security:Argon2id:MemoryKiB"] = "19456",
        ["Security:Argon2id:Iterations"] = "2",
        ["DataProtection:Certificate:Path"] = _certificate,
        ["DataProtection:Certificate:Password"] = CertificatePassword,
        ["Clients:0:ClientId"] = "caf-fr",
        ["Clients:0:DisplayName"] = "caf.fr",
        ["Clients:0:Kind"] = "Confidential",
        ["Clients:0:ClientSecret"] = "secret-de-test-suffisamment-long-pour-caf-fr",
        ["Clients:0:RedirectUris:0"] = "https://www.caf.example/signin-oidc",
        ["Clients:0:PostLogoutRedirectUris:0"] = "https://www.caf.example/",
        ["Clients:0:Scopes:0"] = "profile",
    };

    private static readonly IHostEnvironment ProductionEnvironment = new TestHostEnvironment("Production");

    private sealed class TestHostEnvironment(string name) : IHostEnvironment
    {
        public string EnvironmentName { get; set; } = name;
        public string ApplicationName { get; set; } = "CafConnect.IdP";
        public string ContentRootPath { get; set; } = Path.GetTempPath();
        public IFileProvider ContentRootFileProvider { get; set; } = new NullFileProvider();
    }

    private IReadOnlyList<string> ProblemsOf(Action<Dictionary<string, string?>> change, IHostEnvironment? environment = null)
    {
        var settings = Production();
        settings["Storage:Provider"] = kind == StoreKind.PostgreSql ? "PostgreSql" : "Sqlite";
        settings["ConnectionStrings:CafConnect"] = kind == StoreKind.PostgreSql ? "Host=127.0.0.1;Database=cafconnect" : "Data Source=:memory:";
        if (kind == StoreKind.PostgreSql)
        {
            settings["Redis:Configuration"] = "127.0.0.1:6379";
        }
        change(settings);
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        return StartupChecks.Problems(configuration, environment ?? ProductionEnvironment, StorageSettings.FromConfiguration(configuration, Path.GetTempPath()));
    }

    [Test]
    public void A_correct_production_configuration_has_no_problem() => Assert.That(ProblemsOf(_ => { }), Is.Empty);

    [Test]
    public void PostgreSQL_without_Redis_is_refused_in_every_environment()
    {
        var production = ProblemsOf(s => { s["Storage:Provider"] = "PostgreSql"; s["ConnectionStrings:CafConnect"] = "Host=db"; s.Remove("Redis:Configuration"); });
        var development = ProblemsOf(s => { s["Storage:Provider"] = "PostgreSql"; s["ConnectionStrings:CafConnect"] = "Host=db"; s.Remove("Redis:Configuration"); }, new TestHostEnvironment("Development"));
        Assert.That(production, Has.One.StartsWith("Redis:Configuration is required with Storage:Provider=PostgreSql"));
        Assert.That(development, Has.One.StartsWith("Redis:Configuration is required with Storage:Provider=PostgreSql"));
    }

    [Test]
    public void No_issuer_in_production_is_refused() =>
        Assert.That(ProblemsOf(s => s.Remove("Oidc:Issuer")), Has.One.StartsWith("Oidc:Issuer is required outside Development"));

    [Test]
    public void An_http_issuer_in_production_is_refused() =>
        Assert.That(ProblemsOf(s => s["Oidc:Issuer"] = "http://connexion.caf.example/"), Has.One.StartsWith("Oidc:Issuer must be an absolute https URL"));

    [TestCase("8192", "2")]
    [TestCase("19456", "1")]
    public void Argon2id_below_the_OWASP_minimum_is_refused(string memory, string iterations) =>
        Assert.That(ProblemsOf(s => { s["Security:Argon2id:MemoryKiB"] = memory; s["Security:Argon2id:Iterations"] = iterations; }),
            Has.One.StartsWith($"Security:Argon2id is below the OWASP minimum outside Development: MemoryKiB={memory}, Iterations={iterations}"));

    [TestCase("Clients:0:RedirectUris:0")]
    [TestCase("Clients:0:PostLogoutRedirectUris:0")]
    public void An_http_redirect_URI_of_a_configured_client_is_refused(string key) =>
        Assert.That(ProblemsOf(s => s[key] = "http://127.0.0.1:5000/demo/callback"),
            Has.One.StartsWith("Clients: client 'caf-fr' has the plain http redirect URI 'http://127.0.0.1:5000/demo/callback'"));

    [Test]
    public void An_unprotected_key_ring_in_production_is_refused() =>
        Assert.That(ProblemsOf(s => s.Remove("DataProtection:Certificate:Path")), Has.One.StartsWith("DataProtection:Certificate:Path (and DataProtection:Certificate:Password) is required outside Development"));

    [Test]
    public void Development_keeps_its_loopback_clients_and_test_hashes() =>
        Assert.That(ProblemsOf(s =>
        {
            s.Remove("Oidc:Issuer");
            s.Remove("DataProtection:Certificate:Path");
            s["Security:Argon2id:MemoryKiB"] = "8192";
            s["Clients:0:RedirectUris:0"] = "http://127.0.0.1:5000/demo/callback";
        }, new TestHostEnvironment("Development")), Is.Empty);

    [Test]
    public async Task The_host_does_not_start_on_a_bad_production_configuration_and_says_every_problem()
    {
        await using var store = TestStore.Create(kind);
        var settings = Production();
        settings.Remove("Oidc:Issuer");
        settings["Security:Argon2id:Iterations"] = "1";
        await using var host = new CafConnectFactory(store, settings, environment: "Production");

        var failure = Assert.Catch(() => _ = host.Server)!;

        var message = failure.ToString();
        Assert.That(message, Does.Contain("CafConnect cannot start with this configuration").And.Contain("Oidc:Issuer is required").And.Contain("OWASP minimum"));
    }

    [Test]
    public async Task A_correct_production_host_starts_logs_JSON_and_encrypts_its_key_ring_with_the_certificate()
    {
        await using var store = TestStore.Create(kind);
        await using var host = new CafConnectFactory(store, Production(), environment: "Production");

        var live = await host.CreateClient().GetAsync(HealthEndpoints.LivePath);

        Assert.That(live.StatusCode, Is.EqualTo(System.Net.HttpStatusCode.OK));
        Assert.That(host.Services.GetRequiredService<IOptionsMonitor<ConsoleLoggerOptions>>().CurrentValue.FormatterName, Is.EqualTo(ConsoleFormatterNames.Json));
        await using var scope = host.Services.CreateAsyncScope();
        var ring = await scope.ServiceProvider.GetRequiredService<CafConnectDbContext>().DataProtectionKeys.Select(k => k.Xml).ToListAsync();
        Assert.That(ring, Is.Not.Empty);
        Assert.That(ring, Has.All.Contain("EncryptedXml").And.All.Contain("X509Certificate").And.All.Not.Contain("<masterKey"),
            "every key of the ring is encrypted to the certificate");
    }
}
