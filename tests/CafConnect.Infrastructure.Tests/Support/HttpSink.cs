using System.Collections.Concurrent;
using System.Net;
using System.Text;

namespace CafConnect.Infrastructure.Tests.Support;

public sealed record ReceivedRequest(string Method, string Path, string? Authorization, string? IdempotencyKey, string? ContentType, string Body);

/// <summary>A tiny HTTP server (HttpListener on 127.0.0.1) that records requests and answers with scripted status codes.</summary>
public sealed class HttpSink : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly ConcurrentQueue<ReceivedRequest> _requests = new();
    private readonly ConcurrentQueue<HttpStatusCode> _script;
    private readonly Task _serving;

    public HttpSink(params HttpStatusCode[] statuses)
    {
        _script = new ConcurrentQueue<HttpStatusCode>(statuses);
        Port = SmtpSink.FreePort();
        _listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
        _listener.Start();
        _serving = ServeAsync();
    }

    public int Port { get; }
    public string Url(string path) => $"http://127.0.0.1:{Port}{path}";
    public IReadOnlyList<ReceivedRequest> Requests => _requests.ToList();

    /// <summary>Answered once the scripted statuses run out.</summary>
    public HttpStatusCode Default { get; set; } = HttpStatusCode.Accepted;

    private async Task ServeAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception)
            {
                return;
            }
            using var reader = new StreamReader(context.Request.InputStream, Encoding.UTF8);
            var body = await reader.ReadToEndAsync();
            _requests.Enqueue(new ReceivedRequest(context.Request.HttpMethod, context.Request.Url!.AbsolutePath,
                context.Request.Headers["Authorization"], context.Request.Headers["Idempotency-Key"], context.Request.ContentType, body));
            context.Response.StatusCode = (int)(_script.TryDequeue(out var status) ? status : Default);
            context.Response.Close();
        }
    }

    public void Dispose()
    {
        _listener.Stop();
        _listener.Close();
        try
        {
            _serving.Wait(TimeSpan.FromSeconds(2));
        }
        catch (Exception)
        {
        }
    }
}
