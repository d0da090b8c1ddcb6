using System.Text.Json;
using CafConnect.IdP.Admin;
using CafConnect.IdP.Protocol;

namespace CafConnect.IdP.Operations;

/// <summary>
/// A dependency every instance shares (Redis, PostgreSQL) is unreachable: the request could not be served, and nothing
/// was decided in its absence (the throttle and the code store fail, they never let an attempt through unchecked).
/// People get the French « service momentanément indisponible » page (503, <c>Retry-After</c>) instead of the generic
/// error; relying parties calling the back channel get RFC 6749's <c>temporarily_unavailable</c> (503, JSON).
/// </summary>
public static class DependencyOutage
{
    /// <summary>Seconds a client is asked to wait (<c>Retry-After</c>): a Redis or PostgreSQL failover takes about that.</summary>
    public const int RetryAfterSeconds = 30;

    public static bool IsOutage(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is StackExchange.Redis.RedisConnectionException or StackExchange.Redis.RedisTimeoutException
                || IsRedisFailingOver(e)
                || CafConnect.Infrastructure.Persistence.PostgreSqlExecutionStrategy.IsUnavailable(e)
                || e is Microsoft.EntityFrameworkCore.Storage.RetryLimitExceededException)
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>
    /// Redis refusing a command because of a failover rather than a bug: the write met the old primary, now a replica
    /// (<c>READONLY</c>, seen in the drill while Sentinel promoted the replica), a node still loading its data, or no
    /// reachable primary. Nothing was written: an outage, answered 503.
    /// </summary>
    public static bool IsRedisFailingOver(Exception exception) =>
        exception is StackExchange.Redis.RedisServerException server
        && (server.Message.StartsWith("READONLY", StringComparison.Ordinal) || server.Message.StartsWith("LOADING", StringComparison.Ordinal)
            || server.Message.StartsWith("MASTERDOWN", StringComparison.Ordinal) || server.Message.StartsWith("TRYAGAIN", StringComparison.Ordinal));

    /// <summary>The status the exception handler gives: 503 for an outage, 500 for anything else.</summary>
    public static int StatusCodeFor(Exception exception) => IsOutage(exception) ? StatusCodes.Status503ServiceUnavailable : StatusCodes.Status500InternalServerError;
}

/// <summary>Answers back-channel requests that met an outage with <c>temporarily_unavailable</c>; the rest goes to the exception handler.</summary>
public sealed partial class DependencyOutageMiddleware(RequestDelegate next, ILogger<DependencyOutageMiddleware> logger)
{
    public async Task InvokeAsync(HttpContext http)
    {
        try
        {
            await next(http);
        }
        catch (Exception exception) when (DependencyOutage.IsOutage(exception) && !http.Response.HasStarted
            && (ProtocolEndpoints.IsBackChannel(http.Request.Path) || AdminApi.IsAdmin(http.Request.Path)))
        {
            // The exception type only: its message may name hosts.
            Unavailable(logger, http.Request.Path.Value ?? "/", exception.GetType().Name);
            http.Response.Clear();
            http.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            http.Response.Headers.RetryAfter = DependencyOutage.RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            http.Response.Headers.CacheControl = "no-store";
            http.Response.ContentType = "application/json; charset=utf-8";
            await http.Response.WriteAsync(JsonSerializer.Serialize(new Dictionary<string, string>
            {
                ["error"] = "temporarily_unavailable",
                ["error_description"] = "The service is temporarily unavailable; retry later.",
            }));
        }
    }

    [LoggerMessage(EventId = 2310, EventName = "DependencyUnavailable", Level = LogLevel.Warning,
        Message = "{Path} answered 503 temporarily_unavailable: a shared dependency is unreachable ({ExceptionType})")]
    private static partial void Unavailable(ILogger logger, string path, string exceptionType);
}
