using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace CafConnect.IdP.Tests.Support;

/// <summary>A relying party as the seeded configuration knows it.</summary>
public sealed record TestClient(string ClientId, string? Secret, string RedirectUri, string? PostLogoutRedirectUri)
{
    public static readonly TestClient CafFr = new("caf-fr", "demo-secret-caf-fr-not-for-production", "http://127.0.0.1:5000/demo/callback", "http://127.0.0.1:5000/demo");
    public static readonly TestClient CafMobile = new("caf-mobile", null, "fr.caf.moncompte:/oauth2redirect", "fr.caf.moncompte:/logout");
    public static readonly TestClient Aripa = new("aripa", "demo-secret-aripa-not-for-production", "http://127.0.0.1:5100/signin-oidc", "http://127.0.0.1:5100/signout-callback-oidc");
}

public sealed record Pkce(string Verifier, string Challenge)
{
    public static Pkce Create()
    {
        var verifier = Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(32));
        return new Pkce(verifier, Base64UrlEncoder.Encode(SHA256.HashData(Encoding.ASCII.GetBytes(verifier))));
    }
}

public sealed record AuthorizationResponse(Uri Location, IReadOnlyDictionary<string, string> Parameters)
{
    public string? this[string name] => Parameters.TryGetValue(name, out var value) ? value : null;
}

public sealed record TokenSet(string AccessToken, string IdToken, string? RefreshToken, JsonElement Raw);

/// <summary>
/// Drives the provider over HTTP as a browser and a relying party would: authorization request, the login form
/// (with its anti-forgery token), the redirect back, then the back-channel token and userinfo calls.
/// </summary>
public sealed partial class OidcDriver(HttpClient browser)
{
    public HttpClient Browser { get; } = browser;

    public static Dictionary<string, string?> AuthorizationParameters(TestClient client, Pkce? pkce, string scope = "openid profile email phone caf offline_access", string state = "etat-123", string nonce = "nonce-456") => new()
    {
        ["client_id"] = client.ClientId,
        ["redirect_uri"] = client.RedirectUri,
        ["response_type"] = "code",
        ["scope"] = scope,
        ["state"] = state,
        ["nonce"] = nonce,
        ["code_challenge"] = pkce?.Challenge,
        ["code_challenge_method"] = pkce is null ? null : "S256",
    };

    public Task<HttpResponseMessage> AuthorizeAsync(IDictionary<string, string?> parameters) =>
        Browser.GetAsync("/connect/authorize" + QueryString(parameters));

    /// <summary>Opens the login page a challenge points to, posts the credentials, and returns the login POST's response.</summary>
    public async Task<HttpResponseMessage> SubmitLoginAsync(Uri loginPage, string identifier, string password, bool rememberMe = false)
    {
        var page = await Browser.GetAsync(loginPage);
        Assert.That(page.StatusCode, Is.EqualTo(HttpStatusCode.OK), "login page");
        var html = await page.Content.ReadAsStringAsync();
        var form = LoginForm(html);
        var fields = new Dictionary<string, string>
        {
            ["Input.Identifier"] = identifier,
            ["Input.Password"] = password,
            ["__RequestVerificationToken"] = form.Token,
        };
        if (rememberMe)
        {
            fields["Input.RememberMe"] = "true";
        }
        return await Browser.PostAsync(form.Action, new FormUrlEncodedContent(fields));
    }

    /// <summary>The whole front channel: authorize → login page → credentials → back to authorize → redirect to the client.</summary>
    public async Task<AuthorizationResponse> SignInAsync(IDictionary<string, string?> parameters, string identifier, string password)
    {
        var challenge = await AuthorizeAsync(parameters);
        Assert.That(challenge.StatusCode, Is.EqualTo(HttpStatusCode.Redirect), "authorize without a session challenges");
        Assert.That(challenge.Headers.Location!.AbsolutePath, Is.EqualTo("/connexion"));

        var login = await SubmitLoginAsync(challenge.Headers.Location!, identifier, password);
        Assert.That(login.StatusCode, Is.EqualTo(HttpStatusCode.Redirect), "login succeeds: " + await ErrorsOf(login));
        var back = await Browser.GetAsync(login.Headers.Location);
        return ToAuthorizationResponse(back);
    }

    public static AuthorizationResponse ToAuthorizationResponse(HttpResponseMessage response)
    {
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Redirect), "authorization endpoint redirects to the client");
        var location = response.Headers.Location!;
        var query = QueryHelpers.ParseQuery(location.Query);
        return new AuthorizationResponse(location, query.ToDictionary(p => p.Key, p => p.Value.ToString()));
    }

    public Task<HttpResponseMessage> TokenRequestAsync(TestClient client, IDictionary<string, string> form) =>
        TokenRequestAsyncAt("/connect/token", client, form);

    /// <summary>A POST to a back-channel endpoint (token, introspection, revocation) with the client's authentication.</summary>
    public async Task<HttpResponseMessage> TokenRequestAsyncAt(string path, TestClient client, IDictionary<string, string> form)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path);
        var fields = new Dictionary<string, string>(form);
        if (client.Secret is null)
        {
            fields["client_id"] = client.ClientId;
        }
        else
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Basic",
                Convert.ToBase64String(Encoding.UTF8.GetBytes($"{Uri.EscapeDataString(client.ClientId)}:{Uri.EscapeDataString(client.Secret)}")));
        }
        request.Content = new FormUrlEncodedContent(fields);
        return await Browser.SendAsync(request);
    }

    public Task<HttpResponseMessage> RedeemCodeAsync(TestClient client, string code, string? verifier) =>
        TokenRequestAsync(client, new Dictionary<string, string>
        {
            ["grant_type"] = "authorization_code",
            ["code"] = code,
            ["redirect_uri"] = client.RedirectUri,
        }.With("code_verifier", verifier));

    public Task<HttpResponseMessage> RefreshAsync(TestClient client, string refreshToken) =>
        TokenRequestAsync(client, new Dictionary<string, string> { ["grant_type"] = "refresh_token", ["refresh_token"] = refreshToken });

    public static async Task<TokenSet> ReadTokensAsync(HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), body);
        var json = JsonDocument.Parse(body).RootElement;
        return new TokenSet(json.GetProperty("access_token").GetString()!, json.GetProperty("id_token").GetString()!,
            json.TryGetProperty("refresh_token", out var refresh) ? refresh.GetString() : null, json);
    }

    public async Task<HttpResponseMessage> UserInfoAsync(string accessToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/connect/userinfo");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", accessToken);
        return await Browser.SendAsync(request);
    }

    /// <summary>Signs in and redeems the code: the common start of most protocol tests.</summary>
    public async Task<TokenSet> SignInAndRedeemAsync(TestClient client, string identifier, string password, string scope = "openid profile email phone caf offline_access")
    {
        var pkce = Pkce.Create();
        var response = await SignInAsync(AuthorizationParameters(client, pkce, scope), identifier, password);
        Assert.That(response["code"], Is.Not.Null, "authorization code in " + response.Location);
        return await ReadTokensAsync(await RedeemCodeAsync(client, response["code"]!, pkce.Verifier));
    }

    /// <summary>Validates an ID token with the provider's published keys, as a relying party must.</summary>
    public async Task<JsonWebToken> ValidateIdTokenAsync(string idToken, string audience)
    {
        var jwks = new JsonWebKeySet(await Browser.GetStringAsync("/.well-known/jwks"));
        var result = await new JsonWebTokenHandler().ValidateTokenAsync(idToken, new TokenValidationParameters
        {
            ValidIssuer = "http://localhost/",
            ValidAudience = audience,
            IssuerSigningKeys = jwks.GetSigningKeys(),
            ValidateLifetime = true,
        });
        Assert.That(result.IsValid, Is.True, "ID token validates: " + result.Exception?.Message);
        return (JsonWebToken)result.SecurityToken;
    }

    public static async Task<string> ErrorsOf(HttpResponseMessage response)
    {
        var html = await response.Content.ReadAsStringAsync();
        return string.Join(" | ", ErrorText().Matches(html).Select(m => WebUtility.HtmlDecode((m.Groups[1].Success ? m.Groups[1] : m.Groups[2]).Value.Trim())));
    }

    public static (string Action, string Token) LoginForm(string html)
    {
        var action = FormAction().Match(html);
        var token = AntiforgeryToken().Match(html);
        Assert.That(action.Success && token.Success, Is.True, "the page has a form with an anti-forgery token");
        return (WebUtility.HtmlDecode(action.Groups[1].Value), token.Groups[1].Value);
    }

    public static string QueryString(IDictionary<string, string?> parameters) =>
        Microsoft.AspNetCore.Http.QueryString.Create(parameters.Where(p => p.Value is not null)).ToString();

    [GeneratedRegex("<form method=\"post\"[^>]*action=\"([^\"]+)\"")]
    private static partial Regex FormAction();

    [GeneratedRegex("name=\"__RequestVerificationToken\" type=\"hidden\" value=\"([^\"]+)\"")]
    private static partial Regex AntiforgeryToken();

    [GeneratedRegex("class=\"fr-(?:error-text|alert__title)\"[^>]*>([^<]+)<|<div class=\"fr-alert fr-alert--error[^>]*>\\s*<h2[^>]*>[^<]*</h2>\\s*<p>([^<]+)</p>")]
    private static partial Regex ErrorText();
}

internal static class DictionaryExtensions
{
    public static Dictionary<string, string> With(this Dictionary<string, string> dictionary, string key, string? value)
    {
        if (value is not null)
        {
            dictionary[key] = value;
        }
        return dictionary;
    }
}
