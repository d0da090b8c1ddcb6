using CafConnect.Infrastructure.Clients;
using CafConnect.Infrastructure.Persistence;
using CafConnect.Infrastructure.Security;
using CafConnect.Infrastructure.Verification;

namespace CafConnect.IdP.Operations;

/// <summary>
/// Configuration that must stop the host before it serves anyone, each with a message that says what to set. All
/// problems are reported at once. Outside Development the production rules apply; Development (the embedded demo and
/// the tests) keeps its loopback http clients and cheap test hashes.
/// </summary>
public static class StartupChecks
{
    /// <summary>OWASP's minimum for Argon2id (Password Storage Cheat Sheet): 19 MiB, 2 passes, 1 lane.</summary>
    public const int OwaspMinimumMemoryKiB = 19 * 1024;
    public const int OwaspMinimumIterations = 2;

    public static IReadOnlyList<string> Problems(IConfiguration configuration, IHostEnvironment environment, StorageSettings storage)
    {
        var problems = new List<string>();
        if (storage.Provider != StorageProvider.Sqlite && string.IsNullOrWhiteSpace(configuration[VerificationRegistration.RedisConfigurationKey]))
        {
            problems.Add($"{VerificationRegistration.RedisConfigurationKey} is required with Storage:Provider={storage.Provider}: verification codes and " +
                "login throttling must be shared by every instance (e.g. \"redis.internal:6379,password=…,ssl=true\").");
        }

        if (environment.IsDevelopment())
        {
            return problems;
        }

        if (string.IsNullOrWhiteSpace(configuration["Oidc:Issuer"]))
        {
            problems.Add("Oidc:Issuer is required outside Development (e.g. \"https://connexion.caf.fr/\"): every instance must issue tokens under the same " +
                "issuer, never one taken from a request's Host header.");
        }
        else if (!Uri.TryCreate(configuration["Oidc:Issuer"], UriKind.Absolute, out var issuer) || issuer.Scheme != Uri.UriSchemeHttps)
        {
            problems.Add($"Oidc:Issuer must be an absolute https URL outside Development (got '{configuration["Oidc:Issuer"]}').");
        }

        var argon2 = configuration.GetSection("Security:Argon2id").Get<Argon2idOptions>() ?? new Argon2idOptions();
        if (argon2.MemoryKiB < OwaspMinimumMemoryKiB || argon2.Iterations < OwaspMinimumIterations)
        {
            problems.Add($"Security:Argon2id is below the OWASP minimum outside Development: MemoryKiB={argon2.MemoryKiB}, Iterations={argon2.Iterations}; " +
                $"use at least MemoryKiB={OwaspMinimumMemoryKiB} and Iterations={OwaspMinimumIterations}.");
        }

        foreach (var client in configuration.GetSection("Clients").Get<List<ClientRegistration>>() ?? [])
        {
            foreach (var uri in client.RedirectUris.Concat(client.PostLogoutRedirectUris))
            {
                if (uri.StartsWith("http:", StringComparison.OrdinalIgnoreCase))
                {
                    problems.Add($"Clients: client '{client.ClientId}' has the plain http redirect URI '{uri}'; outside Development every redirect URI " +
                        "of a configured client must be https (or a native app's private-use scheme).");
                }
            }
        }

        if (!KeyRingProtection.IsConfigured(configuration))
        {
            problems.Add($"{KeyRingProtection.CertificatePathKey} (and {KeyRingProtection.CertificatePasswordKey}) is required outside Development: the Data " +
                "Protection key ring, which protects session cookies and the token keys in the store, must be encrypted at rest with an X.509 certificate.");
        }
        return problems;
    }

    /// <summary>Throws one exception listing every problem (the host then exits before listening).</summary>
    public static void ThrowIfAny(IConfiguration configuration, IHostEnvironment environment, StorageSettings storage)
    {
        var problems = Problems(configuration, environment, storage);
        if (problems.Count > 0)
        {
            throw new InvalidOperationException("CafConnect cannot start with this configuration:" + Environment.NewLine
                + string.Join(Environment.NewLine, problems.Select(p => " - " + p)));
        }
    }
}
