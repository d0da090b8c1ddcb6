using CafConnect.Infrastructure.Clients;

namespace CafConnect.Application.Admin;

/// <summary>
/// Which service client an operator's admin request (CLI) stands for. The benefits system's ids are scoped to its
/// client; when it cannot reach the API an operator sends the same JSON from the CLI, and the same id must find the
/// same record (decision 20): the CLI takes that client's namespace.
/// </summary>
public sealed class OperatorCaller(ClientAdministration clients)
{
    /// <summary>
    /// The caller for <paramref name="operatorName"/>: on behalf of <paramref name="requestedClientId"/> when given (it
    /// must be a service client holding the admin scope), else of the only such client; with none registered, the CLI's
    /// own namespace (no request can have come through the API). Null with <paramref name="problem"/> when it cannot tell.
    /// </summary>
    public async Task<(AdminCaller? Caller, string? Problem)> ResolveAsync(string operatorName, string? requestedClientId, CancellationToken cancellationToken)
    {
        var services = (await clients.ListAsync(cancellationToken))
            .Where(c => c.Kind == "service" && c.Scopes.Contains(CafScopes.Admin, StringComparer.Ordinal))
            .Select(c => c.ClientId)
            .ToList();
        if (requestedClientId is not null)
        {
            return services.Contains(requestedClientId, StringComparer.Ordinal)
                ? (new AdminCaller(null, operatorName) { OnBehalfOfClientId = requestedClientId }, null)
                : (null, $"--client: '{requestedClientId}' is not a service client with the scope {CafScopes.Admin}");
        }
        return services.Count switch
        {
            0 => (new AdminCaller(null, operatorName), null),
            1 => (new AdminCaller(null, operatorName) { OnBehalfOfClientId = services[0] }, null),
            _ => (null, $"several service clients hold {CafScopes.Admin} ({string.Join(", ", services)}): name the one whose ids these are with --client"),
        };
    }
}
