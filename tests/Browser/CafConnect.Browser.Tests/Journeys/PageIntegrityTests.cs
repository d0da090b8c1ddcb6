using CafConnect.Browser.Tests.Support;
using CafConnect.IdP.Tests.Support;
using Microsoft.Playwright;

namespace CafConnect.Browser.Tests.Journeys;

/// <summary>What the other browser tests take for granted: the pages run under their own CSP, and the axe check can fail.</summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
public sealed class PageIntegrityTests(StoreKind kind) : BrowserFixture(kind)
{
    [Test]
    public async Task Pages_run_under_their_Content_Security_Policy_without_a_violation()
    {
        // No BypassCSP here: this is the browser as people have it.
        await using var context = await NewContextAsync(DesktopWidth, bypassCspForAxe: false);
        var page = await context.NewPageAsync();
        var problems = new List<string>();
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                problems.Add($"{page.Url}: {message.Text}");
            }
        };
        page.PageError += (_, error) => problems.Add($"{page.Url}: {error}");
        page.RequestFailed += (_, request) => problems.Add($"{request.Url}: {request.Failure}");

        foreach (var address in new[] { "/connexion", "/connexion?mode=provisoire", "/deconnexion", "/deconnexion/terminee", "/page-qui-n-existe-pas" })
        {
            await page.GotoAsync(address);
            await page.WaitForLoadStateAsync(LoadState.NetworkIdle);
            await StepAsync(address.Trim('/').Replace('/', '-').Replace('?', '-'), page);
        }
        // Scripts did run (DSFR marks the document once started), so a silent block would have shown.
        Assert.That(await page.EvaluateAsync<string?>("() => document.documentElement.getAttribute('data-fr-js')"), Is.EqualTo("true"), "DSFR's script started");
        // The only error allowed is the 404 of the missing page itself (Chromium logs it as a failed resource).
        var expected404 = (string p) => p.Contains("page-qui-n-existe-pas", StringComparison.Ordinal) && p.Contains("404", StringComparison.Ordinal);
        Assert.That(problems.Where(p => !expected404(p)), Is.Empty, "CSP violations, script errors or failed requests");
    }

    [Test]
    public async Task The_accessibility_check_reports_a_real_violation()
    {
        // A field without a label, on a page of the site, must fail the check: guards against a check that silently passes.
        await Page.GotoAsync("/connexion");
        await Page.EvaluateAsync("() => { const i = document.createElement('input'); i.type = 'text'; document.querySelector('main').appendChild(i); }");
        var violations = await AxeViolationsAsync(Page);
        Assert.That(violations, Has.Some.Contains("label"));
    }
}
