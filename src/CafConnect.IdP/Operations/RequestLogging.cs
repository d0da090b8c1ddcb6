using System.Diagnostics;

namespace CafConnect.IdP.Operations;

/// <summary>
/// One log line per request: method, path (never the query string: it carries codes, states and flow ids), status,
/// duration and the correlation id (the trace id, as in the audit trail). Health probes are logged at Debug only.
/// </summary>
public sealed partial class RequestLogMiddleware(RequestDelegate next, ILogger<RequestLogMiddleware> logger)
{
    public async Task InvokeAsync(HttpContext http)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            await next(http);
        }
        finally
        {
            var elapsed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            var correlationId = Activity.Current?.TraceId.ToString() ?? http.TraceIdentifier;
            var status = http.RequestAborted.IsCancellationRequested && !http.Response.HasStarted ? 499 : http.Response.StatusCode;
            if (HealthEndpoints.IsHealth(http.Request.Path))
            {
                Probe(logger, http.Request.Method, http.Request.Path.Value ?? "/", status, elapsed, correlationId);
            }
            else
            {
                Request(logger, http.Request.Method, http.Request.Path.Value ?? "/", status, elapsed, correlationId);
            }
        }
    }

    [LoggerMessage(EventId = 2300, EventName = "Request", Level = LogLevel.Information,
        Message = "HTTP {Method} {Path} answered {StatusCode} in {ElapsedMs:0.0} ms (correlation {CorrelationId})")]
    private static partial void Request(ILogger logger, string method, string path, int statusCode, double elapsedMs, string correlationId);

    [LoggerMessage(EventId = 2301, EventName = "HealthProbe", Level = LogLevel.Debug,
        Message = "HTTP {Method} {Path} answered {StatusCode} in {ElapsedMs:0.0} ms (correlation {CorrelationId})")]
    private static partial void Probe(ILogger logger, string method, string path, int statusCode, double elapsedMs, string correlationId);
}
