using CafConnect.IdP.Protocol;
using Microsoft.Extensions.Primitives;

namespace CafConnect.IdP.Hosting;

/// <summary>
/// Refuses, with a 400, requests whose query or form values carry a NUL character or cannot be decoded at all.
/// Without it the form reader throws inside OpenIddict's request extraction (a 500 on /connect/token, /revoke…), and
/// PostgreSQL refuses NUL in text parameters (a 500 wherever such a value reaches a query). No legitimate client
/// sends either. People get the French error page (status code pages); back-channel callers an RFC 6749 error.
/// </summary>
public sealed class MalformedInputMiddleware(RequestDelegate next)
{
    public async Task InvokeAsync(HttpContext context)
    {
        if (context.Request.Path.StartsWithSegments("/erreur") || !await IsMalformedAsync(context.Request))
        {
            await next(context);
            return;
        }

        context.Response.StatusCode = StatusCodes.Status400BadRequest;
        if (ProtocolEndpoints.IsBackChannel(context.Request.Path))
        {
            context.Response.Headers.CacheControl = "no-store";
            await context.Response.WriteAsJsonAsync(new Dictionary<string, string>
            {
                ["error"] = "invalid_request",
                ["error_description"] = "The request contains a malformed or forbidden character.",
            });
        }
        // Otherwise the body stays empty: the status code pages render the French error page.
    }

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
