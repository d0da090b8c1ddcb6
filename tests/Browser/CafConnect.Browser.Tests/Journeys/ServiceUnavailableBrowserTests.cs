using System.Net;
using System.Net.Sockets;
using CafConnect.Browser.Tests.Support;
using CafConnect.IdP.Demo;
using CafConnect.IdP.Tests.Support;
using Microsoft.Playwright;

namespace CafConnect.Browser.Tests.Journeys;

/// <summary>
/// « Service momentanément indisponible »: a person signs in while Redis (codes, throttle) is unreachable. The browser
/// gets the French 503 page — readable at 1280 and 320 px without horizontal scroll, WCAG 2.1 AA (axe-core), no trace,
/// a way back to the login page — and is not signed in. Its screens: docs/screens/service-indisponible-*.png.
/// </summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
public sealed class ServiceUnavailableBrowserTests(StoreKind kind) : BrowserFixture(kind)
{
    protected override Task<LiveHost> StartHostAsync() => Task.FromResult(LiveHost.Start(Kind, new Dictionary<string, string?>
    {
        // Nothing listens there: Redis is down for this host (on SQLite too, once configured).
        ["Redis:Configuration"] = $"127.0.0.1:{FreeTcpPort()},abortConnect=false,connectTimeout=300,syncTimeout=300",
    }));

    private static int FreeTcpPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    [Test]
    public async Task A_sign_in_during_an_outage_shows_the_French_unavailable_page_accessible_at_1280_and_320_px()
    {
        await Page.GotoAsync("/connexion");
        await Page.GetByLabel("Numéro de Sécurité sociale").FillAsync(DemoData.JeanneDupont.Nir!);
        await Page.Locator("#mot-de-passe").FillAsync(DemoData.JeanneDupont.Password);
        var answer = await Page.RunAndWaitForResponseAsync(
            () => Page.GetByRole(AriaRole.Button, new() { Name = "Se connecter", Exact = true }).ClickAsync(),
            response => response.Request.Method == "POST");

        Assert.That(answer.Status, Is.EqualTo(503));
        Assert.That(await answer.HeaderValueAsync("retry-after"), Is.EqualTo("30"));
        await Assertions.Expect(Page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToContainTextAsync("Service momentanément indisponible");
        await Assertions.Expect(Page).ToHaveTitleAsync(new System.Text.RegularExpressions.Regex("indisponible"));
        var text = await Page.Locator("main").InnerTextAsync();
        Assert.That(text, Does.Contain("réessayez dans quelques minutes"));
        Assert.That(text, Does.Not.Contain("Redis").And.Not.Contain("Exception"), "no trace, no dependency name");
        var cookies = await Page.Context.CookiesAsync();
        Assert.That(cookies.Select(c => c.Name), Has.None.Contains("cafconnect.session"), "nobody is signed in without the throttle");

        await StepAndCheckAccessibilityAsync("service-indisponible");
        await SaveScreenAsync(Page, "service-indisponible", DesktopWidth);
        await Page.SetViewportSizeAsync(NarrowWidth, 900);
        Assert.That(await HasHorizontalScrollAsync(Page), Is.False, await WidestElementsAsync(Page));
        await StepAndCheckAccessibilityAsync("service-indisponible-320");
        await SaveScreenAsync(Page, "service-indisponible", NarrowWidth);
    }
}
