using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace CafConnect.Application;

/// <summary>Registers the use cases of the application layer; the host and the CLI both call it.</summary>
public static class ApplicationRegistration
{
    public static IServiceCollection AddCafConnectApplication(this IServiceCollection services, IConfiguration configuration)
    {
        // Each use case registers itself here, once (see docs/architecture.md, "How to add a journey").
        services.AddScoped<Identity.ContactProof>();
        services.AddScoped<Credentials.PasswordSettingPolicy>();
        services.AddScoped<Credentials.VerifyStoredSecret>();
        services.AddScoped<Credentials.SetPersonalPassword>();
        services.AddScoped<Credentials.ChangePassword>();
        return services;
    }
}
