using CafConnect.Application.Admin;
using CafConnect.Infrastructure.Audit;
using CafConnect.Infrastructure.Clients;

namespace CafConnect.Application.Clients;

/// <summary>A client as <c>/admin/v1/clients</c> shows it (never a secret: only its hash is stored).</summary>
public sealed record ClientView(string ClientId, string DisplayName, string Kind, IReadOnlyList<string> RedirectUris, IReadOnlyList<string> PostLogoutRedirectUris,
    IReadOnlyList<string> Scopes, IReadOnlyList<string> GrantTypes, string? BackchannelLogoutUri, bool Disabled)
{
    /// <summary>The algorithm of the client's ID tokens: <c>RS256</c> unless it registered <c>ES256</c>.</summary>
    public string IdTokenSignedResponseAlg { get; init; } = CafConnect.Infrastructure.Keys.TokenSigning.Rs256;

    public static ClientView Of(ClientSummary client) => new(client.ClientId, client.DisplayName, client.Kind, client.RedirectUris, client.PostLogoutRedirectUris,
        client.Scopes, client.ExtraGrantTypes, client.BackchannelLogoutUri, client.Disabled)
    {
        IdTokenSignedResponseAlg = CafConnect.Infrastructure.Keys.TokenSigning.IdTokenAlgorithmOf(client.IdTokenSignedResponseAlg),
    };
}

/// <summary>Body of <c>POST /admin/v1/clients</c>. No secret: the provider generates it and answers it once.</summary>
public sealed record ClientCreateRequest
{
    public string? RequestId { get; init; }
    public string? ClientId { get; init; }
    public string? DisplayName { get; init; }
    /// <summary><c>confidential</c> or <c>public</c> (service clients are registered with the CLI only).</summary>
    public string? Kind { get; init; }
    public IReadOnlyList<string>? RedirectUris { get; init; }
    public IReadOnlyList<string>? PostLogoutRedirectUris { get; init; }
    public IReadOnlyList<string>? Scopes { get; init; }
    public IReadOnlyList<string>? GrantTypes { get; init; }
    public string? BackchannelLogoutUri { get; init; }
    /// <summary><c>RS256</c> (the default) or <c>ES256</c>.</summary>
    public string? IdTokenSignedResponseAlg { get; init; }
}

/// <summary>Body of <c>PATCH /admin/v1/clients/{client_id}</c>: each field given replaces the current value, each one absent keeps it.</summary>
public sealed record ClientUpdateRequest
{
    public string? RequestId { get; init; }
    public string? DisplayName { get; init; }
    public string? Kind { get; init; }
    public IReadOnlyList<string>? RedirectUris { get; init; }
    public IReadOnlyList<string>? PostLogoutRedirectUris { get; init; }
    public IReadOnlyList<string>? Scopes { get; init; }
    public IReadOnlyList<string>? GrantTypes { get; init; }
    public string? BackchannelLogoutUri { get; init; }
    public string? IdTokenSignedResponseAlg { get; init; }
    /// <summary>false re-enables a disabled client (disabling is <c>POST …/disable</c>, which also revokes its tokens).</summary>
    public bool? Disabled { get; init; }
}

/// <summary>Body (optional) of <c>POST …/secret</c> and <c>POST …/disable</c>.</summary>
public sealed record ClientActionRequest
{
    public string? RequestId { get; init; }
}

/// <summary>
/// The admin API's side of <see cref="ClientRegistrations"/> (<c>/admin/v1/clients</c>, scope <c>cafconnect.clients</c>):
/// the JSON fields, refusals as problems, one idempotent transaction per change (decision 20) with its audit line naming
/// the calling client. A generated secret is in the live answer only: the answer kept for replays never holds it.
/// Service clients (those that hold the admin scopes) are registered by an operator with the CLI, never over this API,
/// so that <c>cafconnect.clients</c> cannot mint a <c>cafconnect.admin</c> client, nor take one away.
/// </summary>
public sealed class ClientsAdminEndpoint(ClientRegistrations registrations, IdempotentAdminRequests idempotency, AuditTrail audit)
{
    private const string RequestIdPattern = "^[A-Za-z0-9._:-]{1,100}$";

    public async Task<AdminResponse> ListAsync(CancellationToken cancellationToken) =>
        AdminResponse.Success(200, new { Clients = (await registrations.ListAsync(cancellationToken)).Select(ClientView.Of).ToList() });

    public async Task<AdminResponse> GetAsync(string clientId, CancellationToken cancellationToken) =>
        await registrations.FindAsync(clientId, cancellationToken) is { } client
            ? AdminResponse.Success(200, new { Client = ClientView.Of(client) })
            : AdminResponse.Failure(UnknownClient(clientId));

    public async Task<AdminResponse> CreateAsync(ClientCreateRequest request, AdminCaller caller, string correlationId, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        CheckRequestId(request.RequestId, errors);
        var kind = ParseKind(request.Kind, errors, required: true);
        if (errors.Count > 0)
        {
            return AdminResponse.Failure(AdminProblem.Invalid(Frozen(errors)));
        }
        var registration = new ClientRegistration
        {
            ClientId = request.ClientId ?? string.Empty,
            DisplayName = request.DisplayName ?? string.Empty,
            Kind = kind!.Value,
            RedirectUris = request.RedirectUris ?? [],
            PostLogoutRedirectUris = request.PostLogoutRedirectUris ?? [],
            Scopes = request.Scopes ?? [],
            ExtraGrantTypes = request.GrantTypes ?? [],
            BackchannelLogoutUri = request.BackchannelLogoutUri,
            IdTokenSignedResponseAlg = request.IdTokenSignedResponseAlg,
        };
        // Checked before the transaction too, so that a refusal says everything at once without touching the store.
        if (ClientRegistrations.Validate(registration with { ClientSecret = kind == ClientKind.Public ? null : new string('x', 32) }) is { Count: > 0 } problems)
        {
            return AdminResponse.Failure(Invalid(problems));
        }

        string? secret = null;
        await registrations.EnsureSecretKeyAsync(cancellationToken);
        var response = await idempotency.RunAsync(caller.IdempotencyKey("client-create", request.RequestId ?? correlationId), AdminJson.PayloadHash(request), async ct =>
        {
            var change = await registrations.AddAsync(registration, registration.Kind == ClientKind.Public ? SecretChange.Keep : SecretChange.Generate, ct);
            if (Refusal(change, registration.ClientId) is { } refusal)
            {
                return AdminResponse.Failure(refusal);
            }
            secret = change.GeneratedSecret;
            Audit(change, caller);
            return AdminResponse.Success(201, new { Client = ClientView.Of(change.Client!) });
        }, cancellationToken);
        return WithSecretOnce(response, secret);
    }

    public async Task<AdminResponse> UpdateAsync(string clientId, ClientUpdateRequest request, AdminCaller caller, string correlationId, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        CheckRequestId(request.RequestId, errors);
        var kind = ParseKind(request.Kind, errors, required: false);
        if (errors.Count > 0)
        {
            return AdminResponse.Failure(AdminProblem.Invalid(Frozen(errors)));
        }
        var changes = new ClientUpdate
        {
            DisplayName = request.DisplayName,
            Kind = kind,
            RedirectUris = request.RedirectUris,
            PostLogoutRedirectUris = request.PostLogoutRedirectUris,
            Scopes = request.Scopes,
            ExtraGrantTypes = request.GrantTypes,
            BackchannelLogoutUri = request.BackchannelLogoutUri,
            IdTokenSignedResponseAlg = request.IdTokenSignedResponseAlg,
            Disabled = request.Disabled is false ? false : null,
        };
        if (request.Disabled is true)
        {
            return AdminResponse.Failure(AdminProblem.Invalid(new Dictionary<string, string[]>
            {
                ["disabled"] = ["disabled: use POST /admin/v1/clients/{client_id}/disable, which also revokes the client's tokens"],
            }));
        }

        string? secret = null;
        await registrations.EnsureSecretKeyAsync(cancellationToken);
        var response = await idempotency.RunAsync(caller.IdempotencyKey("client-update", request.RequestId ?? correlationId), AdminJson.PayloadHash(new { clientId, request }), async ct =>
        {
            var current = await registrations.FindRegistrationAsync(clientId, ct);
            if (current is null)
            {
                return AdminResponse.Failure(UnknownClient(clientId));
            }
            if (current.Kind == ClientKind.Service)
            {
                return AdminResponse.Failure(ServiceClient(clientId));
            }
            // A public client becoming confidential gets a generated secret (the API never takes one).
            var secretChange = current.Kind == ClientKind.Public && kind is ClientKind.Confidential ? SecretChange.Generate : SecretChange.Keep;
            var change = await registrations.UpdateAsync(clientId, changes, secretChange, null, ct);
            if (Refusal(change, clientId) is { } refusal)
            {
                return AdminResponse.Failure(refusal);
            }
            secret = change.GeneratedSecret;
            Audit(change, caller);
            return AdminResponse.Success(200, new { Client = ClientView.Of(change.Client!) });
        }, cancellationToken);
        return WithSecretOnce(response, secret);
    }

    public async Task<AdminResponse> RotateSecretAsync(string clientId, ClientActionRequest request, AdminCaller caller, string correlationId, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        CheckRequestId(request.RequestId, errors);
        if (errors.Count > 0)
        {
            return AdminResponse.Failure(AdminProblem.Invalid(Frozen(errors)));
        }
        string? secret = null;
        await registrations.EnsureSecretKeyAsync(cancellationToken);
        var response = await idempotency.RunAsync(caller.IdempotencyKey("client-secret", request.RequestId ?? correlationId), AdminJson.PayloadHash(new { clientId, request }), async ct =>
        {
            if (await ServiceOrUnknownAsync(clientId, ct) is { } refused)
            {
                return AdminResponse.Failure(refused);
            }
            var change = await registrations.RotateSecretAsync(clientId, ct);
            if (change.Status == ClientChangeStatus.Invalid)
            {
                return AdminResponse.Failure(AdminProblem.Unprocessable("public_client", $"Client '{clientId}' is public: it has no secret."));
            }
            if (Refusal(change, clientId) is { } refusal)
            {
                return AdminResponse.Failure(refusal);
            }
            secret = change.GeneratedSecret;
            Audit(change, caller);
            return AdminResponse.Success(200, new { Client = ClientView.Of(change.Client!) });
        }, cancellationToken);
        return WithSecretOnce(response, secret);
    }

    public async Task<AdminResponse> DisableAsync(string clientId, ClientActionRequest request, AdminCaller caller, string correlationId, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        CheckRequestId(request.RequestId, errors);
        if (errors.Count > 0)
        {
            return AdminResponse.Failure(AdminProblem.Invalid(Frozen(errors)));
        }
        return await idempotency.RunAsync(caller.IdempotencyKey("client-disable", request.RequestId ?? correlationId), AdminJson.PayloadHash(new { clientId, request }), async ct =>
        {
            if (await ServiceOrUnknownAsync(clientId, ct) is { } refused)
            {
                return AdminResponse.Failure(refused);
            }
            var change = await registrations.DisableAsync(clientId, ct);
            if (Refusal(change, clientId) is { } refusal)
            {
                return AdminResponse.Failure(refusal);
            }
            Audit(change, caller);
            return AdminResponse.Success(200, new { Client = ClientView.Of(change.Client!), TokensRevoked = change.RevokedTokens });
        }, cancellationToken);
    }

    /// <summary>The JSON field a rule of <see cref="ClientRegistration"/> is about.</summary>
    public static string FieldOf(string property) => property switch
    {
        nameof(ClientRegistration.ClientId) => "client_id",
        nameof(ClientRegistration.DisplayName) => "display_name",
        nameof(ClientRegistration.Kind) => "kind",
        nameof(ClientRegistration.ClientSecret) => "client_secret",
        nameof(ClientRegistration.RedirectUris) => "redirect_uris",
        nameof(ClientRegistration.PostLogoutRedirectUris) => "post_logout_redirect_uris",
        nameof(ClientRegistration.Scopes) => "scopes",
        nameof(ClientRegistration.ExtraGrantTypes) => "grant_types",
        nameof(ClientRegistration.BackchannelLogoutUri) => "backchannel_logout_uri",
        nameof(ClientRegistration.IdTokenSignedResponseAlg) => "id_token_signed_response_alg",
        _ => property,
    };

    private static AdminProblem Invalid(IEnumerable<ClientProblem> problems) => AdminProblem.Invalid(problems
        .GroupBy(p => FieldOf(p.Field))
        .ToDictionary(g => g.Key, g => g.Select(p => $"{g.Key}: {p.Message}").Distinct().ToArray(), StringComparer.Ordinal));

    private static AdminProblem? Refusal(ClientChangeResult change, string clientId) => change.Status switch
    {
        ClientChangeStatus.Applied => null,
        ClientChangeStatus.NotFound => UnknownClient(clientId),
        ClientChangeStatus.AlreadyExists => AdminProblem.Conflict("client_exists", $"Client '{clientId}' already exists; change it with PATCH /admin/v1/clients/{clientId}."),
        _ => Invalid(change.Problems),
    };

    private async Task<AdminProblem?> ServiceOrUnknownAsync(string clientId, CancellationToken cancellationToken) =>
        await registrations.FindRegistrationAsync(clientId, cancellationToken) switch
        {
            null => UnknownClient(clientId),
            { Kind: ClientKind.Service } => ServiceClient(clientId),
            _ => null,
        };

    private static AdminProblem UnknownClient(string clientId) => new(404, "unknown_client", "No such client.", $"No client '{Printable(clientId)}' is registered.");

    private static AdminProblem ServiceClient(string clientId) => AdminProblem.Conflict("service_client",
        $"Client '{clientId}' is a service client (it holds an admin scope): service clients are managed by an operator with 'cafconnect clients', not over this API.");

    /// <summary>A path segment echoed in a problem: at most 64 printable characters.</summary>
    private static string Printable(string value)
    {
        var printable = new string(value.Where(c => !char.IsControl(c)).Take(64).ToArray());
        return printable.Length < value.Length ? printable + "…" : printable;
    }

    private void Audit(ClientChangeResult change, AdminCaller caller) =>
        audit.Append(change.Audit! with { Details = caller.AuditDetails + (string.IsNullOrEmpty(change.Audit!.Details) ? string.Empty : "; " + change.Audit.Details) });

    /// <summary>The live answer carries the generated secret; the stored one (replays) never does.</summary>
    private static AdminResponse WithSecretOnce(AdminResponse response, string? secret)
    {
        if (secret is null || response.Replayed || !response.Succeeded || response.Body is not { } body)
        {
            return response;
        }
        var client = body.GetProperty("client");
        return AdminResponse.Success(response.Status, new Dictionary<string, object> { ["client"] = client, ["client_secret"] = secret });
    }

    private static ClientKind? ParseKind(string? kind, Dictionary<string, List<string>> errors, bool required)
    {
        switch (kind)
        {
            case null when !required:
                return null;
            case "confidential":
                return ClientKind.Confidential;
            case "public":
                return ClientKind.Public;
            case "service":
                Add(errors, "kind", "kind: service clients are registered by an operator with 'cafconnect clients add --kind service', not over this API");
                return null;
            default:
                Add(errors, "kind", "kind: 'confidential' or 'public'");
                return null;
        }
    }

    private static void CheckRequestId(string? requestId, Dictionary<string, List<string>> errors)
    {
        if (requestId is not null && !System.Text.RegularExpressions.Regex.IsMatch(requestId, RequestIdPattern))
        {
            Add(errors, "request_id", "request_id: 1 to 100 letters, digits, '.', '_', ':' or '-'");
        }
    }

    private static void Add(Dictionary<string, List<string>> errors, string field, string message)
    {
        if (!errors.TryGetValue(field, out var list))
        {
            errors[field] = list = [];
        }
        list.Add(message);
    }

    private static Dictionary<string, string[]> Frozen(Dictionary<string, List<string>> errors) =>
        errors.ToDictionary(e => e.Key, e => e.Value.ToArray(), StringComparer.Ordinal);
}
