using System.Net;
using System.Text.RegularExpressions;
using CafConnect.IdP.Tests.Support;
using Microsoft.AspNetCore.WebUtilities;

namespace CafConnect.IdP.Tests.Features.FranceConnect;

/// <summary>
/// A person's browser across CafConnect (the in-memory test server, <c>http://localhost</c>) and the FranceConnect
/// stand-in (a real loopback server): each hop is asserted, cookies are kept per site as a browser keeps them.
/// </summary>
public sealed partial class FranceConnectDriver(HttpClient cafConnect) : IDisposable
{
    public HttpClient CafConnect { get; } = cafConnect;
    public OidcDriver Oidc { get; } = new(cafConnect);

    /// <summary>The stand-in's side of the same browser (its own cookie jar, redirects not followed).</summary>
    public HttpClient FranceConnect { get; } = new(new HttpClientHandler { AllowAutoRedirect = false, CookieContainer = new CookieContainer() });

    /// <summary>Clicks « S'identifier avec FranceConnect » on the login page; returns the FranceConnect authorization request.</summary>
    public async Task<Uri> ClickFranceConnectAsync(Uri loginPage)
    {
        var page = await CafConnect.GetAsync(loginPage);
        var html = await page.Content.ReadAsStringAsync();
        Assert.That(page.StatusCode, Is.EqualTo(HttpStatusCode.OK), "login page");
        var form = FranceConnectForm().Match(html);
        Assert.That(form.Success, Is.True, "the login page has the FranceConnect form");
        var fields = new Dictionary<string, string> { ["__RequestVerificationToken"] = FormToken().Match(form.Value).Groups[1].Value };
        if (ReturnUrlField().Match(form.Value) is { Success: true } returnUrl)
        {
            fields["returnUrl"] = WebUtility.HtmlDecode(returnUrl.Groups[1].Value);
        }
        var response = await CafConnect.PostAsync(WebUtility.HtmlDecode(form.Groups[1].Value), new FormUrlEncodedContent(fields));
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Redirect), "the button sends the browser to FranceConnect");
        return response.Headers.Location!;
    }

    /// <summary>At FranceConnect: the login page, one identity chosen (or « Annuler »); returns CafConnect's callback URL.</summary>
    /// <remarks><paramref name="authenticatedSecondsAgo"/>: the stand-in records the authentication as made that long ago (its ID token's auth_time).</remarks>
    public async Task<Uri> AuthenticateAtFranceConnectAsync(Uri authorizationRequest, string subject, bool cancel = false, int authenticatedSecondsAgo = 0)
    {
        var interaction = await FollowAsync(authorizationRequest);
        var page = await FranceConnect.GetAsync(interaction);
        var html = await page.Content.ReadAsStringAsync();
        Assert.That(page.StatusCode, Is.EqualTo(HttpStatusCode.OK), "the stand-in's login page: " + html);
        var action = new Uri(interaction, WebUtility.HtmlDecode(StandInFormAction().Match(html).Groups[1].Value));
        var posted = await FranceConnect.PostAsync(action, new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["identity"] = subject,
            ["action"] = cancel ? "cancel" : "login",
            ["auth_time_age_seconds"] = authenticatedSecondsAgo.ToString(System.Globalization.CultureInfo.InvariantCulture),
        }));
        return await FollowAsync(posted, stopAt: uri => uri.Host == "localhost");
    }

    /// <summary>Follows FranceConnect's redirects until one leaves it (for CafConnect), or until its interaction page.</summary>
    public async Task<Uri> FollowAsync(Uri start) => await FollowAsync(await FranceConnect.GetAsync(start), uri => uri.AbsolutePath.StartsWith("/interaction/", StringComparison.Ordinal) || uri.Host == "localhost");

    private async Task<Uri> FollowAsync(HttpResponseMessage response, Func<Uri, bool> stopAt)
    {
        var current = response;
        for (var hop = 0; hop < 10; hop++)
        {
            var body = await current.Content.ReadAsStringAsync();
            Assert.That((int)current.StatusCode, Is.InRange(300, 399), "FranceConnect redirects: " + current.StatusCode + " " + body);
            var location = current.Headers.Location!;
            var absolute = location.IsAbsoluteUri ? location : new Uri(current.RequestMessage!.RequestUri!, location);
            if (stopAt(absolute))
            {
                return absolute;
            }
            current = await FranceConnect.GetAsync(absolute);
        }
        Assert.Fail("too many redirects at FranceConnect");
        return null!;
    }

    /// <summary>The callback at CafConnect (the in-memory server), as the browser arrives there.</summary>
    public Task<HttpResponseMessage> ArriveAtCafConnectAsync(Uri callback) => CafConnect.GetAsync(callback.PathAndQuery);

    /// <summary>Relying party → CafConnect → FranceConnect → CafConnect → relying party: the authorization response.</summary>
    public async Task<AuthorizationResponse> SignInThroughFranceConnectAsync(IDictionary<string, string?> authorization, string subject)
    {
        var challenge = await Oidc.AuthorizeAsync(authorization);
        Assert.That(challenge.StatusCode, Is.EqualTo(HttpStatusCode.Redirect));
        var callback = await AuthenticateAtFranceConnectAsync(await ClickFranceConnectAsync(challenge.Headers.Location!), subject);
        var back = await ArriveAtCafConnectAsync(callback);
        Assert.That(back.StatusCode, Is.EqualTo(HttpStatusCode.Redirect), "the callback redirects: " + await back.Content.ReadAsStringAsync());
        Assert.That(back.Headers.Location!.OriginalString, Does.StartWith("/connect/authorize"), "back to the pending authorization request");
        return OidcDriver.ToAuthorizationResponse(await CafConnect.GetAsync(back.Headers.Location));
    }

    public static IReadOnlyDictionary<string, string> QueryOf(Uri uri) =>
        QueryHelpers.ParseQuery(uri.Query).ToDictionary(p => p.Key, p => p.Value.ToString());

    public void Dispose() => FranceConnect.Dispose();

    [GeneratedRegex("<form method=\"post\" action=\"([^\"]*franceconnect[^\"]*)\">(.*?)</form>", RegexOptions.Singleline)]
    private static partial Regex FranceConnectForm();

    [GeneratedRegex("name=\"__RequestVerificationToken\" type=\"hidden\" value=\"([^\"]+)\"")]
    private static partial Regex FormToken();

    [GeneratedRegex("name=\"returnUrl\" value=\"([^\"]*)\"")]
    private static partial Regex ReturnUrlField();

    [GeneratedRegex("<form method=\"post\" action=\"([^\"]+)\"")]
    private static partial Regex StandInFormAction();
}
