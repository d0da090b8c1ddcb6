using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using CafConnect.IdP.Tests.Support;

namespace CafConnect.IdP.Tests.Admin;

/// <summary>The benefits system as the admin API sees it: a service client with the client-credentials grant.</summary>
public sealed class AdminClient(HttpClient http)
{
    public const string ClientId = "systeme-prestations";
    public const string Secret = "demo-secret-systeme-prestations-not-for-production";

    public HttpClient Http { get; } = http;

    public async Task<HttpResponseMessage> RequestTokenAsync(string clientId = ClientId, string secret = Secret, string? scope = "cafconnect.admin")
    {
        var form = new Dictionary<string, string> { ["grant_type"] = "client_credentials", ["client_id"] = clientId, ["client_secret"] = secret };
        if (scope is not null)
        {
            form["scope"] = scope;
        }
        return await Http.PostAsync("/connect/token", new FormUrlEncodedContent(form));
    }

    public async Task<string> TokenAsync(string? scope = "cafconnect.admin")
    {
        var response = await RequestTokenAsync(scope: scope);
        var body = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), body);
        return JsonDocument.Parse(body).RootElement.GetProperty("access_token").GetString()!;
    }

    public Task<HttpResponseMessage> PostJsonAsync(string path, object body, string? token) =>
        PostRawAsync(path, JsonSerializer.Serialize(body), token);

    public async Task<HttpResponseMessage> PostRawAsync(string path, string json, string? token, string contentType = "application/json")
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(json, Encoding.UTF8, contentType) };
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
        return await Http.SendAsync(request);
    }

    public static async Task<JsonElement> JsonOf(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
}
