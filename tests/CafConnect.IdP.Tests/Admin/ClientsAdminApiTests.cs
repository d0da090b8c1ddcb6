using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using CafConnect.Application.Clients;
using CafConnect.IdP.Demo;
using CafConnect.IdP.Tests.Support;
using CafConnect.Infrastructure.Audit;
using CafConnect.Infrastructure.Clients;
using CafConnect.Infrastructure.Persistence;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace CafConnect.IdP.Tests.Admin;

/// <summary>
/// <c>/admin/v1/clients</c>: relying parties over the admin API, for a service client holding <c>cafconnect.clients</c>
/// (which <c>cafconnect.admin</c> does not grant, nor the reverse), with the CLI's own rules, secrets shown once,
/// audited, idempotent, RFC 7807 refusals.
/// </summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
public sealed class ClientsAdminApiTests(StoreKind kind) : StoreFixture(kind)
{
    private const string ClientsServiceId = "gestion-clients";
    private const string ClientsServiceSecret = "demo-secret-gestion-clients-not-for-production";
    private const string Path = "/admin/v1/clients";

    private static int _next;

    private AdminClient Admin => new(Host.CreateClient());

    private async Task<string> ClientsTokenAsync()
    {
        var response = await Admin.RequestTokenAsync(ClientsServiceId, ClientsServiceSecret, "cafconnect.clients");
        var body = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), body);
        return JsonDocument.Parse(body).RootElement.GetProperty("access_token").GetString()!;
    }

    private static string NewId() => $"rp-test-{Interlocked.Increment(ref _next)}-{Guid.NewGuid().ToString("N")[..6]}";

    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, object? body, string? token)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = new StringContent(body as string ?? JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");
        }
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
        return await Host.CreateClient().SendAsync(request);
    }

    private static Dictionary<string, object> NewConfidential(string id, string? requestId = null, params string[] redirectUris) => new Dictionary<string, object?>
    {
        ["request_id"] = requestId,
        ["client_id"] = id,
        ["display_name"] = "Service de test",
        ["kind"] = "confidential",
        ["redirect_uris"] = redirectUris.Length == 0 ? new[] { $"https://{id}.caf.fr/signin-oidc" } : redirectUris,
        ["scopes"] = new[] { "profile", "caf", "offline_access" },
    }.Where(p => p.Value is not null).ToDictionary(p => p.Key, p => p.Value!);

    private async Task<(JsonElement Client, string Secret)> CreateAsync(string id, params string[] redirectUris)
    {
        var response = await SendAsync(HttpMethod.Post, Path, NewConfidential(id, null, redirectUris), await ClientsTokenAsync());
        var json = await AdminClient.JsonOf(response);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Created), json.ToString());
        return (json.GetProperty("client"), json.GetProperty("client_secret").GetString()!);
    }

    /// <summary>Whether a client's secret opens the introspection endpoint (200) or not (401 invalid_client).</summary>
    /// <param name="token">A token to introspect; an invalid one is answered <c>{"active": false}</c> (200) once the client is authenticated.</param>
    private async Task<HttpStatusCode> IntrospectWithAsync(string clientId, string secret, string token = "not-a-token")
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/connect/introspect")
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["token"] = token }),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic",
            Convert.ToBase64String(Encoding.UTF8.GetBytes($"{Uri.EscapeDataString(clientId)}:{Uri.EscapeDataString(secret)}")));
        return (await Host.CreateClient().SendAsync(request)).StatusCode;
    }

    private async Task<List<AuditEvent>> AuditOfClientAsync(string clientId)
    {
        using var scope = Host.Services.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<CafConnectDbContext>();
        return await db.AuditEvents.AsNoTracking().Where(e => e.ClientId == clientId && e.Type.StartsWith("admin.client.")).OrderBy(e => e.Id).ToListAsync();
    }

    // ---- who may call -------------------------------------------------------------------------------------------

    [Test]
    public async Task Without_a_token_the_answer_is_401_with_a_bearer_challenge()
    {
        var response = await SendAsync(HttpMethod.Get, Path, null, null);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That(response.Headers.WwwAuthenticate.Single().Scheme, Is.EqualTo("Bearer"));
    }

    [Test]
    public async Task The_admin_scope_does_not_grant_the_clients_endpoints()
    {
        var adminToken = await Admin.TokenAsync();
        foreach (var (method, path, body) in new (HttpMethod, string, object?)[]
        {
            (HttpMethod.Get, Path, null),
            (HttpMethod.Get, Path + "/caf-fr", null),
            (HttpMethod.Post, Path, NewConfidential(NewId())),
            (HttpMethod.Patch, Path + "/caf-fr", new { display_name = "Pirate" }),
            (HttpMethod.Post, Path + "/caf-fr/secret", null),
            (HttpMethod.Post, Path + "/caf-fr/disable", null),
        })
        {
            var response = await SendAsync(method, path, body, adminToken);
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden), $"{method} {path}");
            Assert.That(response.Headers.WwwAuthenticate.ToString(), Does.Contain("insufficient_scope").And.Contain("cafconnect.clients"), $"{method} {path}");
        }
    }

    [Test]
    public async Task The_clients_scope_does_not_grant_the_other_admin_endpoints_nor_can_its_client_ask_for_the_admin_scope()
    {
        var response = await Admin.PostJsonAsync("/admin/v1/file-events", new { event_id = "evt-clients-1", type = "death", person = new { nir = "1999999999999" } }, await ClientsTokenAsync());
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
        Assert.That(response.Headers.WwwAuthenticate.ToString(), Does.Contain("insufficient_scope").And.Contain("cafconnect.admin"));

        var escalation = await Admin.RequestTokenAsync(ClientsServiceId, ClientsServiceSecret, "cafconnect.admin");
        Assert.That(escalation.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        // OpenIddict answers a scope the client is not registered for with invalid_request (ID2051).
        Assert.That((await AdminClient.JsonOf(escalation)).GetProperty("error").GetString(), Is.AnyOf("invalid_scope", "invalid_request"));
        var reverse = await Admin.RequestTokenAsync(scope: "cafconnect.clients");
        Assert.That(reverse.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), "the benefits system cannot ask for cafconnect.clients");
        Assert.That((await AdminClient.JsonOf(reverse)).GetProperty("error").GetString(), Is.AnyOf("invalid_scope", "invalid_request"));
    }

    [Test]
    public async Task A_persons_token_and_a_kiosk_token_are_403()
    {
        var person = await NewBrowser().SignInAndRedeemAsync(TestClient.CafFr, DemoData.LouiseDubois.Nir!, DemoData.LouiseDubois.Password);
        var response = await SendAsync(HttpMethod.Get, Path, null, person.AccessToken);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));

        var kiosk = await NewBrowser().TokenRequestAsync(Features.Kiosk.IdentifierPasswordGrantTests.KioskClient, new Dictionary<string, string>
        {
            ["grant_type"] = Features.Kiosk.IdentifierPasswordGrantTests.GrantType,
            ["identifier"] = DemoData.LouiseDubois.Nir!,
            ["password"] = DemoData.LouiseDubois.Password,
            ["scope"] = "caf cafconnect.clients",
        });
        var kioskJson = await AdminClient.JsonOf(kiosk);
        if (kiosk.StatusCode == HttpStatusCode.OK)
        {
            var withKioskToken = await SendAsync(HttpMethod.Get, Path, null, kioskJson.GetProperty("access_token").GetString());
            Assert.That(withKioskToken.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden), "a person's token never carries cafconnect.clients");
        }
        else
        {
            Assert.That(kioskJson.GetProperty("error").GetString(), Is.AnyOf("invalid_scope", "invalid_request"), kioskJson.ToString());
        }
    }

    // ---- list and read ------------------------------------------------------------------------------------------

    [Test]
    public async Task The_list_shows_every_client_and_never_a_secret()
    {
        var response = await SendAsync(HttpMethod.Get, Path, null, await ClientsTokenAsync());
        var body = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), body);
        Assert.That(response.Headers.CacheControl?.NoStore, Is.True);
        var clients = JsonDocument.Parse(body).RootElement.GetProperty("clients").EnumerateArray().ToList();
        var borne = clients.Single(c => c.GetProperty("client_id").GetString() == "borne");
        Assert.Multiple(() =>
        {
            Assert.That(clients.Select(c => c.GetProperty("client_id").GetString()), Is.SupersetOf(new[] { "caf-fr", "caf-mobile", "serveur-vocal", "systeme-prestations" }));
            Assert.That(borne.GetProperty("grant_types").EnumerateArray().Select(g => g.GetString()), Is.EqualTo(new[] { "urn:cafconnect:params:oauth:grant-type:identifier-password" }));
            Assert.That(borne.GetProperty("disabled").GetBoolean(), Is.False);
            Assert.That(body, Does.Not.Contain("demo-secret").And.Not.Contain("client_secret"), "no secret, not even a hash");
        });
    }

    [Test]
    public async Task An_unknown_client_is_a_404_problem()
    {
        var response = await SendAsync(HttpMethod.Get, Path + "/nobody-here", null, await ClientsTokenAsync());
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"));
        Assert.That((await AdminClient.JsonOf(response)).GetProperty("code").GetString(), Is.EqualTo("unknown_client"));
    }

    // ---- create -------------------------------------------------------------------------------------------------

    [Test]
    public async Task Create_answers_the_generated_secret_once_stores_only_its_hash_and_is_audited()
    {
        var id = NewId();
        var token = await ClientsTokenAsync();
        var response = await SendAsync(HttpMethod.Post, Path, NewConfidential(id, "create-" + id), token);
        var json = await AdminClient.JsonOf(response);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Created), json.ToString());
        var secret = json.GetProperty("client_secret").GetString()!;
        Assert.Multiple(() =>
        {
            Assert.That(secret, Has.Length.EqualTo(43), "256 bits, base64url");
            Assert.That(response.Headers.CacheControl?.NoStore, Is.True);
            Assert.That(json.GetProperty("client").GetProperty("kind").GetString(), Is.EqualTo("confidential"));
            Assert.That(json.GetProperty("client").GetProperty("redirect_uris").EnumerateArray().Select(u => u.GetString()), Is.EqualTo(new[] { $"https://{id}.caf.fr/signin-oidc" }));
        });
        Assert.That(await IntrospectWithAsync(id, secret), Is.EqualTo(HttpStatusCode.OK), "the secret authenticates the new client");
        Assert.That(await IntrospectWithAsync(id, secret + "x"), Is.EqualTo(HttpStatusCode.Unauthorized));

        using (var scope = Host.Services.CreateScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<CafConnectDbContext>();
            var stored = await db.Set<OpenIddict.EntityFrameworkCore.Models.OpenIddictEntityFrameworkCoreApplication>().AsNoTracking().SingleAsync(a => a.ClientId == id);
            Assert.That(stored.ClientSecret, Is.Not.Null.And.Not.Contain(secret), "only a hash is stored");
            var kept = await db.Set<CafConnect.Infrastructure.Admin.ProcessedAdminRequest>().AsNoTracking().ToListAsync();
            Assert.That(kept.Select(r => r.Response), Has.None.Contains(secret), "the answer kept for replays never holds the secret");
        }

        var audit = await AuditOfClientAsync(id);
        Assert.That(audit.Select(e => e.Type), Is.EqualTo(new[] { AuditEventTypes.ClientAdded }));
        Assert.That(audit[0].Details, Does.Contain("by=client:gestion-clients").And.Contain("secret=generated").And.Not.Contain(secret));

        // A replay: the same answer, without the secret; nothing applied twice. Another payload under the id: 409.
        var replay = await SendAsync(HttpMethod.Post, Path, NewConfidential(id, "create-" + id), token);
        var replayJson = await AdminClient.JsonOf(replay);
        Assert.Multiple(() =>
        {
            Assert.That(replay.StatusCode, Is.EqualTo(HttpStatusCode.Created));
            Assert.That(replay.Headers.GetValues("Idempotent-Replayed").Single(), Is.EqualTo("true"));
            Assert.That(replayJson.TryGetProperty("client_secret", out _), Is.False, "a secret is shown once");
            Assert.That(replayJson.GetProperty("client").GetProperty("client_id").GetString(), Is.EqualTo(id));
        });
        var conflict = await SendAsync(HttpMethod.Post, Path, NewConfidential(id + "-autre", "create-" + id), token);
        Assert.That(conflict.StatusCode, Is.EqualTo(HttpStatusCode.Conflict));
        Assert.That((await AdminClient.JsonOf(conflict)).GetProperty("code").GetString(), Is.EqualTo("idempotency_conflict"));
        Assert.That(await AuditOfClientAsync(id), Has.Count.EqualTo(1));
    }

    [Test]
    public async Task A_public_client_is_created_without_a_secret()
    {
        var id = NewId();
        var body = new Dictionary<string, object>
        {
            ["client_id"] = id, ["display_name"] = "Appli de test", ["kind"] = "public",
            ["redirect_uris"] = new[] { "fr.caf.test:/oauth2redirect" }, ["scopes"] = new[] { "profile", "caf" },
        };
        var response = await SendAsync(HttpMethod.Post, Path, body, await ClientsTokenAsync());
        var json = await AdminClient.JsonOf(response);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Created), json.ToString());
        Assert.That(json.TryGetProperty("client_secret", out _), Is.False, "a public client keeps no secret");
        Assert.That(json.GetProperty("client").GetProperty("kind").GetString(), Is.EqualTo("public"));
    }

    [Test]
    public async Task An_existing_client_id_is_a_409()
    {
        var response = await SendAsync(HttpMethod.Post, Path, NewConfidential("caf-fr"), await ClientsTokenAsync());
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Conflict));
        Assert.That((await AdminClient.JsonOf(response)).GetProperty("code").GetString(), Is.EqualTo("client_exists"));
    }

    [Test]
    public async Task A_secret_is_never_taken_from_the_caller()
    {
        var body = new Dictionary<string, object>(NewConfidential(NewId())) { ["client_secret"] = "mon-secret-choisi-de-24-caracteres" };
        var response = await SendAsync(HttpMethod.Post, Path, body, await ClientsTokenAsync());
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That((await AdminClient.JsonOf(response)).GetProperty("code").GetString(), Is.EqualTo("malformed_json"), "an unknown field");
    }

    private static IEnumerable<TestCaseData> InvalidRegistrations()
    {
        static TestCaseData Case(string name, string field, Dictionary<string, object> changes) => new TestCaseData(field, changes).SetName("Refused like the CLI: " + name);
        yield return Case("plain http outside loopback", "redirect_uris", new() { ["redirect_uris"] = new[] { "http://rp.example.fr/cb" } });
        yield return Case("a wildcard", "redirect_uris", new() { ["redirect_uris"] = new[] { "https://*.caf.fr/cb" } });
        yield return Case("a fragment", "redirect_uris", new() { ["redirect_uris"] = new[] { "https://rp.caf.fr/cb#x" } });
        yield return Case("a relative URI", "redirect_uris", new() { ["redirect_uris"] = new[] { "/cb" } });
        yield return Case("no redirect URI", "redirect_uris", new() { ["redirect_uris"] = Array.Empty<string>() });
        yield return Case("an unknown scope", "scopes", new() { ["scopes"] = new[] { "everything" } });
        yield return Case("the admin scope on a person's client", "scopes", new() { ["scopes"] = new[] { "cafconnect.admin" } });
        yield return Case("the clients scope on a person's client", "scopes", new() { ["scopes"] = new[] { "cafconnect.clients" } });
        yield return Case("the password grant", "grant_types", new() { ["grant_types"] = new[] { "password" } });
        yield return Case("a kiosk grant on a public client", "grant_types", new() { ["kind"] = "public", ["grant_types"] = new[] { CafGrantTypes.IdentifierPassword }, ["redirect_uris"] = new[] { "fr.caf.test:/cb" } });
        yield return Case("a bad client id", "client_id", new() { ["client_id"] = "Pas Valide!" });
        yield return Case("no display name", "display_name", new() { ["display_name"] = "" });
        yield return Case("an http back-channel logout URI", "backchannel_logout_uri", new() { ["backchannel_logout_uri"] = "http://rp.example.fr/logout" });
        yield return Case("an ID token algorithm the provider has no key for", "id_token_signed_response_alg", new() { ["id_token_signed_response_alg"] = "HS256" });
    }

    [TestCaseSource(nameof(InvalidRegistrations))]
    public async Task A_registration_the_CLI_refuses_is_refused_with_the_same_message(string field, Dictionary<string, object> changes)
    {
        var body = new Dictionary<string, object>(NewConfidential(NewId()));
        foreach (var (key, value) in changes)
        {
            body[key] = value;
        }
        var response = await SendAsync(HttpMethod.Post, Path, body, await ClientsTokenAsync());
        var json = await AdminClient.JsonOf(response);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), json.ToString());
        Assert.That(json.GetProperty("code").GetString(), Is.EqualTo("invalid_request"));
        var messages = json.GetProperty("errors").GetProperty(field).EnumerateArray().Select(m => m.GetString()!).ToList();

        // The one rule: what the Application's validation (the CLI's) says about the same registration.
        var registration = new ClientRegistration
        {
            ClientId = (string)body["client_id"],
            DisplayName = (string)body["display_name"],
            Kind = (string)body["kind"] == "public" ? ClientKind.Public : ClientKind.Confidential,
            ClientSecret = (string)body["kind"] == "public" ? null : new string('s', 32),
            RedirectUris = (string[])body["redirect_uris"],
            Scopes = (string[])body["scopes"],
            ExtraGrantTypes = body.TryGetValue("grant_types", out var grants) ? (string[])grants : [],
            BackchannelLogoutUri = body.TryGetValue("backchannel_logout_uri", out var logout) ? (string)logout : null,
            IdTokenSignedResponseAlg = body.TryGetValue("id_token_signed_response_alg", out var alg) ? (string)alg : null,
        };
        var expected = ClientRegistrations.Validate(registration).Where(p => ClientsAdminEndpoint.FieldOf(p.Field) == field).Select(p => $"{field}: {p.Message}").Distinct();
        Assert.That(messages, Is.EqualTo(expected));
    }

    [Test]
    public async Task A_service_client_cannot_be_created_over_the_API()
    {
        var body = new Dictionary<string, object> { ["client_id"] = NewId(), ["display_name"] = "Escalade", ["kind"] = "service", ["scopes"] = new[] { "cafconnect.admin" } };
        var response = await SendAsync(HttpMethod.Post, Path, body, await ClientsTokenAsync());
        var json = await AdminClient.JsonOf(response);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), json.ToString());
        Assert.That(json.GetProperty("errors").GetProperty("kind")[0].GetString(), Does.Contain("operator"));
    }

    [Test]
    public async Task The_ID_token_algorithm_is_RS256_unless_ES256_is_registered_and_can_be_set_back()
    {
        var id = NewId();
        var body = new Dictionary<string, object>(NewConfidential(id)) { ["id_token_signed_response_alg"] = "ES256" };
        var created = await AdminClient.JsonOf(await SendAsync(HttpMethod.Post, Path, body, await ClientsTokenAsync()));
        var other = (await CreateAsync(NewId())).Client;
        var reset = await AdminClient.JsonOf(await SendAsync(HttpMethod.Patch, $"{Path}/{id}", new { id_token_signed_response_alg = "RS256" }, await ClientsTokenAsync()));

        Assert.Multiple(async () =>
        {
            Assert.That(created.GetProperty("client").GetProperty("id_token_signed_response_alg").GetString(), Is.EqualTo("ES256"), created.ToString());
            Assert.That(other.GetProperty("id_token_signed_response_alg").GetString(), Is.EqualTo("RS256"), "the default");
            Assert.That(reset.GetProperty("client").GetProperty("id_token_signed_response_alg").GetString(), Is.EqualTo("RS256"), reset.ToString());
            Assert.That((await AuditOfClientAsync(id)).First().Details, Does.Contain("id_token_signed_response_alg=ES256"));
        });
    }

    // ---- update, rotate, disable ---------------------------------------------------------------------------------

    [Test]
    public async Task Update_replaces_the_fields_given_keeps_the_others_and_the_secret_and_is_audited()
    {
        var id = NewId();
        var (_, secret) = await CreateAsync(id);
        var response = await SendAsync(HttpMethod.Patch, $"{Path}/{id}", new { redirect_uris = new[] { $"https://{id}.caf.fr/cb2", "http://127.0.0.1:7000/cb" } }, await ClientsTokenAsync());
        var json = await AdminClient.JsonOf(response);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), json.ToString());
        var client = json.GetProperty("client");
        Assert.Multiple(() =>
        {
            Assert.That(client.GetProperty("redirect_uris").EnumerateArray().Select(u => u.GetString()), Is.EquivalentTo(new[] { $"https://{id}.caf.fr/cb2", "http://127.0.0.1:7000/cb" }));
            Assert.That(client.GetProperty("scopes").EnumerateArray().Select(u => u.GetString()), Is.EquivalentTo(new[] { "profile", "caf", "offline_access" }), "kept");
            Assert.That(json.TryGetProperty("client_secret", out _), Is.False);
        });
        Assert.That(await IntrospectWithAsync(id, secret), Is.EqualTo(HttpStatusCode.OK), "the secret is kept");
        Assert.That((await AuditOfClientAsync(id)).Last().Type, Is.EqualTo(AuditEventTypes.ClientUpdated));

        var refused = await SendAsync(HttpMethod.Patch, $"{Path}/{id}", new { redirect_uris = new[] { "http://rp.example.fr/cb" } }, await ClientsTokenAsync());
        Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That((await AdminClient.JsonOf(refused)).GetProperty("errors").GetProperty("redirect_uris")[0].GetString(), Does.Contain("http is only allowed on loopback"));
        var unknown = await SendAsync(HttpMethod.Patch, $"{Path}/nobody-here", new { display_name = "x" }, await ClientsTokenAsync());
        Assert.That(unknown.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
    }

    [Test]
    public async Task Rotating_the_secret_answers_the_new_one_once_and_the_old_one_stops_working()
    {
        var id = NewId();
        var (_, old) = await CreateAsync(id);
        var response = await SendAsync(HttpMethod.Post, $"{Path}/{id}/secret", null, await ClientsTokenAsync());
        var json = await AdminClient.JsonOf(response);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), json.ToString());
        var fresh = json.GetProperty("client_secret").GetString()!;
        Assert.That(fresh, Is.Not.EqualTo(old));
        Assert.That(await IntrospectWithAsync(id, fresh), Is.EqualTo(HttpStatusCode.OK));
        Assert.That(await IntrospectWithAsync(id, old), Is.EqualTo(HttpStatusCode.Unauthorized), "the old secret stops at once");
        var audit = (await AuditOfClientAsync(id)).Last();
        Assert.That(audit.Type, Is.EqualTo(AuditEventTypes.ClientSecretRotated));
        Assert.That(audit.Details, Does.Not.Contain(fresh));

        var publicClient = await SendAsync(HttpMethod.Post, $"{Path}/caf-mobile/secret", null, await ClientsTokenAsync());
        Assert.That(publicClient.StatusCode, Is.EqualTo(HttpStatusCode.UnprocessableEntity));
    }

    [Test]
    public async Task Service_clients_are_out_of_reach_of_the_API()
    {
        var token = await ClientsTokenAsync();
        foreach (var target in new[] { "systeme-prestations", ClientsServiceId })
        {
            foreach (var (method, path, body) in new (HttpMethod, string, object?)[]
            {
                (HttpMethod.Patch, $"{Path}/{target}", new { display_name = "Pris" }),
                (HttpMethod.Post, $"{Path}/{target}/secret", null),
                (HttpMethod.Post, $"{Path}/{target}/disable", null),
            })
            {
                var response = await SendAsync(method, path, body, token);
                Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Conflict), $"{method} {path}");
                Assert.That((await AdminClient.JsonOf(response)).GetProperty("code").GetString(), Is.EqualTo("service_client"));
            }
        }
        Assert.That((await Admin.RequestTokenAsync()).StatusCode, Is.EqualTo(HttpStatusCode.OK), "the benefits system's secret still works");
    }

    [Test]
    public async Task Disabling_refuses_the_client_everywhere_and_revokes_what_it_holds_re_enabling_brings_it_back_without_tokens()
    {
        var id = NewId();
        var (_, secret) = await CreateAsync(id, "http://127.0.0.1:5999/callback");
        var rp = new TestClient(id, secret, "http://127.0.0.1:5999/callback", null);
        var tokens = await NewBrowser().SignInAndRedeemAsync(rp, DemoData.LouiseDubois.Nir!, DemoData.LouiseDubois.Password, "openid profile caf offline_access");

        var response = await SendAsync(HttpMethod.Post, $"{Path}/{id}/disable", new { request_id = "disable-" + id }, await ClientsTokenAsync());
        var json = await AdminClient.JsonOf(response);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), json.ToString());
        Assert.That(json.GetProperty("client").GetProperty("disabled").GetBoolean(), Is.True);
        Assert.That(json.GetProperty("tokens_revoked").GetInt64(), Is.GreaterThan(0));

        var browser = NewBrowser();
        var refresh = await browser.RefreshAsync(rp, tokens.RefreshToken!);
        Assert.That(refresh.StatusCode, Is.Not.EqualTo(HttpStatusCode.OK), "refresh refused");
        Assert.That((await AdminClient.JsonOf(refresh)).GetProperty("error").GetString(), Is.AnyOf("unauthorized_client", "invalid_grant"));
        Assert.That((await browser.UserInfoAsync(tokens.AccessToken)).StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized), "its access token is revoked");
        var authorize = await browser.AuthorizeAsync(OidcDriver.AuthorizationParameters(rp, Pkce.Create(), "openid"));
        var location = authorize.Headers.Location?.ToString() ?? string.Empty;
        Assert.That(location, Does.Not.Contain("/connexion"), "no login page for a disabled client");
        if (location.Length > 0)
        {
            Assert.That(location, Does.Contain("error=unauthorized_client"), location);
        }
        // Introspecting a valid token (another client's): OpenIddict checks the endpoint permission, which is withheld.
        var someoneElses = await NewBrowser().SignInAndRedeemAsync(TestClient.CafFr, DemoData.LouiseDubois.Nir!, DemoData.LouiseDubois.Password);
        Assert.That(await IntrospectWithAsync(id, secret, someoneElses.AccessToken), Is.EqualTo(HttpStatusCode.BadRequest), "introspection refused");
        using (var revoke = new HttpRequestMessage(HttpMethod.Post, "/connect/revoke")
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["token"] = someoneElses.AccessToken }),
        })
        {
            revoke.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{id}:{secret}")));
            var revoked = await Host.CreateClient().SendAsync(revoke);
            Assert.That(revoked.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), "revocation refused: " + await revoked.Content.ReadAsStringAsync());
            Assert.That((await AdminClient.JsonOf(revoked)).GetProperty("error").GetString(), Is.EqualTo("unauthorized_client"));
        }
        Assert.That((await NewBrowser().UserInfoAsync(someoneElses.AccessToken)).StatusCode, Is.EqualTo(HttpStatusCode.OK), "the other client's token is untouched");
        Assert.That((await AuditOfClientAsync(id)).Last().Type, Is.EqualTo(AuditEventTypes.ClientDisabled));

        var enable = await SendAsync(HttpMethod.Patch, $"{Path}/{id}", new { disabled = false }, await ClientsTokenAsync());
        Assert.That(enable.StatusCode, Is.EqualTo(HttpStatusCode.OK), await enable.Content.ReadAsStringAsync());
        Assert.That(await IntrospectWithAsync(id, secret), Is.EqualTo(HttpStatusCode.OK), "enabled again, with its secret");
        Assert.That((await browser.UserInfoAsync(tokens.AccessToken)).StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized), "the revoked token stays revoked");
    }
}
