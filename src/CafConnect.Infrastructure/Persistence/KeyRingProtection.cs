using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace CafConnect.Infrastructure.Persistence;

/// <summary>
/// Encryption at rest of the Data Protection key ring (which protects session cookies and the token keys in the store)
/// with an X.509 certificate from configuration: <c>DataProtection:Certificate:Path</c> (PKCS#12) and
/// <c>:Password</c>; certificates being retired stay able to read older keys with
/// <c>DataProtection:PreviousCertificates:N:Path</c> / <c>:Password</c>. The host and the CLI read the same ring, so both
/// apply it. Without a certificate the ring is stored unprotected: the host refuses that outside Development
/// (<c>StartupChecks</c> of the IdP).
/// </summary>
public static class KeyRingProtection
{
    public const string CertificatePathKey = "DataProtection:Certificate:Path";
    public const string CertificatePasswordKey = "DataProtection:Certificate:Password";

    public static bool IsConfigured(IConfiguration configuration) => !string.IsNullOrWhiteSpace(configuration[CertificatePathKey]);

    public static IServiceCollection AddCafConnectKeyRingProtection(this IServiceCollection services, IConfiguration configuration)
    {
        if (!IsConfigured(configuration))
        {
            return services;
        }
        var current = Load(configuration.GetSection("DataProtection:Certificate"), CertificatePathKey);
        var previous = configuration.GetSection("DataProtection:PreviousCertificates").GetChildren()
            .Select(section => Load(section, $"DataProtection:PreviousCertificates:{section.Key}:Path"))
            .ToArray();
        var builder = services.AddDataProtection().ProtectKeysWithCertificate(current);
        builder.UnprotectKeysWithAnyCertificate([current, .. previous]);
        return services;
    }

    private static X509Certificate2 Load(IConfigurationSection section, string name)
    {
        var path = section["Path"];
        if (string.IsNullOrWhiteSpace(path) || !File.Exists(path))
        {
            throw new InvalidOperationException($"{name}: the certificate file '{path}' does not exist.");
        }
        X509Certificate2 certificate;
        try
        {
            certificate = X509CertificateLoader.LoadPkcs12FromFile(path, section["Password"], X509KeyStorageFlags.EphemeralKeySet);
        }
        catch (System.Security.Cryptography.CryptographicException e)
        {
            throw new InvalidOperationException($"{name}: '{path}' could not be read as a PKCS#12 file with the configured password ({e.Message}).", e);
        }
        if (!certificate.HasPrivateKey)
        {
            throw new InvalidOperationException($"{name}: '{path}' has no private key; the key ring cannot be read without it.");
        }
        return certificate;
    }
}
