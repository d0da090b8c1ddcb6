using Microsoft.Extensions.DependencyInjection;

namespace CafConnect.Cli.Tests;

/// <summary>Every refusal of <c>clients add</c> and <c>clients update</c>: exit code 2, one line naming the problem, nothing stored.</summary>
[TestFixture]
public sealed class ClientValidationTests
{
    private const string Secret = "a-long-enough-secret-0123456789";
    private const string PhoneGrant = "urn:cafconnect:params:oauth:grant-type:legacy-code";
    private TemporarySqliteStore _store = null!;

    private CliRunner Cli => _store.Cli;

    [SetUp]
    public async Task MigratedStoreWithOneClient()
    {
        _store = new TemporarySqliteStore();
        Assert.That((await Cli.RunAsync("db", "migrate")).ExitCode, Is.EqualTo(0));
        var existing = await Cli.RunAsync("clients", "add", "--id", "existing", "--name", "Existing", "--kind", "confidential",
            "--secret", Secret, "--redirect-uri", "https://existing.example.fr/cb");
        Assert.That(existing.ExitCode, Is.EqualTo(0), existing.ToString());
    }

    [TearDown]
    public async Task DeleteStore() => await _store.DisposeAsync();

    private static IEnumerable<TestCaseData> Refusals()
    {
        yield return Case("relative redirect URI", "--redirect-uri: 'callback/oidc' is not an absolute URI",
            "--kind", "confidential", "--secret", Secret, "--redirect-uri", "callback/oidc");
        yield return Case("http on a non-loopback host", "--redirect-uri: 'http://rp.example.fr/cb': http is only allowed on loopback",
            "--kind", "confidential", "--secret", Secret, "--redirect-uri", "http://rp.example.fr/cb");
        yield return Case("wildcard", "--redirect-uri: 'https://*.example.fr/cb': wildcards are not allowed",
            "--kind", "confidential", "--secret", Secret, "--redirect-uri", "https://*.example.fr/cb");
        yield return Case("fragment", "--redirect-uri: 'https://rp.example.fr/cb#state': a redirect URI cannot have a fragment",
            "--kind", "confidential", "--secret", Secret, "--redirect-uri", "https://rp.example.fr/cb#state");
        yield return Case("confidential without secret", "--secret: a confidential client needs a secret",
            "--kind", "confidential", "--redirect-uri", "https://rp.example.fr/cb");
        yield return Case("public with secret", "--secret: a public client has no secret",
            "--kind", "public", "--secret", Secret, "--redirect-uri", "fr.caf.test:/callback");
        yield return Case("public with generated secret", "--secret: a public client has no secret",
            "--kind", "public", "--generate-secret", "--redirect-uri", "fr.caf.test:/callback");
        yield return Case("unknown scope", "--scope: unknown scope 'admin'",
            "--kind", "confidential", "--secret", Secret, "--redirect-uri", "https://rp.example.fr/cb", "--scope", "profile", "--scope", "admin");
        yield return Case("short secret", "--secret: a client secret must be at least 24 characters",
            "--kind", "confidential", "--secret", "too-short", "--redirect-uri", "https://rp.example.fr/cb");
        yield return Case("no redirect URI", "--redirect-uri: at least one redirect URI is required",
            "--kind", "confidential", "--secret", Secret);
        yield return Case("https post-logout URI required", "--post-logout-redirect-uri: 'http://rp.example.fr/': http is only allowed on loopback",
            "--kind", "confidential", "--secret", Secret, "--redirect-uri", "https://rp.example.fr/cb", "--post-logout-redirect-uri", "http://rp.example.fr/");

        yield return Case("the admin scope on a person's client", "--scope: scope 'cafconnect.admin' is for service clients only (--kind service)",
            "--kind", "confidential", "--secret", Secret, "--redirect-uri", "https://rp.example.fr/cb", "--scope", "cafconnect.admin");
        yield return Case("a service client with a redirect URI", "--redirect-uri: a service client has no redirect URI",
            "--kind", "service", "--secret", Secret, "--scope", "cafconnect.admin", "--redirect-uri", "https://rp.example.fr/cb");
        yield return Case("a service client with a person's scope", "--scope: a service client may only have the scope 'cafconnect.admin' or 'cafconnect.clients', not 'profile'",
            "--kind", "service", "--secret", Secret, "--scope", "cafconnect.admin", "--scope", "profile");
        yield return Case("a service client without the admin scope", "--scope: a service client needs the scope 'cafconnect.admin' (or 'cafconnect.clients')",
            "--kind", "service", "--secret", Secret);
        yield return Case("a service client without secret", "--secret: a service client needs a secret",
            "--kind", "service", "--scope", "cafconnect.admin");

        yield return Case("an unknown grant type", "--grant-type: unknown grant type 'password'",
            "--kind", "confidential", "--secret", Secret, "--redirect-uri", "https://rp.example.fr/cb", "--grant-type", "password");
        yield return Case("the phone grant on a public client", "--grant-type: only a confidential client may use the legacy-code grant",
            "--kind", "public", "--redirect-uri", "fr.caf.test:/callback", "--grant-type", PhoneGrant);
        yield return Case("the phone grant on a service client", "--grant-type: a service client uses client credentials only",
            "--kind", "service", "--secret", Secret, "--scope", "cafconnect.admin", "--grant-type", PhoneGrant);

        static TestCaseData Case(string name, string expected, params string[] options) =>
            new TestCaseData(expected, options).SetName($"Add refuses: {name}");
    }

    [TestCaseSource(nameof(Refusals))]
    public async Task Add_refuses_with_exit_code_2_and_a_message_naming_the_problem(string expected, string[] options)
    {
        var result = await Cli.RunAsync(["clients", "add", "--id", "rp-new", "--name", "New RP", .. options]);

        Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
        Assert.That(result.ErrorLines, Has.Some.StartsWith($"error: {expected}"), result.ToString());
        Assert.That(result.Err, Does.Not.Contain(" at CafConnect").And.Not.Contain("Exception"), "no stack trace");
        Assert.That(result.Out, Does.Not.Contain("added"));
        Assert.That((await Cli.RunAsync("clients", "list")).Out, Does.Not.Contain("rp-new"), "nothing stored");
    }

    [Test]
    public async Task A_service_client_for_the_admin_api_is_added_with_a_generated_secret_and_listed_as_service()
    {
        var result = await Cli.RunAsync("clients", "add", "--id", "systeme-prestations", "--name", "Prestations", "--kind", "service",
            "--generate-secret", "--scope", "cafconnect.admin");

        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        var list = await Cli.RunAsync("clients", "list");
        Assert.That(list.Out, Does.Contain("systeme-prestations").And.Contain("service").And.Contain("cafconnect.admin"));
        var stored = await Cli.WithServicesAsync(s => s.GetRequiredService<CafConnect.Infrastructure.Clients.ClientAdministration>().FindAsync("systeme-prestations"));
        Assert.That(stored!.Kind, Is.EqualTo(CafConnect.Infrastructure.Clients.ClientKind.Service));
        Assert.That(stored.RedirectUris, Is.Empty);
    }

    [Test]
    public async Task Add_refuses_a_duplicate_id()
    {
        var result = await Cli.RunAsync("clients", "add", "--id", "existing", "--name", "Again", "--kind", "confidential",
            "--secret", Secret, "--redirect-uri", "https://other.example.fr/cb");

        Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
        Assert.That(result.ErrorLines, Has.Some.StartsWith("error: --id: client 'existing' already exists"));
        var list = await Cli.RunAsync("clients", "list");
        Assert.That(list.Out, Does.Contain("https://existing.example.fr/cb").And.Not.Contain("other.example.fr"));
    }

    [Test]
    public async Task Add_prints_every_failure_on_its_own_line()
    {
        var result = await Cli.RunAsync("clients", "add", "--id", "rp-new", "--name", "New RP", "--kind", "confidential",
            "--redirect-uri", "relative", "--redirect-uri", "http://rp.example.fr/cb", "--scope", "admin");

        Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
        Assert.That(result.ErrorLines, Has.Length.EqualTo(4), result.ToString());
    }

    [Test]
    public async Task Add_accepts_loopback_http_and_a_private_use_scheme_for_a_public_client()
    {
        var result = await Cli.RunAsync("clients", "add", "--id", "rp-native", "--name", "Native", "--kind", "public",
            "--redirect-uri", "fr.caf.test:/callback", "--redirect-uri", "http://127.0.0.1:7000/cb", "--redirect-uri", "http://localhost/cb");
        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        Assert.That(result.Out, Does.Not.Contain("secret"), "a public client gets no secret");
    }

    [Test]
    public async Task Secret_and_generate_secret_together_are_a_usage_error()
    {
        var result = await Cli.RunAsync("clients", "add", "--id", "rp-new", "--name", "New RP", "--kind", "confidential",
            "--secret", Secret, "--generate-secret", "--redirect-uri", "https://rp.example.fr/cb");
        Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
        Assert.That(result.ErrorLines, Has.Some.Contains("--secret and --generate-secret cannot be used together"));
        Assert.That(result.Out, Is.Empty, "refused before opening the store");
    }

    [Test]
    public async Task Unknown_kind_is_a_usage_error()
    {
        var result = await Cli.RunAsync("clients", "add", "--id", "rp-new", "--name", "New RP", "--kind", "hybrid",
            "--secret", Secret, "--redirect-uri", "https://rp.example.fr/cb");
        Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
        Assert.That(result.ErrorLines, Has.Some.Contains("--kind 'hybrid' is not valid"));
    }

    [Test]
    public async Task Update_validates_the_resulting_registration()
    {
        var result = await Cli.RunAsync("clients", "update", "--id", "existing", "--redirect-uri", "http://rp.example.fr/cb");
        Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
        Assert.That(result.ErrorLines, Has.Some.StartsWith("error: --redirect-uri: 'http://rp.example.fr/cb': http is only allowed on loopback"));
        Assert.That((await Cli.RunAsync("clients", "list")).Out, Does.Contain("https://existing.example.fr/cb"), "unchanged");
    }

    [Test]
    public async Task Update_of_a_public_client_to_confidential_needs_a_secret()
    {
        Assert.That((await Cli.RunAsync("clients", "add", "--id", "rp-native", "--name", "Native", "--kind", "public",
            "--redirect-uri", "https://native.example.fr/cb")).ExitCode, Is.EqualTo(0));

        var result = await Cli.RunAsync("clients", "update", "--id", "rp-native", "--kind", "confidential");
        Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
        Assert.That(result.ErrorLines, Has.Some.Contains("needs a secret"));

        var withSecret = await Cli.RunAsync("clients", "update", "--id", "rp-native", "--kind", "confidential", "--generate-secret");
        Assert.That(withSecret.ExitCode, Is.EqualTo(0), withSecret.ToString());
        Assert.That(withSecret.Out, Does.Contain("shown only this once"));
    }

    [Test]
    public async Task Update_and_remove_of_an_unknown_client_fail_with_exit_code_1()
    {
        var update = await Cli.RunAsync("clients", "update", "--id", "nobody", "--name", "Nobody");
        Assert.That(update.ExitCode, Is.EqualTo(1), update.ToString());
        Assert.That(update.ErrorLines, Is.EqualTo(new[] { "error: client 'nobody' does not exist" }));

        var remove = await Cli.RunAsync("clients", "remove", "--id", "nobody");
        Assert.That(remove.ExitCode, Is.EqualTo(1), remove.ToString());
        Assert.That(remove.ErrorLines, Is.EqualTo(new[] { "error: client 'nobody' does not exist" }));
    }

    [Test]
    public async Task Refusals_write_no_audit_event()
    {
        await Cli.RunAsync("clients", "add", "--id", "rp-new", "--name", "New RP", "--kind", "confidential", "--redirect-uri", "relative");
        await Cli.RunAsync("clients", "remove", "--id", "nobody");
        var types = await Cli.WithServicesAsync(s => Task.FromResult(
            s.GetRequiredService<CafConnect.Infrastructure.Persistence.CafConnectDbContext>().AuditEvents.Select(a => a.Type).ToList()));
        Assert.That(types, Is.EqualTo(new[] { "admin.store.migrated", "admin.client.added" }));
    }

    [Test]
    public async Task Update_refuses_to_make_a_client_holding_the_phone_grant_public_and_keeps_it()
    {
        Assert.That((await Cli.RunAsync("clients", "update", "--id", "existing", "--grant-type", PhoneGrant)).ExitCode, Is.EqualTo(0));

        var result = await Cli.RunAsync("clients", "update", "--id", "existing", "--kind", "public");

        Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
        Assert.That(result.ErrorLines, Has.Some.StartsWith("error: --grant-type: only a confidential client may use the legacy-code grant"));
        var stored = await Cli.WithServicesAsync(s => s.GetRequiredService<CafConnect.Infrastructure.Clients.ClientAdministration>().FindAsync("existing"));
        Assert.That(stored!.Kind, Is.EqualTo(CafConnect.Infrastructure.Clients.ClientKind.Confidential));
        Assert.That(stored.ExtraGrantTypes, Is.EqualTo(new[] { PhoneGrant }));
    }

    [Test]
    public async Task Update_refuses_grant_type_and_no_grant_type_together()
    {
        var result = await Cli.RunAsync("clients", "update", "--id", "existing", "--grant-type", PhoneGrant, "--no-grant-type");
        Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
        Assert.That(result.ErrorLines, Has.Some.Contains("--grant-type and --no-grant-type cannot be used together"));
        Assert.That(result.Out, Is.Empty, "refused before opening the store");
    }
}
