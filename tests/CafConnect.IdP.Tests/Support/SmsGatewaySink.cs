using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace CafConnect.IdP.Tests.Support;

/// <summary>A received SMS, as the gateway got it.</summary>
public sealed record ReceivedSms(string To, string Text, string? IdempotencyKey, string? Authorization);

/// <summary>
/// Stands in for the SMS gateway: a real HTTP listener on loopback that the provider's outbox dispatcher posts to,
/// so tests read codes exactly where a person would receive them.
/// </summary>
public sealed partial class SmsGatewaySink : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly ConcurrentQueue<ReceivedSms> _received = new();
    private readonly CancellationTokenSource _stop = new();

    public SmsGatewaySink()
    {
        var port = FreePort();
        Url = $"http://127.0.0.1:{port}/sms/";
        _listener.Prefixes.Add(Url);
        _listener.Start();
        _ = Task.Run(ServeAsync);
    }

    public string Url { get; }
    public const string Token = "jeton-de-test-de-la-passerelle-sms";

    public IReadOnlyList<ReceivedSms> Received => _received.ToArray();

    /// <summary>Waits for the next SMS to <paramref name="to"/> after <paramref name="alreadySeen"/> messages to it.</summary>
    public async Task<ReceivedSms> WaitForAsync(string to, int alreadySeen = 0, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(15));
        while (DateTime.UtcNow < deadline)
        {
            var forRecipient = _received.Where(m => m.To == to).ToList();
            if (forRecipient.Count > alreadySeen)
            {
                return forRecipient[alreadySeen];
            }
            await Task.Delay(50);
        }
        throw new TimeoutException($"No SMS #{alreadySeen + 1} to {to} within the timeout; received: {string.Join(" | ", _received.Select(m => m.To))}");
    }

    public int CountTo(string to) => _received.Count(m => m.To == to);

    public static string CodeIn(string text) => SixDigits().Match(text) is { Success: true } match ? match.Value : throw new InvalidOperationException("no 6-digit code in: " + text);

    private async Task ServeAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (HttpListenerException)
            {
                return;
            }
            using var reader = new StreamReader(context.Request.InputStream);
            var json = JsonDocument.Parse(await reader.ReadToEndAsync()).RootElement;
            _received.Enqueue(new ReceivedSms(json.GetProperty("to").GetString()!, json.GetProperty("text").GetString()!,
                context.Request.Headers["Idempotency-Key"], context.Request.Headers["Authorization"]));
            context.Response.StatusCode = 202;
            context.Response.Close();
        }
    }

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Close();
    }

    [GeneratedRegex(@"(?<!\d)\d{6}(?!\d)")]
    private static partial Regex SixDigits();
}
