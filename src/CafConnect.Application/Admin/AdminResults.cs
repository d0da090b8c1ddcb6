using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using FluentValidation.Results;

namespace CafConnect.Application.Admin;

/// <summary>
/// A refusal of the admin API as RFC 7807 problem details: the status, a stable <see cref="Code"/> (also the end of the
/// <c>type</c> URI), an English title and detail for the calling system's logs, and field errors for a 400.
/// </summary>
public sealed record AdminProblem(int Status, string Code, string Title, string Detail, IReadOnlyDictionary<string, string[]>? Errors = null)
{
    public const string TypePrefix = "urn:cafconnect:admin:problem:";

    public static AdminProblem Invalid(IReadOnlyDictionary<string, string[]> errors) =>
        new(400, "invalid_request", "The request is invalid.", "One or more fields are missing or invalid; see errors.", errors);

    public static AdminProblem Invalid(ValidationResult result) => Invalid(result.Errors
        .GroupBy(e => e.PropertyName)
        .ToDictionary(g => g.Key, g => g.Select(e => e.ErrorMessage).Distinct().ToArray(), StringComparer.Ordinal));

    public static AdminProblem MalformedJson(string detail) =>
        new(400, "malformed_json", "The request body is not the expected JSON.", detail);

    public static AdminProblem Unprocessable(string code, string detail) => new(422, code, "The request cannot be applied to the current state.", detail);

    public static AdminProblem Conflict(string code, string detail) => new(409, code, "The request conflicts with the current state.", detail);

    /// <summary>
    /// The identifier names an account whose civil status is not the one the request states: never merged, an agent
    /// checks who is who. The text never repeats the NIR or the civil status.
    /// </summary>
    public static AdminProblem CivilStatusMismatch(string field) => Conflict("civil_status_mismatch",
        $"An account already has the identifier in {field} with a different civil status (birth name, given names, birth date); "
        + "nothing was attached to it. An agent must check the person's identity.");
}

/// <summary>The answer to an admin request: a success (status and JSON body) or a problem.</summary>
public sealed record AdminResponse(int Status, JsonElement? Body, AdminProblem? Problem)
{
    /// <summary>True when the answer was stored for an earlier request with the same id and payload.</summary>
    public bool Replayed { get; init; }

    public bool Succeeded => Problem is null;

    /// <summary>
    /// An audit row to keep although the request is refused (its transaction is rolled back): a refusal that is itself
    /// a security event, such as a civil-status mismatch.
    /// </summary>
    public Infrastructure.Audit.AuditEntry? RefusalAudit { get; init; }

    public static AdminResponse Success(int status, object body) =>
        new(status, JsonSerializer.SerializeToElement(body, AdminJson.Options), null);

    public static AdminResponse Failure(AdminProblem problem) => new(problem.Status, null, problem);
}

/// <summary>
/// Who calls: the admin client (API) or the operator (CLI). Recorded in the audit trail. An operator sends what a
/// service client could not send itself (<see cref="OnBehalfOfClientId"/>): its request ids are that client's.
/// </summary>
public sealed record AdminCaller(string? ClientId, string? Operator)
{
    /// <summary>CLI only: the service client whose application and event ids the operator's request carries.</summary>
    public string? OnBehalfOfClientId { get; init; }

    public string AuditDetails => ClientId is not null
        ? $"by=client:{ClientId}"
        : $"by=cli:{Operator}" + (OnBehalfOfClientId is null ? string.Empty : $"; for=client:{OnBehalfOfClientId}");

    /// <summary>
    /// The namespace of the caller's request ids: two service clients may both send <c>EVT-1</c> without colliding.
    /// A short digest of the client id (client ids have no length limit, the stored keys do: 160 and 200 characters).
    /// One id is applied once whichever door it comes through (decision 20): the CLI uses the namespace of the service
    /// client it acts for, and its own (<c>cli</c>) only when no service client exists.
    /// </summary>
    public string IdempotencyScope => (ClientId ?? OnBehalfOfClientId) is not { } scopeClient
        ? "cli"
        : "c" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(scopeClient)))[..16];

    /// <summary>The key of one request of this caller: <c>kind:scope:id</c>, also the prefix of its outbox messages' keys.</summary>
    public string IdempotencyKey(string kind, string id) => $"{kind}:{IdempotencyScope}:{id}";
}

/// <summary>One JSON dialect for the API, the CLI's files and the stored answers: snake_case, unknown fields refused.</summary>
public static class AdminJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        // A misspelt field ("nri") must not be silently ignored: the event would be applied without it.
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        PropertyNameCaseInsensitive = false,
    };

    /// <summary>Largest body the admin API reads (an event is a few hundred bytes).</summary>
    public const int MaxBodyBytes = 64 * 1024;

    /// <summary>Parses <paramref name="json"/> as <typeparamref name="T"/>, or explains (in English) why not.</summary>
    public static bool TryParse<T>(string json, out T? value, out AdminProblem? problem) where T : class
    {
        value = null;
        problem = null;
        try
        {
            value = JsonSerializer.Deserialize<T>(json, Options);
            if (value is null)
            {
                problem = AdminProblem.MalformedJson("The body must be a JSON object.");
                return false;
            }
            return true;
        }
        catch (JsonException exception)
        {
            // The serializer's message names the path and the field, never a value.
            problem = AdminProblem.MalformedJson(exception.Path is { } path ? $"Invalid JSON at {path}: {FirstSentence(exception.Message)}" : FirstSentence(exception.Message));
            return false;
        }
        catch (NotSupportedException exception)
        {
            problem = AdminProblem.MalformedJson(FirstSentence(exception.Message));
            return false;
        }
    }

    /// <summary>SHA-256 of the request as parsed (so formatting and field order do not matter).</summary>
    public static string PayloadHash<T>(T request) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(request, Options))));

    private static string FirstSentence(string message)
    {
        var end = message.IndexOf(". ", StringComparison.Ordinal);
        var sentence = end > 0 ? message[..(end + 1)] : message;
        return sentence.Length <= 300 ? sentence : sentence[..300];
    }
}
