using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Text;
using CafConnect.IdP.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace CafConnect.IdP.Tests.Security;

/// <summary>
/// A client that goes away in the middle of its form body (its Content-Length announces more than it sends, then the
/// connection is half-closed): Kestrel ends the body with <c>BadHttpRequestException: Unexpected end of request
/// content</c>. That is the client's fault — a 400 (or 499 when the abort is seen first), never a 500 — and not a failure of the provider: nothing at Warning
/// or above in the log (it used to be logged as « An unhandled exception has occurred », seen in a benchmark log).
/// On the real server (Kestrel), since the in-memory test server does not enforce Content-Length.
/// </summary>
[NonParallelizable]
public sealed class TruncatedBodyTests
{
    private TestStore _store = null!;
    private CafConnectFactory _host = null!;
    private Uri _address = null!;
    private readonly AnsweredStatuses _statuses = new();

    [OneTimeSetUp]
    public void StartKestrel()
    {
        _store = TestStore.Create(StoreKind.Sqlite);
        _host = new CafConnectFactory(_store, configureServices: services =>
        {
            services.AddFakeLogging();
            services.AddSingleton<IStartupFilter>(_statuses);
        });
        _address = _host.StartOnKestrel();
    }

    [OneTimeTearDown]
    public async Task StopKestrelAsync()
    {
        await _host.DisposeAsync();
        await _store.DisposeAsync();
    }

    [TestCase("/connexion", TestName = "A page whose form body is cut short answers 400 and logs no failure")]
    [TestCase("/connect/token", TestName = "The token endpoint whose form body is cut short answers 400 and logs no failure")]
    [TestCase("/connect/phone/forgotten-code", TestName = "A minimal endpoint whose form body is cut short answers 400 and logs no failure")]
    public async Task A_form_body_cut_short_is_a_400_and_no_logged_failure(string path)
    {
        var logs = _host.Services.GetFakeLogCollector();
        logs.Clear();

        await PostCutShortAsync(path);

        // The client is gone (Kestrel closes the connection without an answer): the status is the one the provider
        // settled on. Kestrel's verdict on the body is a 400; when the connection's abort is noticed before the body's
        // end, ASP.NET Core records 499 (client closed request, at Debug). Never a 500.
        var status = await _statuses.OfAsync(path);
        var failures = logs.GetSnapshot().Where(r => r.Level >= LogLevel.Warning)
            .Select(r => $"{r.Level} {r.Category}: {r.Message} {r.Exception?.GetType().Name}").ToList();
        Assert.Multiple(() =>
        {
            Assert.That(status, Is.EqualTo(400).Or.EqualTo(499), "the client's fault, not the provider's");
            Assert.That(failures, Is.Empty, "a body cut short by the client is not a failure of the provider");
        });
    }

    /// <summary>Announces 1000 bytes, sends 14, half-closes the connection, and waits for the server to close it.</summary>
    private async Task PostCutShortAsync(string path)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(_address.Host, _address.Port);
        var stream = client.GetStream();
        var head = $"POST {path} HTTP/1.1\r\nHost: {_address.Authority}\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            + "Content-Length: 1000\r\nConnection: close\r\n\r\nidentifier=abc";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head));
        client.Client.Shutdown(SocketShutdown.Send);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            await stream.CopyToAsync(Stream.Null, timeout.Token);
        }
        catch (IOException)
        {
            // Reset by the server: the end of this request either way.
        }
    }

    /// <summary>Outermost middleware: the status each path was answered with once the whole pipeline ran.</summary>
    private sealed class AnsweredStatuses : IStartupFilter
    {
        private readonly ConcurrentDictionary<string, int> _statuses = new(StringComparer.Ordinal);

        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use(async (http, nextMiddleware) =>
            {
                try
                {
                    await nextMiddleware(http);
                }
                finally
                {
                    _statuses[http.Request.Path.Value ?? "/"] = http.Response.StatusCode;
                }
            });
            next(app);
        };

        public async Task<int> OfAsync(string path)
        {
            for (var waited = 0; waited < 100; waited++)
            {
                if (_statuses.TryRemove(path, out var status))
                {
                    return status;
                }
                await Task.Delay(100);
            }
            throw new AssertionException("no answer recorded for " + path);
        }
    }
}
