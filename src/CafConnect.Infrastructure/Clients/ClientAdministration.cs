using System.Text.Json;
using CafConnect.Infrastructure.Persistence;
using FluentValidation;
using Microsoft.EntityFrameworkCore;
using OpenIddict.Abstractions;
using OpenIddict.EntityFrameworkCore.Models;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace CafConnect.Infrastructure.Clients;

/// <summary>A registered client as listed by operators (never its secret: only its hash is stored).</summary>
public sealed record ClientSummary(string ClientId, string DisplayName, string Kind, IReadOnlyList<string> RedirectUris, IReadOnlyList<string> PostLogoutRedirectUris, IReadOnlyList<string> Scopes,
    IReadOnlyList<string> ExtraGrantTypes)
{
    public string? BackchannelLogoutUri { get; init; }

    /// <summary><c>ES256</c> when the client registered it; null: RS256.</summary>
    public string? IdTokenSignedResponseAlg { get; init; }

    /// <summary>Disabled (admin API): the registration is kept, but OpenIddict refuses the client at every endpoint.</summary>
    public bool Disabled { get; init; }
}

/// <summary>Adds, updates, removes and lists relying parties through OpenIddict's application manager.</summary>
public sealed class ClientAdministration(IOpenIddictApplicationManager applications, CafConnectDbContext db)
{
    public const string BackchannelLogoutUriProperty = "backchannel_logout_uri";

    /// <summary>The algorithm of the client's ID tokens (docs/decisions.md #33), absent for RS256.</summary>
    public const string IdTokenSignedResponseAlgProperty = "id_token_signed_response_alg";

    /// <summary>Set on a disabled client; its endpoint permissions are then withheld (see <see cref="ToDescriptor"/>).</summary>
    public const string DisabledProperty = "cafconnect_disabled";
    private static readonly ClientRegistrationValidator Validator = new();

    public async Task<IReadOnlyList<ClientSummary>> ListAsync(CancellationToken cancellationToken = default)
    {
        var result = new List<ClientSummary>();
        await foreach (var application in applications.ListAsync(cancellationToken: cancellationToken))
        {
            var descriptor = new OpenIddictApplicationDescriptor();
            await applications.PopulateAsync(descriptor, application, cancellationToken);
            result.Add(new ClientSummary(
                descriptor.ClientId!,
                descriptor.DisplayName ?? string.Empty,
                KindOf(descriptor) == ClientKind.Service ? "service" : descriptor.ClientType ?? string.Empty,
                descriptor.RedirectUris.Select(u => u.OriginalString).Order().ToList(),
                descriptor.PostLogoutRedirectUris.Select(u => u.OriginalString).Order().ToList(),
                descriptor.Permissions.Where(p => p.StartsWith(Permissions.Prefixes.Scope, StringComparison.Ordinal))
                    .Select(p => p[Permissions.Prefixes.Scope.Length..]).Order().ToList(),
                ExtraGrantTypesOf(descriptor))
            {
                BackchannelLogoutUri = BackchannelLogoutUriOf(descriptor),
                IdTokenSignedResponseAlg = IdTokenSignedResponseAlgOf(descriptor),
                Disabled = IsDisabled(descriptor),
            });
        }
        return result.OrderBy(c => c.ClientId, StringComparer.Ordinal).ToList();
    }

    public async Task<bool> ExistsAsync(string clientId, CancellationToken cancellationToken = default) =>
        await applications.FindByClientIdAsync(clientId, cancellationToken) is not null;

    public async Task AddAsync(ClientRegistration registration, CancellationToken cancellationToken = default)
    {
        await Validator.ValidateAndThrowAsync(registration, cancellationToken);
        if (await ExistsAsync(registration.ClientId, cancellationToken))
        {
            throw new InvalidOperationException($"client '{registration.ClientId}' already exists");
        }
        await applications.CreateAsync(ToDescriptor(registration), cancellationToken);
    }

    /// <summary>Replaces the registration; a confidential client keeps its secret when none is given.</summary>
    public async Task UpdateAsync(ClientRegistration registration, CancellationToken cancellationToken = default)
    {
        var application = await applications.FindByClientIdAsync(registration.ClientId, cancellationToken)
            ?? throw new InvalidOperationException($"client '{registration.ClientId}' does not exist");
        var keepSecret = registration.Kind != ClientKind.Public && string.IsNullOrEmpty(registration.ClientSecret);
        var toValidate = keepSecret ? registration with { ClientSecret = new string('x', 24) } : registration;
        await Validator.ValidateAndThrowAsync(toValidate, cancellationToken);

        var descriptor = ToDescriptor(registration);
        if (registration.Kind != ClientKind.Public)
        {
            // PopulateAsync(application, descriptor) copies the secret as is, unhashed: hand it the stored hash
            // (null would erase the secret, a clear-text one would be saved before being hashed below).
            var stored = new OpenIddictApplicationDescriptor();
            await applications.PopulateAsync(stored, application, cancellationToken);
            descriptor.ClientSecret = stored.ClientSecret;
        }
        await applications.PopulateAsync(application, descriptor, cancellationToken);
        if (!keepSecret && registration.Kind != ClientKind.Public && registration.ClientSecret is not null)
        {
            // UpdateAsync(application, secret) hashes the new secret, then saves.
            await applications.UpdateAsync(application, registration.ClientSecret, cancellationToken);
        }
        else
        {
            await applications.UpdateAsync(application, cancellationToken);
        }
    }

    /// <summary>
    /// Removes the client with its tokens and authorizations, even while it is requesting tokens (docs/decisions.md #51).
    /// OpenIddict's deletion lists the client's tokens, deletes them, then the client's row: a token inserted between the
    /// list and the delete still references the row, and on PostgreSQL the delete failed on that foreign key (23503).
    /// Here, in one transaction (the caller's when it has one: the CLI's audited change, the admin API's idempotent
    /// request), the client's row is locked first: on PostgreSQL <c>SELECT … FOR UPDATE</c>, which a token insert's
    /// foreign-key check (<c>FOR KEY SHARE</c> on that row) waits for; on SQL Server an exclusive row lock; on SQLite
    /// nothing, its writers take turns. Then the tokens and authorizations are deleted by the statements themselves
    /// (every row committed by then, none listed beforehand), and the row through OpenIddict's manager (its caches and
    /// the change announcement, decision 45). A grant that waited on the lock then fails on the foreign key and is
    /// answered <c>invalid_client</c> (decision 42); nothing of it is stored.
    /// </summary>
    public async Task<bool> RemoveAsync(string clientId, CancellationToken cancellationToken = default)
    {
        if (db.Database.CurrentTransaction is not null)
        {
            return await RemoveInTransactionAsync(clientId, cancellationToken);
        }
        return await db.InTransactionAsync(ct => RemoveInTransactionAsync(clientId, ct), cancellationToken);
    }

    private async Task<bool> RemoveInTransactionAsync(string clientId, CancellationToken cancellationToken)
    {
        var application = await applications.FindByClientIdAsync(clientId, cancellationToken);
        var id = application is null ? null : await applications.GetIdAsync(application, cancellationToken);
        if (id is null || !await LockApplicationRowAsync(id, cancellationToken))
        {
            // Gone meanwhile (another operator, another instance): nothing to remove.
            return false;
        }
        // Tokens of the client, and tokens of its authorizations (OpenIddict's deletion removes both), then the authorizations.
        await db.Set<OpenIddictEntityFrameworkCoreToken>()
            .Where(t => t.Application!.Id == id || t.Authorization!.Application!.Id == id)
            .ExecuteDeleteAsync(cancellationToken);
        await db.Set<OpenIddictEntityFrameworkCoreAuthorization>().Where(a => a.Application!.Id == id).ExecuteDeleteAsync(cancellationToken);
        await applications.DeleteAsync(application!, cancellationToken);
        return true;
    }

    /// <summary>Locks the application row until the transaction ends (see <see cref="RemoveAsync"/>); false when it no longer exists.</summary>
    private Task<bool> LockApplicationRowAsync(string id, CancellationToken cancellationToken) =>
        RowLocks.LockAsync(db, typeof(OpenIddictEntityFrameworkCoreApplication), [(nameof(OpenIddictEntityFrameworkCoreApplication.Id), id)], RowLockMode.Update, cancellationToken);

    public async Task<ClientRegistration?> FindAsync(string clientId, CancellationToken cancellationToken = default)
    {
        var application = await applications.FindByClientIdAsync(clientId, cancellationToken);
        if (application is null)
        {
            return null;
        }
        var descriptor = new OpenIddictApplicationDescriptor();
        await applications.PopulateAsync(descriptor, application, cancellationToken);
        return new ClientRegistration
        {
            ClientId = descriptor.ClientId!,
            DisplayName = descriptor.DisplayName ?? descriptor.ClientId!,
            Kind = KindOf(descriptor),
            RedirectUris = descriptor.RedirectUris.Select(u => u.OriginalString).ToList(),
            PostLogoutRedirectUris = descriptor.PostLogoutRedirectUris.Select(u => u.OriginalString).ToList(),
            Scopes = descriptor.Permissions.Where(p => p.StartsWith(Permissions.Prefixes.Scope, StringComparison.Ordinal))
                .Select(p => p[Permissions.Prefixes.Scope.Length..]).ToList(),
            BackchannelLogoutUri = BackchannelLogoutUriOf(descriptor),
            IdTokenSignedResponseAlg = IdTokenSignedResponseAlgOf(descriptor),
            ExtraGrantTypes = ExtraGrantTypesOf(descriptor),
            Disabled = IsDisabled(descriptor),
        };
    }

    /// <summary>
    /// Revokes every authorization and token the client holds (a disabled client's refresh tokens stop at once, its access
    /// tokens at their next check against the store). Saves through OpenIddict's managers. Returns how many tokens.
    /// </summary>
    public async Task<long> RevokeEverythingOfAsync(string clientId, IOpenIddictAuthorizationManager authorizations, IOpenIddictTokenManager tokens, CancellationToken cancellationToken = default)
    {
        var application = await applications.FindByClientIdAsync(clientId, cancellationToken)
            ?? throw new InvalidOperationException($"client '{clientId}' does not exist");
        var id = await applications.GetIdAsync(application, cancellationToken)
            ?? throw new InvalidOperationException($"client '{clientId}' has no identifier");
        await authorizations.RevokeByApplicationIdAsync(id, cancellationToken);
        return await tokens.RevokeByApplicationIdAsync(id, cancellationToken);
    }

    private static string? BackchannelLogoutUriOf(OpenIddictApplicationDescriptor descriptor) =>
        descriptor.Properties.TryGetValue(BackchannelLogoutUriProperty, out var uri) ? uri.GetString() : null;

    private static string? IdTokenSignedResponseAlgOf(OpenIddictApplicationDescriptor descriptor) =>
        descriptor.Properties.TryGetValue(IdTokenSignedResponseAlgProperty, out var alg) ? alg.GetString() : null;

    private static bool IsDisabled(OpenIddictApplicationDescriptor descriptor) =>
        descriptor.Properties.TryGetValue(DisabledProperty, out var disabled) && disabled.ValueKind == JsonValueKind.True;

    private static List<string> ExtraGrantTypesOf(OpenIddictApplicationDescriptor descriptor) =>
        descriptor.Permissions.Where(p => p.StartsWith(Permissions.Prefixes.GrantType, StringComparison.Ordinal))
            .Select(p => p[Permissions.Prefixes.GrantType.Length..]).Where(CafGrantTypes.Registrable.Contains).Order().ToList();

    /// <summary>A service client is the one allowed the client-credentials grant (and nothing a person uses).</summary>
    private static ClientKind KindOf(OpenIddictApplicationDescriptor descriptor) =>
        descriptor.ClientType == ClientTypes.Public ? ClientKind.Public
        : descriptor.Permissions.Contains(Permissions.GrantTypes.ClientCredentials) ? ClientKind.Service
        : ClientKind.Confidential;

    internal static OpenIddictApplicationDescriptor ToDescriptor(ClientRegistration registration)
    {
        var descriptor = ToEnabledDescriptor(registration);
        if (registration.Disabled)
        {
            // OpenIddict checks a client's endpoint permissions at every request (token, authorization, end-session,
            // revocation, introspection): without any, the client is refused everywhere (unauthorized_client), while its
            // grants, scopes and URIs stay on record for the operators and a later re-enabling.
            foreach (var endpoint in descriptor.Permissions.Where(p => p.StartsWith(Permissions.Prefixes.Endpoint, StringComparison.Ordinal)).ToList())
            {
                descriptor.Permissions.Remove(endpoint);
            }
            descriptor.Properties[DisabledProperty] = JsonSerializer.SerializeToElement(true);
        }
        return descriptor;
    }

    private static OpenIddictApplicationDescriptor ToEnabledDescriptor(ClientRegistration registration)
    {
        if (registration.Kind == ClientKind.Service)
        {
            // Machine to machine: the token endpoint with its secret, for the admin scope; no authorization endpoint,
            // no refresh token, no redirect URI, so it can never obtain a person's token.
            var service = new OpenIddictApplicationDescriptor
            {
                ClientId = registration.ClientId,
                ClientSecret = registration.ClientSecret,
                ClientType = ClientTypes.Confidential,
                DisplayName = registration.DisplayName,
                Permissions = { Permissions.Endpoints.Token, Permissions.GrantTypes.ClientCredentials },
                // Never used without the authorization endpoint; set anyway so that no kind of client is ever
                // registered without it (the server requires PKCE too: either requirement alone still holds).
                Requirements = { Requirements.Features.ProofKeyForCodeExchange },
            };
            foreach (var scope in registration.Scopes.Distinct(StringComparer.Ordinal))
            {
                service.Permissions.Add(Permissions.Prefixes.Scope + scope);
            }
            return service;
        }

        var descriptor = new OpenIddictApplicationDescriptor
        {
            ClientId = registration.ClientId,
            ClientSecret = registration.Kind == ClientKind.Confidential ? registration.ClientSecret : null,
            ClientType = registration.Kind == ClientKind.Confidential ? ClientTypes.Confidential : ClientTypes.Public,
            DisplayName = registration.DisplayName,
            // Every client here is the Caf's own service: no consent screen.
            ConsentType = ConsentTypes.Implicit,
            Permissions =
            {
                Permissions.Endpoints.Authorization,
                Permissions.Endpoints.Token,
                Permissions.Endpoints.EndSession,
                Permissions.Endpoints.Revocation,
                Permissions.GrantTypes.AuthorizationCode,
                Permissions.GrantTypes.RefreshToken,
                Permissions.ResponseTypes.Code,
            },
            Requirements = { Requirements.Features.ProofKeyForCodeExchange },
        };
        if (registration.Kind == ClientKind.Confidential)
        {
            descriptor.Permissions.Add(Permissions.Endpoints.Introspection);
        }
        foreach (var grant in registration.ExtraGrantTypes.Distinct(StringComparer.Ordinal))
        {
            descriptor.Permissions.Add(Permissions.Prefixes.GrantType + grant);
        }
        foreach (var scope in registration.Scopes.Distinct(StringComparer.Ordinal))
        {
            descriptor.Permissions.Add(Permissions.Prefixes.Scope + scope);
        }
        foreach (var uri in registration.RedirectUris)
        {
            descriptor.RedirectUris.Add(new Uri(uri, UriKind.Absolute));
        }
        foreach (var uri in registration.PostLogoutRedirectUris)
        {
            descriptor.PostLogoutRedirectUris.Add(new Uri(uri, UriKind.Absolute));
        }
        if (registration.BackchannelLogoutUri is not null)
        {
            descriptor.Properties[BackchannelLogoutUriProperty] = JsonSerializer.SerializeToElement(registration.BackchannelLogoutUri);
        }
        // RS256 is the default: only ES256 is kept, so that "RS256" and "not registered" are one state.
        if (registration.IdTokenSignedResponseAlg == Keys.TokenSigning.Es256)
        {
            descriptor.Properties[IdTokenSignedResponseAlgProperty] = JsonSerializer.SerializeToElement(registration.IdTokenSignedResponseAlg);
        }
        return descriptor;
    }
}
