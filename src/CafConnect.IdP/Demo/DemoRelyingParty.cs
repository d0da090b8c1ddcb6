using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace CafConnect.IdP.Demo;

/// <summary>
/// A tiny relying party living in the embedded default (Demo:Enabled) so a newcomer can run a real
/// authorization-code + PKCE sign-in with the seeded <c>caf-fr</c> client in a browser, and see the tokens' content.
/// It is a demonstration, not a relying-party library: real relying parties use a certified one.
/// </summary>
public static class DemoRelyingParty
{
    private const string ClientId = "caf-fr";
    private const string StateCookie = "cafconnect.demo-rp";

    public static void MapDemoRelyingParty(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/demo", Home);
        endpoints.MapGet("/demo/login", Login);
        endpoints.MapGet("/demo/callback", CallbackAsync);
    }

    private static IResult Home(HttpContext http) => Page("Service en ligne de démonstration",
        "<p>Cette page joue le rôle d'un service en ligne (le client <code>caf-fr</code>) qui délègue la connexion à CafConnect.</p>" +
        "<p>Comptes de démonstration : voir le README (par exemple Jeanne DUPONT, n° 2 85 03 75 112 048, mot de passe <code>Soleil2Paris</code>).</p>" +
        "<ul class=\"fr-btns-group\"><li><a class=\"fr-btn\" href=\"/demo/login\">Se connecter avec Mon Compte Caf</a></li></ul>");

    private static IResult Login(HttpContext http, IDataProtectionProvider protection)
    {
        var state = Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(16));
        var nonce = Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(16));
        var verifier = Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(32));
        var challenge = Base64UrlEncoder.Encode(SHA256.HashData(Encoding.ASCII.GetBytes(verifier)));
        http.Response.Cookies.Append(StateCookie, Protector(protection).Protect($"{state}|{nonce}|{verifier}"),
            new CookieOptions { HttpOnly = true, SameSite = SameSiteMode.Lax, MaxAge = TimeSpan.FromMinutes(10), Path = "/demo" });

        var query = QueryString.Create(new Dictionary<string, string?>
        {
            ["client_id"] = ClientId,
            ["redirect_uri"] = RedirectUri(http),
            ["response_type"] = "code",
            ["scope"] = "openid profile email phone caf offline_access",
            ["state"] = state,
            ["nonce"] = nonce,
            ["code_challenge"] = challenge,
            ["code_challenge_method"] = "S256",
        });
        return Results.Redirect("/connect/authorize" + query);
    }

    private static async Task<IResult> CallbackAsync(HttpContext http, IDataProtectionProvider protection, IConfiguration configuration, IHttpClientFactory httpClients)
    {
        if (!http.Request.Cookies.TryGetValue(StateCookie, out var cookie))
        {
            return Page("Démonstration", "<p>La session de démonstration a expiré. <a href=\"/demo\">Recommencer</a>.</p>");
        }
        var parts = Protector(protection).Unprotect(cookie).Split('|');
        http.Response.Cookies.Delete(StateCookie, new CookieOptions { Path = "/demo" });
        if (http.Request.Query["error"].ToString() is { Length: > 0 } error)
        {
            return Page("Démonstration", $"<p>Le fournisseur a répondu : <code>{HtmlEncoder.Default.Encode(error)}</code>.</p>");
        }
        if (!CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(http.Request.Query["state"].ToString()), Encoding.ASCII.GetBytes(parts[0])))
        {
            return Page("Démonstration", "<p>Le paramètre <code>state</code> ne correspond pas : réponse refusée.</p>");
        }

        var secret = configuration.GetSection("Clients").GetChildren().FirstOrDefault(c => c["ClientId"] == ClientId)?["ClientSecret"] ?? string.Empty;
        var client = httpClients.CreateClient();
        client.BaseAddress = new Uri($"{http.Request.Scheme}://{http.Request.Host}");
        using var tokenRequest = new HttpRequestMessage(HttpMethod.Post, "/connect/token")
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["grant_type"] = "authorization_code",
                ["code"] = http.Request.Query["code"].ToString(),
                ["redirect_uri"] = RedirectUri(http),
                ["code_verifier"] = parts[2],
            }),
        };
        tokenRequest.Headers.Authorization = new AuthenticationHeaderValue("Basic",
            Convert.ToBase64String(Encoding.UTF8.GetBytes($"{Uri.EscapeDataString(ClientId)}:{Uri.EscapeDataString(secret)}")));
        using var tokenResponse = await client.SendAsync(tokenRequest, http.RequestAborted);
        var tokens = JsonDocument.Parse(await tokenResponse.Content.ReadAsStringAsync(http.RequestAborted)).RootElement;
        if (!tokenResponse.IsSuccessStatusCode)
        {
            return Page("Démonstration", $"<p>Échange du code refusé :</p><pre>{HtmlEncoder.Default.Encode(tokens.ToString())}</pre>");
        }

        var idToken = new JsonWebToken(tokens.GetProperty("id_token").GetString());
        var nonceOk = idToken.TryGetPayloadValue<string>("nonce", out var nonce) && nonce == parts[1];

        using var userInfoRequest = new HttpRequestMessage(HttpMethod.Get, "/connect/userinfo");
        userInfoRequest.Headers.Authorization = new AuthenticationHeaderValue("Bearer", tokens.GetProperty("access_token").GetString());
        using var userInfoResponse = await client.SendAsync(userInfoRequest, http.RequestAborted);
        var userInfo = await userInfoResponse.Content.ReadAsStringAsync(http.RequestAborted);

        var idTokenClaims = JsonSerializer.Serialize(JsonDocument.Parse(Base64UrlEncoder.Decode(idToken.EncodedPayload)).RootElement, Indented);
        var userInfoPretty = JsonSerializer.Serialize(JsonDocument.Parse(userInfo).RootElement, Indented);
        var logout = "/connect/endsession" + QueryString.Create(new Dictionary<string, string?>
        {
            ["id_token_hint"] = tokens.GetProperty("id_token").GetString(),
            ["post_logout_redirect_uri"] = $"{http.Request.Scheme}://{http.Request.Host}/demo",
        });
        return Page("Connexion réussie",
            $"<p>Nonce vérifié : {(nonceOk ? "oui" : "NON")}.</p>" +
            $"<h2 class=\"fr-h4\">Contenu du jeton d'identité</h2><pre>{HtmlEncoder.Default.Encode(idTokenClaims)}</pre>" +
            $"<h2 class=\"fr-h4\">Réponse de userinfo</h2><pre>{HtmlEncoder.Default.Encode(userInfoPretty)}</pre>" +
            $"<ul class=\"fr-btns-group\"><li><a class=\"fr-btn fr-btn--secondary\" href=\"{HtmlEncoder.Default.Encode(logout)}\">Se déconnecter</a></li></ul>");
    }

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static string RedirectUri(HttpContext http) => $"{http.Request.Scheme}://{http.Request.Host}/demo/callback";

    private static IDataProtector Protector(IDataProtectionProvider protection) => protection.CreateProtector("CafConnect.DemoRelyingParty.v1");

    private static IResult Page(string title, string body) => Results.Content(
        $"<!DOCTYPE html><html lang=\"fr\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">" +
        $"<title>{HtmlEncoder.Default.Encode(title)} – démonstration</title><link rel=\"stylesheet\" href=\"/lib/dsfr/dsfr.min.css\"></head>" +
        $"<body><main class=\"fr-container fr-my-6w\" id=\"contenu\"><h1>{HtmlEncoder.Default.Encode(title)}</h1>{body}</main></body></html>",
        "text/html; charset=utf-8");
}
