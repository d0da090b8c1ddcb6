using System.Security.Claims;
using System.Text;
using CafConnect.Application.Admin;
using CafConnect.Application.Clients;
using CafConnect.Infrastructure.Clients;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Mvc;
using OpenIddict.Abstractions;
using OpenIddict.Validation.AspNetCore;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace CafConnect.IdP.Admin;

/// <summary>
/// The admin API (docs/admin-api.md) for the agency's systems: bearer access tokens from the client-credentials grant,
/// validated by OpenIddict against this server (signature, encryption, expiry, revocation), carrying the scope
/// <c>cafconnect.admin</c>. Bodies are JSON (snake_case, unknown fields refused), refusals RFC 7807 problem details,
/// bearer refusals RFC 6750. The work itself lives in Infrastructure (shared with the CLI).
/// </summary>
public static partial class AdminApi
{
    public const string Prefix = "/admin/v1";
    public const string FileEventsPath = Prefix + "/file-events";
    public const string ApplicantsPath = Prefix + "/applicants";
    public const string ProvisionalPasswordPath = Prefix + "/persons/provisional-password";
    public const string ClientsPath = Prefix + "/clients";

    public static bool IsAdmin(PathString path) => path.StartsWithSegments("/admin");

    public static void MapAdminApi(this IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup(Prefix).DisableAntiforgery();
        group.AddEndpointFilter(NeverAnHtmlErrorAsync);

        group.MapPost("/file-events", (HttpContext http, FileEventService events) =>
            HandleAsync<FileEventRequest>(http, (request, caller, ct) => events.ApplyAsync(request, caller, ct)));
        group.MapPost("/applicants", (HttpContext http, ApplicantRegistration applicants) =>
            HandleAsync<ApplicantRegistrationRequest>(http, (request, caller, ct) => applicants.RegisterAsync(request, caller, ct)));
        group.MapPost("/persons/provisional-password", (HttpContext http, AgentProvisionalPasswordEndpoint agents) =>
            HandleAsync<AgentProvisionalPasswordRequest>(http, (request, caller, ct) => agents.IssueAsync(request, caller, http.TraceIdentifier, ct)));

        // Relying parties (docs/admin-api.md, "Clients"): a scope of their own, cafconnect.clients, which cafconnect.admin
        // does not imply, nor the reverse.
        group.MapGet("/clients", (HttpContext http, ClientsAdminEndpoint clients) =>
            QueryAsync(http, CafScopes.Clients, ct => clients.ListAsync(ct)));
        group.MapGet("/clients/{clientId}", (HttpContext http, string clientId, ClientsAdminEndpoint clients) =>
            QueryAsync(http, CafScopes.Clients, ct => clients.GetAsync(clientId, ct)));
        group.MapPost("/clients", (HttpContext http, ClientsAdminEndpoint clients) =>
            HandleAsync<ClientCreateRequest>(http, (request, caller, ct) => clients.CreateAsync(request, caller, http.TraceIdentifier, ct), CafScopes.Clients));
        group.MapMethods("/clients/{clientId}", [HttpMethods.Patch], (HttpContext http, string clientId, ClientsAdminEndpoint clients) =>
            HandleAsync<ClientUpdateRequest>(http, (request, caller, ct) => clients.UpdateAsync(clientId, request, caller, http.TraceIdentifier, ct), CafScopes.Clients));
        group.MapPost("/clients/{clientId}/secret", (HttpContext http, string clientId, ClientsAdminEndpoint clients) =>
            HandleAsync<ClientActionRequest>(http, (request, caller, ct) => clients.RotateSecretAsync(clientId, request, caller, http.TraceIdentifier, ct), CafScopes.Clients, bodyOptional: true));
        group.MapPost("/clients/{clientId}/disable", (HttpContext http, string clientId, ClientsAdminEndpoint clients) =>
            HandleAsync<ClientActionRequest>(http, (request, caller, ct) => clients.DisableAsync(clientId, request, caller, http.TraceIdentifier, ct), CafScopes.Clients, bodyOptional: true));
        // Any other path or method under the prefix: a problem, not the people's HTML error page.
        group.Map("/{**rest}", (HttpContext http) => Problem(new AdminProblem(404, "not_found", "No such admin endpoint.", "See docs/admin-api.md for the endpoints.")));
    }

    /// <summary>
    /// The bearer token, valid and holding <paramref name="requiredScope"/>, as the calling client; otherwise the RFC 6750
    /// refusal to answer. Each family of endpoints has its scope: holding one never grants another.
    /// </summary>
    private static async Task<(AdminCaller? Caller, IResult? Refusal)> AuthorizeAsync(HttpContext http, string requiredScope)
    {
        var authentication = await http.AuthenticateAsync(OpenIddictValidationAspNetCoreDefaults.AuthenticationScheme);
        if (!authentication.Succeeded || authentication.Principal is not { } principal)
        {
            // 401 with WWW-Authenticate: Bearer (and error="invalid_token" when a token was given), RFC 6750 §3.
            return (null, Results.Challenge(authenticationSchemes: [OpenIddictValidationAspNetCoreDefaults.AuthenticationScheme]));
        }
        if (!principal.HasScope(requiredScope))
        {
            // A person's token, or a client registered without this endpoint's scope.
            return (null, Results.Forbid(new AuthenticationProperties(new Dictionary<string, string?>
            {
                [OpenIddictValidationAspNetCoreConstants.Properties.Error] = Errors.InsufficientScope,
                [OpenIddictValidationAspNetCoreConstants.Properties.ErrorDescription] = $"The '{requiredScope}' scope is required.",
                [OpenIddictValidationAspNetCoreConstants.Properties.Scope] = requiredScope,
            }), [OpenIddictValidationAspNetCoreDefaults.AuthenticationScheme]));
        }
        return (new AdminCaller(ClientIdOf(principal), null), null);
    }

    /// <summary>A read (GET): authorized like a change, answered without a body to parse.</summary>
    private static async Task<IResult> QueryAsync(HttpContext http, string requiredScope, Func<CancellationToken, Task<AdminResponse>> query)
    {
        var (_, refusal) = await AuthorizeAsync(http, requiredScope);
        if (refusal is not null)
        {
            return refusal;
        }
        var response = await query(http.RequestAborted);
        http.Response.Headers.CacheControl = "no-store";
        return response.Problem is { } problem ? Problem(problem) : Results.Json(response.Body, statusCode: response.Status);
    }

    /// <param name="bodyOptional">An action whose only field is optional (<c>request_id</c>): no body reads as <c>{}</c>.</param>
    private static async Task<IResult> HandleAsync<T>(HttpContext http, Func<T, AdminCaller, CancellationToken, Task<AdminResponse>> handle,
        string requiredScope = CafScopes.Admin, bool bodyOptional = false) where T : class
    {
        var (caller, refusal) = await AuthorizeAsync(http, requiredScope);
        if (refusal is not null)
        {
            return refusal;
        }

        if (bodyOptional && http.Request.ContentLength is null or 0 && !http.Request.HasJsonContentType())
        {
            var empty = await handle(Activator.CreateInstance<T>(), caller!, http.RequestAborted);
            return Answer(http, empty);
        }
        if (!http.Request.HasJsonContentType())
        {
            return Problem(new AdminProblem(415, "unsupported_media_type", "The body must be JSON.", "Send Content-Type: application/json."));
        }
        var body = await ReadBodyAsync(http);
        if (body is null)
        {
            return Problem(new AdminProblem(413, "body_too_large", "The body is too large.", $"At most {AdminJson.MaxBodyBytes} bytes."));
        }
        if (!AdminJson.TryParse<T>(body, out var request, out var problem))
        {
            return Problem(problem!);
        }

        var response = await handle(request!, caller!, http.RequestAborted);
        return Answer(http, response);
    }

    private static IResult Answer(HttpContext http, AdminResponse response)
    {
        http.Response.Headers.CacheControl = "no-store";
        if (response.Problem is { } refusal)
        {
            return Problem(refusal);
        }
        if (response.Replayed)
        {
            http.Response.Headers["Idempotent-Replayed"] = "true";
        }
        return Results.Json(response.Body, statusCode: response.Status);
    }

    private static string? ClientIdOf(ClaimsPrincipal principal) =>
        principal.GetClaim(Claims.ClientId) ?? principal.GetPresenters().FirstOrDefault() ?? principal.GetClaim(Claims.Subject);

    /// <summary>The body as text, or null when longer than <see cref="AdminJson.MaxBodyBytes"/>.</summary>
    private static async Task<string?> ReadBodyAsync(HttpContext http)
    {
        if (http.Request.ContentLength > AdminJson.MaxBodyBytes)
        {
            return null;
        }
        using var buffer = new MemoryStream();
        var chunk = new byte[8192];
        int read;
        while ((read = await http.Request.Body.ReadAsync(chunk, http.RequestAborted)) > 0)
        {
            if (buffer.Length + read > AdminJson.MaxBodyBytes)
            {
                return null;
            }
            buffer.Write(chunk, 0, read);
        }
        return new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false).GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    internal static IResult Problem(AdminProblem problem)
    {
        var details = new ProblemDetails
        {
            Status = problem.Status,
            Type = AdminProblem.TypePrefix + problem.Code,
            Title = problem.Title,
            Detail = problem.Detail,
        };
        details.Extensions["code"] = problem.Code;
        if (problem.Errors is { } errors)
        {
            details.Extensions["errors"] = errors;
        }
        return Results.Problem(details);
    }

    /// <summary>An unexpected failure still answers as a problem (no page, no stack trace), and is logged for operators.</summary>
    private static async ValueTask<object?> NeverAnHtmlErrorAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        try
        {
            return await next(context);
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            var logger = context.HttpContext.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(AdminApi));
            LogFailure(logger, exception, context.HttpContext.Request.Path);
            return Problem(new AdminProblem(500, "internal_error", "The request could not be processed.",
                $"Nothing was applied; retry later with the same id. Trace id: {context.HttpContext.TraceIdentifier}."));
        }
    }

    [LoggerMessage(EventId = 4001, Level = LogLevel.Error, Message = "Admin API request to {Path} failed")]
    private static partial void LogFailure(ILogger logger, Exception exception, PathString path);
}
