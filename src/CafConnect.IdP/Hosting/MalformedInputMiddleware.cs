using CafConnect.IdP.Protocol;
using Microsoft.Extensions.Primitives;

namespace CafConnect.IdP.Hosting;

/// <summary>
/// Refuses, with a 400, requests whose query or form values carry a NUL character or cannot be decoded at all.
/// Without it the form reader throws inside OpenIddict's request extraction (a 500 on /connect/token, /revoke…), and
/// PostgreSQL refuses NUL in text parameters (a 500 wherever such a value reaches a query). No legitimate client
/// sends either. People get the French error page (status code pages); back-channel callers an RFC 6749 error.
/// The same for a request Kestrel finds bad while it is being read, wherever that happens (here, in a page, in an
/// endpoint): a body cut short by a client that went away (<c>Unexpected end of request content</c>), or too large.
/// It is the client's fault, so its own status (400, 413…), logged at Debug, not a 500 logged as a failure.
/// </summary>
public sealed partial class MalformedInputMiddleware(RequestDelegate next, ILogger<MalformedInputMiddleware> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        try
        {
            if (context.Request.Path.StartsWithSegments("/erreur") || !await IsMalformedAsync(context.Request))
            {
                await next(context);
                return;
            }
        }
        catch (BadHttpRequestException exception) when (!context.Response.HasStarted)
        {
            // Kestrel's own message (what was wrong with the framing), never a value of the request.
            BadRequest(logger, context.Request.Method, context.Request.Path.Value ?? "/", exception.StatusCode, exception.Message);
            await RefuseAsync(context, exception.StatusCode, "The request could not be read in full.");
            return;
        }
        await RefuseAsync(context, StatusCodes.Status400BadRequest, "The request contains a malformed or forbidden character.");
    }

    private static async Task RefuseAsync(HttpContext context, int status, string description)
    {
        context.Response.StatusCode = status;
        if (ProtocolEndpoints.IsBackChannel(context.Request.Path))
        {
            context.Response.Headers.CacheControl = "no-store";
            await context.Response.WriteAsJsonAsync(new Dictionary<string, string>
            {
                ["error"] = "invalid_request",
                ["error_description"] = description,
            });
        }
        // Otherwise the body stays empty: the status code pages render the French error page.
    }

    [LoggerMessage(EventId = 2303, EventName = "BadRequestFraming", Level = LogLevel.Debug,
        Message = "HTTP {Method} {Path} refused with {StatusCode}: {Reason}")]
    private static partial void BadRequest(ILogger logger, string method, string path, int statusCode, string reason);

    private static async Task<bool> IsMalformedAsync(HttpRequest request)
    {
        if (request.QueryString.HasValue && HasNul(request.Query))
        {
            return true;
        }
        if (!request.HasFormContentType)
        {
            return false;
        }
        try
        {
            // Buffered in the request's form feature: the handlers that read it afterwards get the same collection.
            var form = await request.ReadFormAsync(request.HttpContext.RequestAborted);
            return HasNul(form);
        }
        catch (InvalidDataException)
        {
            return true;
        }
    }

    private static bool HasNul(IEnumerable<KeyValuePair<string, StringValues>> values)
    {
        foreach (var (key, value) in values)
        {
            if (key.Contains('\0'))
            {
                return true;
            }
            foreach (var item in value)
            {
                if (item is not null && item.Contains('\0'))
                {
                    return true;
                }
            }
        }
        return false;
    }
}
