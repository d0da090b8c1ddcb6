using System.Globalization;
using CafConnect.IdP.Sessions;
using CafConnect.Infrastructure.Flows;
using CafConnect.Infrastructure.Persistence;
using CafConnect.Infrastructure.Throttling;
using CafConnect.Infrastructure.Verification;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.Extensions.Options;
using OpenIddict.Server;

namespace CafConnect.IdP.Features.PublicInformation;

/// <summary>The paths of the pages every French public online service must have, linked from every page's footer.</summary>
public static class PublicInformationPaths
{
    public const string Accessibility = "/accessibilite";
    public const string LegalNotice = "/mentions-legales";
    public const string PersonalData = "/donnees-personnelles";
    public const string Cookies = "/gestion-des-cookies";
}

/// <summary>
/// The durations « Données personnelles » and « Gestion des cookies » state, read from the settings the provider actually
/// runs with (the same objects the code enforces), never copied into the page: change a setting, the page follows.
/// </summary>
public sealed class RetentionFigures(
    IConfiguration configuration,
    VerificationCodeOptions codes,
    LoginThrottleOptions throttle,
    IOptionsMonitor<CookieAuthenticationOptions> cookies,
    IOptions<OpenIddictServerOptions> server)
{
    public RetentionPolicy Store { get; } = RetentionPolicy.FromConfiguration(configuration);
    public TimeSpan SessionIdle { get; } = cookies.Get(PersonSession.Scheme).ExpireTimeSpan;
    public TimeSpan? RefreshToken { get; } = server.Value.RefreshTokenLifetime;
    public TimeSpan SmsCode { get; } = codes.SmsLifetime;
    public TimeSpan EmailCode { get; } = codes.EmailLifetime;
    public int CodeWrongAttempts { get; } = codes.MaxWrongAttempts;
    public TimeSpan FailureCounters { get; } = throttle.AccountStateRetention;

    /// <summary>The longest a journey in progress (first login, recovery, account creation, provisional-id reminder) lasts.</summary>
    public TimeSpan Journey { get; } = FlowLifetimes.LongestJourney;

    /// <summary>« 30 minutes », « 14 jours », « 1 heure »: the largest whole unit.</summary>
    public static string French(TimeSpan duration)
    {
        static string Plural(double n, string unit) => string.Create(CultureInfo.GetCultureInfo("fr-FR"), $"{n:0.##} {unit}{(n >= 2 ? "s" : "")}");
        if (duration.TotalDays >= 1 && duration.TotalDays % 1 == 0) return Plural(duration.TotalDays, "jour");
        if (duration.TotalHours >= 1 && duration.TotalHours % 1 == 0) return Plural(duration.TotalHours, "heure");
        return Plural(duration.TotalMinutes, "minute");
    }

    public static string Days(int days) => French(TimeSpan.FromDays(days));
}

[AllowAnonymous]
public sealed class PersonalDataModel(RetentionFigures figures) : PageModel
{
    public RetentionFigures Figures { get; } = figures;

    public void OnGet()
    {
    }
}

[AllowAnonymous]
public sealed class CookiesModel(RetentionFigures figures, IConfiguration configuration) : PageModel
{
    public RetentionFigures Figures { get; } = figures;

    /// <summary>Under TLS (the default outside Development) every cookie carries the <c>__Host-</c> prefix.</summary>
    public string Prefix { get; } = configuration.GetValue("Oidc:RequireHttps", true) ? "__Host-" : string.Empty;

    public void OnGet()
    {
    }
}
