using System.Net;
using System.Text.RegularExpressions;
using CafConnect.IdP.Tests.Features.FirstLogin;
using CafConnect.IdP.Tests.Support;
using CafConnect.Infrastructure.Notifications;
using CafConnect.Infrastructure.Persistence;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace CafConnect.IdP.Tests.Features.Recovery;

/// <summary>Fills the recovery pages as a person would (built on <see cref="FirstLoginDriver"/>'s form handling).</summary>
public sealed partial class RecoveryDriver(HttpClient browser)
{
    public FirstLoginDriver Pages { get; } = new(browser);
    public HttpClient Browser => browser;

    /// <summary>Posts the identifier form; returns the raw response (a redirect to the code page when accepted).</summary>
    public Task<HttpResponseMessage> RequestAsync(string identifier, string startPage = "/mot-de-passe-oublie") =>
        Pages.PostAsync(new Uri(startPage, UriKind.Relative), new Dictionary<string, string> { ["Identifier"] = identifier });

    public async Task<Uri> RequestCodePageAsync(string identifier)
    {
        var response = await RequestAsync(identifier);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Redirect), await OidcDriver.ErrorsOf(response));
        return response.Headers.Location!;
    }

    /// <summary>The page with what differs by construction removed: anti-forgery tokens and flow ids.</summary>
    public static string Comparable(string html) =>
        FlowId().Replace(Token().Replace(html, "value=\"TOKEN\""), "flow=FLOW");

    [GeneratedRegex("value=\"CfDJ8[^\"]+\"")]
    private static partial Regex Token();

    [GeneratedRegex("flow=[A-Za-z0-9_%-]+")]
    private static partial Regex FlowId();
}

/// <summary>Store checks of a journey host.</summary>
public static class HostStore
{
    public static async Task<T> QueryAsync<T>(this JourneyHost host, Func<CafConnectDbContext, Task<T>> query)
    {
        using var scope = host.Host.Services.CreateScope();
        return await query(scope.ServiceProvider.GetRequiredService<CafConnectDbContext>());
    }

    /// <summary>Waits for the file the file sink writes for a message (letters always; e-mail without SMTP).</summary>
    public static async Task<string> WaitForFileTextAsync(this JourneyHost host, Guid messageId)
    {
        var sink = host.Host.Services.GetRequiredService<FileNotificationSink>();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (DateTime.UtcNow < deadline)
        {
            if (await sink.TryReadAsync(messageId) is { Text: { } text })
            {
                return text;
            }
            await Task.Delay(50);
        }
        throw new TimeoutException($"message {messageId} was not written by the file sink");
    }

    public static Task<List<OutboxMessage>> OutboxOfAsync(this JourneyHost host, Guid personId) =>
        host.QueryAsync(db => db.OutboxMessages.AsNoTracking().Where(m => m.PersonId == personId).ToListAsync());

    /// <summary>
    /// A <see cref="JourneyHost"/> whose file sink (letters; e-mail without SMTP) writes to a private temporary
    /// directory, not under the IdP project's content root.
    /// </summary>
    public static JourneyHost Start(StoreKind kind, IDictionary<string, string?>? overrides = null,
        Action<Microsoft.Extensions.DependencyInjection.IServiceCollection>? configureServices = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Notifications:FileSink:Directory"] = NewSinkDirectory(),
            // Test hosts share one Redis: each keeps its own counters.
            ["Recovery:RateLimit:KeyPrefix"] = $"test-{Guid.NewGuid():N}:",
        };
        foreach (var (key, value) in overrides ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }
        return JourneyHost.Start(kind, settings, configureServices);
    }

    /// <summary>A private directory for the file sink of one host.</summary>
    public static string NewSinkDirectory() => Path.Combine(Path.GetTempPath(), "cafconnect-tests", "outbox-" + Guid.NewGuid().ToString("N"));
}
