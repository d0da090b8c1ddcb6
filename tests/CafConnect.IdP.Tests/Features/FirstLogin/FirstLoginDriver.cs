using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using System.Net;
using CafConnect.IdP.Demo;
using CafConnect.IdP.Tests.Support;

namespace CafConnect.IdP.Tests.Features.FirstLogin;

/// <summary>A host with its own store and SMS gateway, for journeys that change accounts (each test starts fresh).</summary>
public sealed class JourneyHost : IAsyncDisposable
{
    private JourneyHost(TestStore store, SmsGatewaySink sms, IReadOnlyDictionary<string, string?> settings, Action<Microsoft.Extensions.DependencyInjection.IServiceCollection>? configureServices)
    {
        Store = store;
        Sms = sms;
        Settings = settings;
        _configureServices = configureServices;
        Host = new CafConnectFactory(store, settings, configureServices);
    }

    private readonly Action<Microsoft.Extensions.DependencyInjection.IServiceCollection>? _configureServices;

    public TestStore Store { get; }
    public SmsGatewaySink Sms { get; }
    public IReadOnlyDictionary<string, string?> Settings { get; }
    public CafConnectFactory Host { get; private set; }

    public static JourneyHost Start(StoreKind kind, IDictionary<string, string?>? overrides = null,
        Action<Microsoft.Extensions.DependencyInjection.IServiceCollection>? configureServices = null)
    {
        var store = TestStore.Create(kind);
        var sms = new SmsGatewaySink();
        var settings = new Dictionary<string, string?>
        {
            ["Notifications:Sms:Url"] = sms.Url,
            ["Notifications:Sms:Token"] = SmsGatewaySink.Token,
            ["Notifications:PollInterval"] = "00:00:00.100",
        };
        foreach (var (key, value) in overrides ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }
        var host = new JourneyHost(store, sms, settings, configureServices);
        _ = host.Host.Server;
        return host;
    }

    /// <summary>
    /// A host whose time is <paramref name="clock"/> (delays, locks and blocks are waited out by advancing it) and whose
    /// requests come from the address a test names in <see cref="TestClientIp.Header"/> (budgets count per address);
    /// messages without a gateway go to an outbox folder of its own.
    /// </summary>
    public static JourneyHost StartOnClock(StoreKind kind, ManualClock clock, IReadOnlyDictionary<string, string?>? overrides = null)
    {
        var settings = new Dictionary<string, string?>
        {
            // Lock notices by e-mail go to the file sink (no SMTP here): into a temporary folder, not the source tree.
            ["Notifications:FileSink:Directory"] = Path.Combine(Path.GetTempPath(), "cafconnect-tests", "outbox-" + Guid.NewGuid().ToString("N")),
        };
        foreach (var (key, value) in overrides ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }
        return Start(kind, settings, services =>
        {
            services.AddSingleton<TimeProvider>(clock);
            services.AddSingleton<Microsoft.AspNetCore.Hosting.IStartupFilter, TestClientIp>();
        });
    }

    /// <summary>Stops this instance and starts a new one on the same store (a restart).</summary>
    public async Task RestartAsync()
    {
        await Host.DisposeAsync();
        Host = new CafConnectFactory(Store, Settings, _configureServices);
        _ = Host.Server;
    }

    /// <summary>A second instance on the same store (and Redis), running beside the first.</summary>
    public CafConnectFactory SecondInstance() => new(Store, Settings, _configureServices);

    public async ValueTask DisposeAsync()
    {
        await Host.DisposeAsync();
        Sms.Dispose();
        await Store.DisposeAsync();
    }
}

/// <summary>Fills the first-login pages as a person would: reads each page, posts its form with its anti-forgery token.</summary>
public sealed class FirstLoginDriver(HttpClient browser)
{
    public const string PaulNir = "1780413055123";
    public const string PaulMobile = "+33615000004";
    public const string NewPassword = "Vacances9Bretagne";

    public HttpClient Browser { get; } = browser;
    public OidcDriver Oidc { get; } = new(browser);

    /// <summary>Logs in at /connexion with the household's legacy code; returns where the login sends the person.</summary>
    public async Task<Uri> LoginWithLegacyCodeAsync(string loginPage = "/connexion", string nir = PaulNir)
    {
        var response = await Oidc.SubmitLoginAsync(new Uri(loginPage, UriKind.Relative), nir, DemoData.MartinLegacyCode);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Redirect), await OidcDriver.ErrorsOf(response));
        return response.Headers.Location!;
    }

    public async Task<(HttpResponseMessage Response, string Html)> GetAsync(Uri page)
    {
        var response = await Browser.GetAsync(page);
        return (response, await response.Content.ReadAsStringAsync());
    }

    /// <summary>Posts the page's form (optionally to one of its <c>?handler=</c> buttons) with the given fields.</summary>
    public async Task<HttpResponseMessage> PostAsync(Uri page, IDictionary<string, string> fields, string? handler = null)
    {
        var (_, html) = await GetAsync(page);
        var (action, token) = OidcDriver.LoginForm(html);
        var target = handler is null ? action : $"{page.AbsolutePathOrOriginal()}?handler={handler}&flow={FlowIdOf(page)}";
        var form = new Dictionary<string, string>(fields) { ["__RequestVerificationToken"] = token };
        return await Browser.PostAsync(target, new FormUrlEncodedContent(form));
    }

    public static string FlowIdOf(Uri page) =>
        Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(page.IsAbsoluteUri ? page.Query : new Uri(new Uri("http://localhost"), page).Query)["flow"].ToString();

    public static Uri Next(HttpResponseMessage response)
    {
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Redirect), "the step moves on");
        return response.Headers.Location!;
    }

    public const string DelegationPath = "/premiere-connexion/autorisations";

    /// <summary>
    /// The agency's records hold no contact for this person: the legacy-code contact step may then be skipped (and a
    /// letter tells the person of the activation); with a contact on record it must be proven (docs/decisions.md #16).
    /// </summary>
    public static async Task ForgetRecordsContactsAsync(JourneyHost host, string nir)
    {
        using var scope = host.Host.Services.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<CafConnect.Infrastructure.Persistence.CafConnectDbContext>();
        var person = await db.Persons.SingleAsync(p => p.Nir == nir);
        (person.MobilePhone, person.Email, person.MobilePhoneVerified, person.EmailVerified) = (null, null, false, false);
        await db.SaveChangesAsync();
    }

    /// <summary>
    /// The last step for a holder living as a couple (Paul): « Mes autorisations ». <paramref name="answer"/> "true"/"false"
    /// continues with Oui/Non, null chooses « Passer ». Returns where the journey ends.
    /// </summary>
    public async Task<Uri> AnswerDelegationAsync(Uri delegation, string? answer)
    {
        Assert.That(delegation.AbsolutePathOrOriginal(), Is.EqualTo(DelegationPath), "the delegation step comes last");
        var response = answer is null
            ? await PostAsync(delegation, new Dictionary<string, string>(), handler: "Skip")
            : await PostAsync(delegation, new Dictionary<string, string> { ["FileNumber"] = "0412345", ["Delegate"] = answer });
        return Next(response);
    }

    /// <summary>Intro → terms → password: the two steps before the contact.</summary>
    public async Task<Uri> AcceptTermsAndChoosePasswordAsync(Uri intro)
    {
        var terms = Next(await PostAsync(intro, new Dictionary<string, string>()));
        var password = Next(await PostAsync(terms, new Dictionary<string, string> { ["Accepted"] = "true" }));
        return Next(await PostAsync(password, new Dictionary<string, string> { ["Password"] = NewPassword, ["Confirmation"] = NewPassword }));
    }
}

internal static class UriExtensions
{
    public static string AbsolutePathOrOriginal(this Uri uri) => uri.IsAbsoluteUri ? uri.AbsolutePath : uri.OriginalString.Split('?')[0];
}
