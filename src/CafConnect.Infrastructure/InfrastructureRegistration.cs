using CafConnect.Infrastructure.Accounts;
using CafConnect.Infrastructure.Audit;
using CafConnect.Infrastructure.Clients;
using CafConnect.Infrastructure.Keys;
using CafConnect.Infrastructure.Notifications;
using CafConnect.Infrastructure.Persistence;
using CafConnect.Infrastructure.Security;
using CafConnect.Infrastructure.Throttling;
using CafConnect.Infrastructure.Verification;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace CafConnect.Infrastructure;

public static class InfrastructureRegistration
{
    /// <summary>
    /// Everything the host and the CLI share: the store, OpenIddict's core managers on it, hashing, token keys,
    /// client administration, the audit trail, verification codes and the notification outbox. The OpenIddict server
    /// and the outbox dispatcher (<see cref="NotificationsRegistration.AddOutboxDispatcher"/>) are added by the host only.
    /// </summary>
    public static OpenIddictBuilder AddCafConnectInfrastructure(this IServiceCollection services, IConfiguration configuration, string contentRoot)
    {
        var storage = StorageSettings.FromConfiguration(configuration, contentRoot);
        services.AddCafConnectStorage(storage);
        services.AddCafConnectKeyRingProtection(configuration);
        services.TryAddSingleton(TimeProvider.System);
        // One meter for every metric of the product (docs/operations.md); the host exports it when configured.
        services.AddMetrics();
        services.TryAddSingleton<Observability.CafConnectMetrics>();

        var argon2 = configuration.GetSection("Security:Argon2id").Get<Argon2idOptions>() ?? new Argon2idOptions();
        services.AddSingleton(argon2);
        services.AddSingleton<ISecretHasher, Argon2idSecretHasher>();
        // Legacy secret formats the import may keep as they are (docs/import.md, "Adding a legacy format").
        services.AddSingleton<ILegacySecretVerifier, Pbkdf2Sha256LegacySecretVerifier>();
        services.AddSingleton<LegacySecretVerifiers>();

        services.AddScoped<TokenKeyStore>();
        // Read when first needed, so that a bad value fails what signs (the host's start, a logout), not every CLI command.
        services.AddSingleton(_ => new TokenSigningSettings(TokenKeySettings.PublicationDelay(configuration)));
        services.AddScoped<PersonDirectory>();
        services.AddScoped<Households.DelegationService>();
        services.AddScoped<Imports.AccountImporter>();
        services.AddScoped<Flows.FlowStore>();
        services.AddScoped<Terms.TermsOfUseCatalog>();
        services.AddScoped<ClientAdministration>();
        // Client rows shared across requests for 5 s, evicted by this process's changes (docs/decisions.md #39).
        services.AddSingleton<ApplicationRowSnapshots>();
        // Every change of a client row evicts here and, with Redis, on every host instance (docs/decisions.md #45).
        if (ClientChangesChannel.FromConfiguration(configuration) is { } clientChangesChannel)
        {
            services.AddSingleton(clientChangesChannel);
        }
        services.AddSingleton<ClientRowChanges>();
        // ...except for the requests that send a browser where the registration says (docs/decisions.md #44).
        services.AddScoped<ApplicationRowReads>();
        services.AddScoped<OpenIddict.Abstractions.IOpenIddictApplicationCache<OpenIddict.EntityFrameworkCore.Models.OpenIddictEntityFrameworkCoreApplication>, SharedApplicationCache>();
        services.AddSingleton<ClientSecretKeys>();
        services.AddScoped<AuditTrail>();
        services.AddScoped<TokenWriteBatch>();
        services.AddScoped<Sessions.SessionRegistry>();
        services.AddScoped<Sessions.SessionsEndedByTheServer>();
        services.AddScoped<Incidents.IncidentRevocation>();
        Sessions.BackchannelLogoutRegistration.AddCafConnectBackchannelLogout(services, configuration);
        // Same section as the login's Accounts:PasswordExpiry, so a provisional password's letter and its expiry agree.
        services.TryAddSingleton(configuration.GetSection("Accounts:PasswordExpiry").Get<Domain.Passwords.PasswordExpiryOptions>() ?? new Domain.Passwords.PasswordExpiryOptions());
        services.TryAddSingleton<IAuditContextAccessor>(new FixedAuditContextAccessor(AuditContext.None));
        services.AddCafConnectVerification(configuration, storage.Provider);
        services.AddCafConnectThrottling(configuration, storage.Provider);
        services.AddCafConnectNotifications(configuration, contentRoot);

        return services.AddOpenIddict()
            .AddCore(options =>
            {
                options.UseEntityFrameworkCore().UseDbContext<CafConnectDbContext>();
                // The token rows of a grant in one write with its audit line, while the host's batch is open (docs/decisions.md #34).
                options.ReplaceTokenStore<OpenIddict.EntityFrameworkCore.Models.OpenIddictEntityFrameworkCoreToken, BatchedTokenStore>(ServiceLifetime.Scoped);
                // Time-ordered ids for authorizations as for tokens (TimeOrderedIds).
                options.ReplaceAuthorizationStore<OpenIddict.EntityFrameworkCore.Models.OpenIddictEntityFrameworkCoreAuthorization, TimeOrderedAuthorizationStore>(ServiceLifetime.Scoped);
                // Generated client secrets as a keyed hash, others with OpenIddict's PBKDF2 (docs/decisions.md #28).
                options.ReplaceApplicationManager(typeof(CafConnectApplicationManager<>));
            });
    }
}
