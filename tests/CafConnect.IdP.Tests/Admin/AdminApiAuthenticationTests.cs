using System.Net;
using CafConnect.IdP.Demo;
using CafConnect.IdP.Tests.Support;

namespace CafConnect.IdP.Tests.Admin;

/// <summary>
/// Who may call the admin API: a service client's token with the scope cafconnect.admin; anything else gets an RFC 6750
/// bearer refusal, and a bad body an RFC 7807 problem (never a 500, never the people's HTML error page).
/// </summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
public sealed class AdminApiAuthenticationTests(StoreKind kind) : StoreFixture(kind)
{
    private static readonly object Death = new { event_id = "evt-auth-1", type = "death", person = new { nir = "1999999999999" } };

    private AdminClient Admin => new(Host.CreateClient());

    [Test]
    public async Task Without_a_token_the_answer_is_401_with_a_bearer_challenge()
    {
        var response = await Admin.PostJsonAsync("/admin/v1/file-events", Death, token: null);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That(response.Headers.WwwAuthenticate.Single().Scheme, Is.EqualTo("Bearer"));
    }

    [Test]
    public async Task A_forged_token_is_401_invalid_token()
    {
        var response = await Admin.PostJsonAsync("/admin/v1/file-events", Death, token: "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.");
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That(response.Headers.WwwAuthenticate.ToString(), Does.Contain("invalid_token"));
    }

    /// <summary>
    /// Adversarial review, 6 December 2026, seventh session: the token was also taken from the query string (RFC 6750
    /// §2.3, which servers may refuse), where proxies' access logs and browsers' histories keep it. The header only.
    /// </summary>
    [Test]
    public async Task A_token_in_the_query_string_is_not_read()
    {
        var token = await Admin.TokenAsync();

        var response = await Admin.PostJsonAsync("/admin/v1/file-events?access_token=" + Uri.EscapeDataString(token), Death, token: null);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That(response.Headers.WwwAuthenticate.Single().Scheme, Is.EqualTo("Bearer"));
    }

    [Test]
    public async Task A_service_token_without_the_admin_scope_is_403_insufficient_scope()
    {
        var token = await Admin.TokenAsync(scope: null);
        var response = await Admin.PostJsonAsync("/admin/v1/file-events", Death, token);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
        Assert.That(response.Headers.WwwAuthenticate.ToString(), Does.Contain("insufficient_scope").And.Contain("cafconnect.admin"));
    }

    [Test]
    public async Task A_persons_access_token_is_403_insufficient_scope()
    {
        var person = await NewBrowser().SignInAndRedeemAsync(TestClient.CafFr, DemoData.LouiseDubois.Nir!, DemoData.LouiseDubois.Password);
        var response = await Admin.PostJsonAsync("/admin/v1/file-events", Death, person.AccessToken);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
        Assert.That(response.Headers.WwwAuthenticate.ToString(), Does.Contain("insufficient_scope"));
    }

    [Test]
    public async Task A_persons_client_cannot_use_client_credentials_nor_get_the_admin_scope()
    {
        var response = await Admin.RequestTokenAsync(TestClient.CafFr.ClientId, TestClient.CafFr.Secret!);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That((await AdminClient.JsonOf(response)).GetProperty("error").GetString(), Is.EqualTo("unauthorized_client"));
    }

    [Test]
    public async Task The_service_client_with_a_wrong_secret_gets_no_token()
    {
        var response = await Admin.RequestTokenAsync(secret: "not-the-secret-of-this-client-at-all");
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That((await AdminClient.JsonOf(response)).GetProperty("error").GetString(), Is.EqualTo("invalid_client"));
    }

    [Test]
    public async Task A_token_with_the_admin_scope_reaches_the_endpoint()
    {
        var token = await Admin.TokenAsync();
        // An unknown person: the API answered (422), past authentication.
        var response = await Admin.PostJsonAsync("/admin/v1/file-events", Death, token);
        Assert.That(response.StatusCode, Is.EqualTo((HttpStatusCode)422), await response.Content.ReadAsStringAsync());
        Assert.That(response.Content.Headers.ContentType!.MediaType, Is.EqualTo("application/problem+json"));
        Assert.That((await AdminClient.JsonOf(response)).GetProperty("code").GetString(), Is.EqualTo("unknown_person"));
    }

    [TestCase("{", "malformed_json", TestName = "Truncated JSON is 400 malformed_json")]
    [TestCase("[]", "malformed_json", TestName = "A JSON array is 400 malformed_json")]
    [TestCase("null", "malformed_json", TestName = "JSON null is 400 malformed_json")]
    [TestCase("{\"event_id\": 12}", "malformed_json", TestName = "A number where a string is expected is 400 malformed_json")]
    [TestCase("{\"event_id\":\"e1\",\"type\":\"death\",\"persn\":{}}", "malformed_json", TestName = "An unknown field is 400 malformed_json")]
    [TestCase("{}", "invalid_request", TestName = "An empty object is 400 invalid_request")]
    [TestCase("{\"event_id\":\"e1\",\"type\":\"separation\",\"file_number\":\"26031\"}", "invalid_request", TestName = "Missing and invalid fields are 400 invalid_request")]
    [TestCase("{\"event_id\":\"e 1\",\"type\":\"explosion\"}", "invalid_request", TestName = "A bad id and an unknown type are 400 invalid_request")]
    public async Task Bad_bodies_are_400_problem_details(string json, string code)
    {
        var response = await Admin.PostRawAsync("/admin/v1/file-events", json, await Admin.TokenAsync());
        var body = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), body);
        Assert.That(response.Content.Headers.ContentType!.MediaType, Is.EqualTo("application/problem+json"));
        var problem = await AdminClient.JsonOf(response);
        Assert.That(problem.GetProperty("code").GetString(), Is.EqualTo(code));
        Assert.That(problem.GetProperty("type").GetString(), Is.EqualTo("urn:cafconnect:admin:problem:" + code));
        Assert.That(problem.GetProperty("status").GetInt32(), Is.EqualTo(400));
        if (code == "invalid_request")
        {
            Assert.That(problem.GetProperty("errors").EnumerateObject().Count(), Is.GreaterThan(0), body);
        }
    }

    [Test]
    public async Task Separation_fields_are_each_named_in_the_errors()
    {
        var response = await Admin.PostRawAsync("/admin/v1/file-events", "{\"event_id\":\"e1\",\"type\":\"separation\",\"file_number\":\"26031\"}", await Admin.TokenAsync());
        var errors = (await AdminClient.JsonOf(response)).GetProperty("errors").EnumerateObject().Select(p => p.Name).ToList();
        Assert.That(errors, Is.EquivalentTo(new[] { "file_number", "new_file_number", "person" }));
    }

    [Test]
    public async Task Other_media_types_paths_and_bodies_are_problems_too()
    {
        var token = await Admin.TokenAsync();
        var form = await Admin.PostRawAsync("/admin/v1/applicants", "a=b", token, "application/x-www-form-urlencoded");
        Assert.That(form.StatusCode, Is.EqualTo(HttpStatusCode.UnsupportedMediaType));
        var unknown = await Admin.PostRawAsync("/admin/v1/nothing-here", "{}", token);
        Assert.That(unknown.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That(unknown.Content.Headers.ContentType!.MediaType, Is.EqualTo("application/problem+json"));
        var huge = await Admin.PostRawAsync("/admin/v1/file-events", "{\"event_id\":\"" + new string('x', 70_000) + "\"}", token);
        Assert.That(huge.StatusCode, Is.EqualTo(HttpStatusCode.RequestEntityTooLarge));
        var nul = await Admin.PostRawAsync("/admin/v1/applicants", "{\"application_id\":\"a\\u0000b\"}", token);
        Assert.That(nul.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
    }
}
