using System.Security.Cryptography;
using System.Text.RegularExpressions;
using CafConnect.Infrastructure.Audit;
using CafConnect.Infrastructure.Clients;
using OpenIddict.Abstractions;

namespace CafConnect.Application.Clients;

/// <summary>
/// A refusal of a client change, on one field of <see cref="ClientRegistration"/> (its property name: <c>ClientId</c>,
/// <c>RedirectUris</c>…): the CLI names its option, the admin API its JSON field.
/// </summary>
public sealed record ClientProblem(string Field, string Message);

public enum ClientChangeStatus
{
    Applied,
    /// <summary>The registration breaks a rule (<see cref="ClientChangeResult.Problems"/>); nothing was changed.</summary>
    Invalid,
    NotFound,
    AlreadyExists,
}

/// <summary>
/// The outcome of a change: the client as now registered, the secret generated for it (shown once, never stored in
/// clear: only OpenIddict's hash is), and the audit line the caller appends to its unit of work.
/// </summary>
public sealed record ClientChangeResult(ClientChangeStatus Status, IReadOnlyList<ClientProblem> Problems)
{
    public ClientSummary? Client { get; init; }
    public string? GeneratedSecret { get; init; }
    public AuditEntry? Audit { get; init; }

    /// <summary>For <see cref="ClientRegistrations.DisableAsync"/>: the tokens revoked with it.</summary>
    public long RevokedTokens { get; init; }

    public bool Applied => Status == ClientChangeStatus.Applied;

    public static ClientChangeResult Invalid(IReadOnlyList<ClientProblem> problems) => new(ClientChangeStatus.Invalid, problems);
}

/// <summary>What to do with a confidential or service client's secret.</summary>
public enum SecretChange
{
    /// <summary>Keep the stored one (only its hash is stored, so it cannot be read back).</summary>
    Keep,
    /// <summary>Generate 256 random bits, returned once in <see cref="ClientChangeResult.GeneratedSecret"/>.</summary>
    Generate,
    /// <summary>Use the one given (CLI <c>--secret</c>; the admin API never takes a secret from the caller).</summary>
    Given,
}

/// <summary>
/// What an update changes: each property given (non-null) replaces the current value (a list replaces the whole
/// list), each one left null keeps it.
/// </summary>
public sealed record ClientUpdate
{
    public string? DisplayName { get; init; }
    public ClientKind? Kind { get; init; }
    public IReadOnlyList<string>? RedirectUris { get; init; }
    public IReadOnlyList<string>? PostLogoutRedirectUris { get; init; }
    public IReadOnlyList<string>? Scopes { get; init; }
    public IReadOnlyList<string>? ExtraGrantTypes { get; init; }
    public string? BackchannelLogoutUri { get; init; }
    /// <summary><c>RS256</c> or <c>ES256</c> (<c>RS256</c> returns the client to the default).</summary>
    public string? IdTokenSignedResponseAlg { get; init; }
    /// <summary>false re-enables a disabled client; true is <see cref="ClientRegistrations.DisableAsync"/>'s (it also revokes).</summary>
    public bool? Disabled { get; init; }
}

/// <summary>
/// The one set of rules for registering relying parties, used by <c>cafconnect clients</c> and by
/// <c>/admin/v1/clients</c>: <see cref="ClientRegistrationValidator"/> (exact redirect URIs, https outside loopback, no
/// wildcard or fragment, scopes and grants per kind), a client id registered once, a secret generated from the OS's
/// CSPRNG and kept only as OpenIddict's hash (through <see cref="IOpenIddictApplicationManager"/>, whatever it hashes
/// with). Each change returns its audit line; the caller appends it and commits with its unit of work (the CLI's
/// <c>AuditedAsync</c>, the admin API's idempotent transaction).
/// </summary>
public sealed partial class ClientRegistrations(ClientAdministration clients, IOpenIddictAuthorizationManager authorizations, IOpenIddictTokenManager tokens,
    ClientSecretKeys secretKeys, CafConnect.Infrastructure.Keys.TokenKeyStore keyStore)
{
    /// <summary>
    /// Creates the server key of generated secrets' keyed hash (decision 28) if it does not exist yet. Call it before the
    /// change's transaction: created inside it, on SQLite, the key's own write would wait for the transaction's lock.
    /// </summary>
    public async Task EnsureSecretKeyAsync(CancellationToken cancellationToken) => await secretKeys.ActiveAsync(keyStore, cancellationToken);

    private static readonly ClientRegistrationValidator Validator = new();

    /// <summary>Stands for a kept secret while the rest of a registration is validated (the stored one is only a hash).</summary>
    private static readonly string KeptSecretPlaceholder = new('x', 32);

    /// <summary>256 bits from the OS's CSPRNG, base64url: 43 characters.</summary>
    public static string NewSecret() => System.Buffers.Text.Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));

    public Task<IReadOnlyList<ClientSummary>> ListAsync(CancellationToken cancellationToken) => clients.ListAsync(cancellationToken);

    public async Task<ClientSummary?> FindAsync(string clientId, CancellationToken cancellationToken) =>
        (await clients.ListAsync(cancellationToken)).SingleOrDefault(c => string.Equals(c.ClientId, clientId, StringComparison.Ordinal));

    public Task<ClientRegistration?> FindRegistrationAsync(string clientId, CancellationToken cancellationToken) => clients.FindAsync(clientId, cancellationToken);

    /// <summary>The rules, without the store: every problem of a registration, each on its field.</summary>
    public static List<ClientProblem> Validate(ClientRegistration registration) =>
        Validator.Validate(registration).Errors
            .Select(e => new ClientProblem(IndexSuffix().Replace(e.PropertyName ?? string.Empty, string.Empty), e.ErrorMessage))
            .ToList();

    /// <param name="secret">
    /// <see cref="SecretChange.Generate"/> or <see cref="SecretChange.Given"/> (in <paramref name="registration"/>) for a
    /// client that keeps one; <see cref="SecretChange.Keep"/> for none (a public client).
    /// </param>
    public async Task<ClientChangeResult> AddAsync(ClientRegistration registration, SecretChange secret, CancellationToken cancellationToken)
    {
        // A secret asked for a public client is generated anyway, for the validator to refuse ("a public client has no secret").
        var generated = secret == SecretChange.Generate ? NewSecret() : null;
        var toAdd = registration with { ClientSecret = generated ?? (secret == SecretChange.Given ? registration.ClientSecret : null), Disabled = false };
        var problems = Validate(toAdd);
        if (await clients.ExistsAsync(toAdd.ClientId, cancellationToken))
        {
            if (problems.Count == 0)
            {
                return new(ClientChangeStatus.AlreadyExists, [new(nameof(ClientRegistration.ClientId), $"client '{toAdd.ClientId}' already exists")]);
            }
            problems.Add(new(nameof(ClientRegistration.ClientId), $"client '{toAdd.ClientId}' already exists"));
        }
        if (problems.Count > 0)
        {
            return ClientChangeResult.Invalid(problems);
        }

        await clients.AddAsync(toAdd, cancellationToken);
        return new(ClientChangeStatus.Applied, [])
        {
            Client = await FindAsync(toAdd.ClientId, cancellationToken),
            GeneratedSecret = generated,
            Audit = new AuditEntry(AuditEventTypes.ClientAdded, "success", ClientId: toAdd.ClientId,
                Details: AuditDetails(toAdd, toAdd.Kind == ClientKind.Public ? "none" : generated is null ? "given" : "generated")),
        };
    }

    /// <param name="givenSecret">With <see cref="SecretChange.Given"/> only.</param>
    public async Task<ClientChangeResult> UpdateAsync(string clientId, ClientUpdate changes, SecretChange secret, string? givenSecret, CancellationToken cancellationToken)
    {
        var current = await clients.FindAsync(clientId, cancellationToken);
        if (current is null)
        {
            return new(ClientChangeStatus.NotFound, [new(nameof(ClientRegistration.ClientId), $"client '{clientId}' does not exist")]);
        }
        var kind = changes.Kind ?? current.Kind;
        var generated = secret == SecretChange.Generate ? NewSecret() : null;
        var updated = current with
        {
            DisplayName = changes.DisplayName ?? current.DisplayName,
            Kind = kind,
            ClientSecret = generated ?? (secret == SecretChange.Given ? givenSecret : null),
            RedirectUris = changes.RedirectUris ?? current.RedirectUris,
            PostLogoutRedirectUris = changes.PostLogoutRedirectUris ?? current.PostLogoutRedirectUris,
            Scopes = changes.Scopes ?? current.Scopes,
            ExtraGrantTypes = changes.ExtraGrantTypes ?? current.ExtraGrantTypes,
            BackchannelLogoutUri = changes.BackchannelLogoutUri ?? current.BackchannelLogoutUri,
            IdTokenSignedResponseAlg = changes.IdTokenSignedResponseAlg ?? current.IdTokenSignedResponseAlg,
            Disabled = changes.Disabled ?? current.Disabled,
        };

        var keepSecret = updated.Kind != ClientKind.Public && string.IsNullOrEmpty(updated.ClientSecret);
        // The stored secret is only a hash: validate the rest of the registration as if it were given.
        var problems = Validate(keepSecret ? updated with { ClientSecret = KeptSecretPlaceholder } : updated);
        if (keepSecret && current.Kind == ClientKind.Public)
        {
            // A public client has no secret to keep: it would be stored as a confidential client without one.
            problems.Insert(0, new(nameof(ClientRegistration.ClientSecret), "a public client becoming confidential needs a secret"));
        }
        if (problems.Count > 0)
        {
            return ClientChangeResult.Invalid(problems);
        }

        await clients.UpdateAsync(updated, cancellationToken);
        return new(ClientChangeStatus.Applied, [])
        {
            Client = await FindAsync(clientId, cancellationToken),
            GeneratedSecret = generated,
            Audit = new AuditEntry(AuditEventTypes.ClientUpdated, "success", ClientId: clientId,
                Details: AuditDetails(updated, updated.Kind == ClientKind.Public ? "none" : keepSecret ? "kept" : generated is null ? "given" : "generated")),
        };
    }

    /// <summary>A new generated secret for a confidential or service client; the old one stops working at once.</summary>
    public async Task<ClientChangeResult> RotateSecretAsync(string clientId, CancellationToken cancellationToken)
    {
        var current = await clients.FindAsync(clientId, cancellationToken);
        if (current is null)
        {
            return new(ClientChangeStatus.NotFound, [new(nameof(ClientRegistration.ClientId), $"client '{clientId}' does not exist")]);
        }
        if (current.Kind == ClientKind.Public)
        {
            return ClientChangeResult.Invalid([new(nameof(ClientRegistration.ClientSecret), "a public client has no secret")]);
        }
        var result = await UpdateAsync(clientId, new ClientUpdate(), SecretChange.Generate, null, cancellationToken);
        return result.Applied
            ? result with { Audit = new AuditEntry(AuditEventTypes.ClientSecretRotated, "success", ClientId: clientId, Details: "secret=generated") }
            : result;
    }

    /// <summary>
    /// Refused at every endpoint from now on, and every authorization and token it holds revoked; the registration stays
    /// (an update with <c>Disabled = false</c> brings it back, with no token).
    /// </summary>
    public async Task<ClientChangeResult> DisableAsync(string clientId, CancellationToken cancellationToken)
    {
        var result = await UpdateAsync(clientId, new ClientUpdate { Disabled = true }, SecretChange.Keep, null, cancellationToken);
        if (!result.Applied)
        {
            return result;
        }
        var revoked = await clients.RevokeEverythingOfAsync(clientId, authorizations, tokens, cancellationToken);
        return result with
        {
            RevokedTokens = revoked,
            Audit = new AuditEntry(AuditEventTypes.ClientDisabled, "success", ClientId: clientId, Details: $"tokens_revoked={revoked}"),
        };
    }

    public async Task<ClientChangeResult> RemoveAsync(string clientId, CancellationToken cancellationToken) =>
        await clients.RemoveAsync(clientId, cancellationToken)
            ? new(ClientChangeStatus.Applied, []) { Audit = new AuditEntry(AuditEventTypes.ClientRemoved, "success", ClientId: clientId) }
            : new(ClientChangeStatus.NotFound, [new(nameof(ClientRegistration.ClientId), $"client '{clientId}' does not exist")]);

    private static string AuditDetails(ClientRegistration registration, string secret) =>
        $"kind={registration.Kind.ToString().ToLowerInvariant()}; secret={secret}; "
        + $"redirect_uris={string.Join(' ', registration.RedirectUris)}; "
        + $"post_logout_redirect_uris={string.Join(' ', registration.PostLogoutRedirectUris)}; "
        + $"scopes={string.Join(' ', registration.Scopes)}"
        + (registration.ExtraGrantTypes.Count == 0 ? string.Empty : $"; grant_types={string.Join(' ', registration.ExtraGrantTypes)}")
        + (registration.BackchannelLogoutUri is null ? string.Empty : $"; backchannel_logout_uri={registration.BackchannelLogoutUri}")
        + (registration.IdTokenSignedResponseAlg is null ? string.Empty : $"; id_token_signed_response_alg={registration.IdTokenSignedResponseAlg}")
        + (registration.Disabled ? "; disabled=true" : string.Empty);

    [GeneratedRegex(@"\[\d+\]$")]
    private static partial Regex IndexSuffix();
}
