using CafConnect.Application.CodeStep;
using CafConnect.Application.Persistence;
using CafConnect.Application.RateLimiting;
using CafConnect.Application.SignIn;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace CafConnect.Application;

/// <summary>Registers the use cases of the application layer; the host and the CLI both call it.</summary>
public static class ApplicationRegistration
{
    public static IServiceCollection AddCafConnectApplication(this IServiceCollection services, IConfiguration configuration)
    {
        // Each use case registers itself here, once (see docs/architecture.md, "How to add a journey").
        services.AddScoped<Navigation.RelyingParties>();
        services.AddScoped<VerificationCodeStep>();
        services.AddScoped<IUnitOfWork, StoreUnitOfWork>();
        services.AddSingleton(configuration.GetSection("Accounts").Get<LoginOptions>() ?? new LoginOptions());
        services.AddScoped<RequiredActionsStart>();
        services.AddScoped<CommitSignIn>();
        services.AddScoped<PasswordSignIn>();
        // The limits of the forms that start a journey (recovery, reminder, account creation, invitation), counted by
        // the throttle store: Redis when the instances share one (production), memory for the embedded instance.
        services.AddSingleton(configuration.GetSection("Recovery:RateLimit").Get<JourneyRateLimitOptions>() ?? new JourneyRateLimitOptions());
        services.AddSingleton<IJourneyRateLimiter, ThrottleStoreJourneyRateLimiter>();
        // One ceiling per person (and per destination contact) on the messages others can make us send, across journeys.
        var messageCap = configuration.GetSection("Messages:Cap").Get<MessageCapOptions>() ?? new MessageCapOptions();
        if (messageCap.PerHour < 1 || messageCap.PerDay < messageCap.PerHour)
        {
            throw new InvalidOperationException("Messages:Cap: PerHour must be at least 1 and PerDay at least PerHour (docs/operations.md).");
        }
        services.AddSingleton(messageCap);
        services.AddScoped<MessageCap>();
        services.AddScoped<Identity.ContactProof>();
        services.AddScoped<Credentials.PasswordSettingPolicy>();
        services.AddScoped<Credentials.VerifyStoredSecret>();
        services.AddScoped<Credentials.SetPersonalPassword>();
        services.AddScoped<Credentials.ConfirmCurrentPassword>();
        services.AddScoped<Credentials.ChangePassword>();
        services.AddScoped<Credentials.SetPhoneCode>();
        // The phone channel (voice server): its budget, the shared code's retirement, the one rule issuing a file code.
        services.AddSingleton(PhoneChannel.PhoneChannelOptions.FromConfiguration(configuration));
        services.AddScoped<PhoneChannel.FileCodeIssuer>();
        services.AddScoped<PhoneChannel.ForgottenFileCode>();
        services.AddScoped<Credentials.CredentialReset>();
        // The admin API's and the CLI's use cases (decision 22: they left Infrastructure for this layer).
        services.AddScoped<Admin.IdempotentAdminRequests>();
        services.AddScoped<Admin.FileEventService>();
        services.AddScoped<Admin.ApplicantRegistration>();
        services.AddScoped<Admin.AgentProvisionalPassword>();
        services.AddScoped<Admin.OperatorCaller>();
        services.AddScoped<Admin.AgentProvisionalPasswordEndpoint>();
        services.AddScoped<Clients.ClientRegistrations>();
        services.AddScoped<Clients.ClientsAdminEndpoint>();
        return services;
    }
}
