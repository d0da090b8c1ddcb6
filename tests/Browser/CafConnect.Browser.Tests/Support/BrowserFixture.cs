using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using CafConnect.IdP.Tests.Support;
using Microsoft.Playwright;
using NUnit.Framework.Interfaces;

namespace CafConnect.Browser.Tests.Support;

/// <summary>
/// Base of the browser journeys: one live host (on SQLite, or on PostgreSQL when the test command provides one) and
/// one headless Debian Chromium per fixture; a fresh browser context (no cookies) and page per test. Every step of a
/// journey is screenshotted; the screenshots are written to the test's output folder only when the test fails.
/// </summary>
public abstract partial class BrowserFixture(StoreKind kind)
{
    public const string ChromiumPath = "/usr/bin/chromium";
    public const string UpdateScreensVariable = "CAFCONNECT_UPDATE_SCREENS";
    public const int DesktopWidth = 1280;
    public const int NarrowWidth = 320;

    private static readonly string[] WcagTags = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"];

    private readonly List<(string Name, byte[] Png)> _steps = [];
    private IPlaywright? _playwright;
    private IBrowser? _browser;
    private IBrowserContext? _context;

    protected StoreKind Kind { get; } = kind;
    protected LiveHost Host { get; private set; } = null!;
    protected IBrowser Browser => _browser!;
    protected IPage Page { get; private set; } = null!;

    /// <summary>The live host of the fixture; a fixture that needs other settings (FranceConnect) starts its own.</summary>
    protected virtual Task<LiveHost> StartHostAsync() => Task.FromResult(LiveHost.Start(Kind));

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        Host = await StartHostAsync();
        if (!File.Exists(ChromiumPath))
        {
            Assert.Fail($"Chromium is expected at {ChromiumPath} (Debian's package; the test command installs it).");
        }
        // The Playwright driver (node + its JS package) ships inside the NuGet package and is copied next to the tests:
        // nothing is downloaded at run time, and no Playwright browser build is used — only Debian's Chromium.
        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new()
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"],
        });
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        if (_browser is not null)
        {
            await _browser.CloseAsync();
        }
        _playwright?.Dispose();
        if (Host is not null)
        {
            await Host.DisposeAsync();
        }
    }

    [SetUp]
    public async Task OpenPageAsync()
    {
        _steps.Clear();
        _context = await NewContextAsync(DesktopWidth);
        Page = await _context.NewPageAsync();
    }

    [TearDown]
    public async Task ClosePageAsync()
    {
        if (TestContext.CurrentContext.Result.Outcome.Status == TestStatus.Failed)
        {
            await WriteStepScreenshotsAsync();
        }
        if (_context is not null)
        {
            await _context.CloseAsync();
            _context = null;
        }
    }

    /// <summary>
    /// A context with no cookies. <c>BypassCSP</c> is on for one reason only: the pages' Content-Security-Policy
    /// (script-src 'self') would block the axe-core script tag the accessibility checks inject. Whether the pages
    /// themselves respect their CSP is checked separately, in a context without the bypass (<c>ContentSecurityPolicyTests</c>).
    /// </summary>
    protected Task<IBrowserContext> NewContextAsync(int width, bool bypassCspForAxe = true) => Browser.NewContextAsync(new()
    {
        BaseURL = Host.BaseAddress.ToString(),
        Locale = "fr-FR",
        ViewportSize = new() { Width = width, Height = 900 },
        BypassCSP = bypassCspForAxe,
    });

    /// <summary>Records a step: a full-page screenshot kept in memory (written only if the test fails).</summary>
    protected async Task StepAsync(string name, IPage? page = null)
    {
        var png = await (page ?? Page).ScreenshotAsync(new() { FullPage = true });
        _steps.Add(($"{_steps.Count + 1:00}-{name}", png));
    }

    /// <summary>
    /// Records the step, then runs axe-core (WCAG 2.0/2.1 A and AA rules) on the page as it is now and fails with every
    /// violation (rule, help, target nodes) listed.
    /// </summary>
    protected async Task StepAndCheckAccessibilityAsync(string name, IPage? page = null)
    {
        page ??= Page;
        await StepAsync(name, page);
        var violations = await AxeViolationsAsync(page);
        if (violations.Count > 0)
        {
            Assert.Fail($"axe-core: {violations.Count} WCAG 2.1 A/AA violation(s) on step '{name}' ({page.Url}):\n" + string.Join("\n", violations));
        }
    }

    protected static async Task<IReadOnlyList<string>> AxeViolationsAsync(IPage page)
    {
        NodePackages.EnsureInstalled("Browser"); // axe-core, from the lock file (./test.sh installs it first)
        if (!await page.EvaluateAsync<bool>("() => typeof window.axe === 'object'"))
        {
            await page.AddScriptTagAsync(new() { Path = RepositoryPaths.AxeScript });
        }
        var json = await page.EvaluateAsync<string>(
            """
            async (tags) => {
              const results = await axe.run(document, { runOnly: { type: 'tag', values: tags } });
              return JSON.stringify(results.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map(n => ({ target: n.target.join(' '), summary: n.failureSummary }))
              })));
            }
            """, WcagTags);
        using var document = JsonDocument.Parse(json);
        return document.RootElement.EnumerateArray().Select(v =>
        {
            var text = new StringBuilder($"  - {v.GetProperty("id").GetString()} ({v.GetProperty("impact").GetString()}): {v.GetProperty("help").GetString()}");
            foreach (var node in v.GetProperty("nodes").EnumerateArray())
            {
                text.Append($"\n      at {node.GetProperty("target").GetString()}: {node.GetProperty("summary").GetString()?.ReplaceLineEndings(" ")}");
            }
            return text.ToString();
        }).ToList();
    }

    /// <summary>True when the document is wider than the viewport (a horizontal scroll bar).</summary>
    protected static Task<bool> HasHorizontalScrollAsync(IPage page) =>
        page.EvaluateAsync<bool>("() => document.documentElement.scrollWidth > document.documentElement.clientWidth");

    /// <summary>The first elements sticking out on the right, to explain a horizontal scroll.</summary>
    protected static Task<string> WidestElementsAsync(IPage page) => page.EvaluateAsync<string>(
        """
        () => [...document.querySelectorAll('body *')]
          .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
          .slice(0, 5).map(e => `${e.tagName.toLowerCase()}.${[...e.classList].join('.')} (${Math.round(e.getBoundingClientRect().right)} px)`).join(', ')
        """);

    /// <summary>"tag#id" or "tag:accessible text" of the focused element.</summary>
    protected static Task<string> FocusedAsync(IPage page) => page.EvaluateAsync<string>(
        """
        () => {
          const e = document.activeElement;
          if (!e || e === document.body) return 'body';
          const tag = e.tagName.toLowerCase();
          return e.id && tag !== 'a' && tag !== 'button' ? `${tag}#${e.id}` : `${tag}:${(e.textContent || '').trim().replace(/\s+/g, ' ')}`;
        }
        """);

    /// <summary>Presses Tab until <paramref name="target"/> (as <see cref="FocusedAsync"/> names it) has the focus; fails with the path taken.</summary>
    protected static async Task<List<string>> TabUntilAsync(IPage page, string target, List<string>? path = null)
    {
        path ??= [];
        for (var i = 0; i < 40; i++)
        {
            await page.Keyboard.PressAsync("Tab");
            var focused = await FocusedAsync(page);
            path.Add(focused);
            if (focused == target)
            {
                return path;
            }
        }
        Assert.Fail($"{target} not reached with Tab; focus went: {string.Join(" → ", path)}");
        return path;
    }

    /// <summary>
    /// Opens /dev/messages in another tab of the same browser, as a person trying the embedded default would, until the
    /// SMS to <paramref name="mobile"/> shows; returns its 6-digit code (the newest such SMS: the page lists the newest
    /// first). The page is checked with axe-core as well.
    /// </summary>
    protected async Task<string> ReadCodeFromDevMessagesAsync(string mobile, IPage? page = null)
    {
        var text = await ReadDevMessageAsync($"Sms à {mobile}", text => SixDigits().IsMatch(text), page);
        Assert.That(text, Does.Contain("valable 10 minutes"), "the SMS gives the SMS code's lifetime");
        return SixDigits().Match(text).Value;
    }

    /// <summary>
    /// The text of the newest message on /dev/messages whose heading starts with <paramref name="heading"/> (e.g.
    /// "Email à amina.diallo@example.fr") and that satisfies <paramref name="accept"/>, polled for 15 s in another tab.
    /// </summary>
    protected async Task<string> ReadDevMessageAsync(string heading, Func<string, bool> accept, IPage? page = null)
    {
        var tab = await (page ?? Page).Context.NewPageAsync();
        try
        {
            var message = tab.Locator("section", new() { Has = tab.GetByRole(AriaRole.Heading, new() { Name = heading }) }).First;
            var deadline = DateTime.UtcNow.AddSeconds(15);
            while (true)
            {
                await tab.GotoAsync("/dev/messages");
                if (await message.CountAsync() > 0 && await message.Locator("pre").TextContentAsync() is { } text && accept(text))
                {
                    await StepAndCheckAccessibilityAsync("messages-developpement", tab);
                    return text;
                }
                if (DateTime.UtcNow > deadline)
                {
                    Assert.Fail($"No message « {heading} » on /dev/messages within 15 s:\n{await tab.Locator("main").InnerTextAsync()}");
                }
                await Task.Delay(250);
            }
        }
        finally
        {
            await tab.CloseAsync();
        }
    }

    [GeneratedRegex(@"(?<!\d)\d{6}(?!\d)")]
    private static partial Regex SixDigits();

    /// <summary>With CAFCONNECT_UPDATE_SCREENS=1, the gallery under docs/screens/ (written from the SQLite run only).</summary>
    /// <summary>The agency's records hold no contact for this person (13-character NIR): a legacy-code first login may skip the contact step, recovery answers by letter.</summary>
    protected async Task ForgetRecordsContactsAsync(string nir)
    {
        using var scope = Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.CreateScope(Host.Factory.Services);
        var db = Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<CafConnect.Infrastructure.Persistence.CafConnectDbContext>(scope.ServiceProvider);
        var person = await Microsoft.EntityFrameworkCore.EntityFrameworkQueryableExtensions.SingleAsync(db.Persons, p => p.Nir == nir);
        (person.MobilePhone, person.Email, person.MobilePhoneVerified, person.EmailVerified) = (null, null, false, false);
        await db.SaveChangesAsync();
    }

    protected static bool UpdatingScreens => Environment.GetEnvironmentVariable(UpdateScreensVariable) == "1";

    protected async Task SaveScreenAsync(IPage page, string name, int width)
    {
        if (!UpdatingScreens || Kind != StoreKind.Sqlite)
        {
            return;
        }
        Directory.CreateDirectory(RepositoryPaths.Screens);
        await page.ScreenshotAsync(new() { FullPage = true, Path = Path.Combine(RepositoryPaths.Screens, $"{name}-{width}.png") });
    }

    private async Task WriteStepScreenshotsAsync()
    {
        var test = TestContext.CurrentContext.Test;
        var folder = Path.Combine(TestContext.CurrentContext.WorkDirectory, "screenshots",
            string.Concat($"{GetType().Name}-{Kind}-{test.Name}".Select(c => char.IsLetterOrDigit(c) || c is '-' or '_' ? c : '_')));
        Directory.CreateDirectory(folder);
        if (_context is not null)
        {
            // The state the test failed in, after the last recorded step.
            foreach (var page in _context.Pages)
            {
                try
                {
                    _steps.Add(($"{_steps.Count + 1:00}-at-failure", await page.ScreenshotAsync(new() { FullPage = true })));
                }
                catch (PlaywrightException)
                {
                    // A page that cannot be captured any more: the recorded steps remain.
                }
            }
        }
        foreach (var (name, png) in _steps)
        {
            var path = Path.Combine(folder, name + ".png");
            await File.WriteAllBytesAsync(path, png);
            TestContext.AddTestAttachment(path, name);
        }
        TestContext.Out.WriteLine($"Screenshots of each step: {folder}");
    }
}
