using System.Globalization;
using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using OpenIddict.Client.AspNetCore;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace CafConnect.IdP.Features.FranceConnect;

/// <summary>
/// A login asked of FranceConnect, and checked when it answers (decision 55, then 56). When the request FranceConnect
/// returns to waits for a login made for it (<c>ReauthenticationMarkers.IsAskedBy</c>: <c>prompt=login</c>,
/// <c>max_age</c>, another person's hint, every kiosk request), FranceConnect is sent <c>prompt=login</c>, and the time of
/// that request rides in OpenIddict's state token (encrypted and signed, single use). A FranceConnect that ignores
/// <c>prompt=login</c> answers from the session it already had — at a kiosk, the previous visitor's: its ID token's
/// <c>auth_time</c> is then older than the request, or absent. Such an answer is refused (adversarial review,
/// 6 December 2026, seventh session: the residual decision 55 left).
/// </summary>
public static class FreshLoginAtFranceConnect
{
    /// <summary>
    /// How much earlier than our request FranceConnect's <c>auth_time</c> may be: the two clocks are not one (FranceConnect's
    /// and its identity providers' against ours). A login made for our request is later than it; one a minute older is not.
    /// </summary>
    public static readonly TimeSpan AllowedClockSkew = TimeSpan.FromSeconds(60);

    /// <summary>The state token's entry that says a login was asked, and when (Unix seconds).</summary>
    internal const string AskedAtProperty = "cafconnect.franceconnect.login_asked_at";

    /// <summary>Asks FranceConnect for a fresh login and records when it was asked, in what OpenIddict carries to the answer.</summary>
    public static void Ask(IDictionary<string, object?> parameters, IDictionary<string, string?> items, DateTimeOffset now)
    {
        parameters[Parameters.Prompt] = PromptValues.Login;
        items[AskedAtProperty] = now.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// Whether the answer fails a login that was asked: no <c>auth_time</c> in FranceConnect's ID token, or one earlier
    /// than the request by more than <see cref="AllowedClockSkew"/>. False when no login was asked (FranceConnect's single
    /// sign-on is kept). <paramref name="authTime"/>: what the ID token said, for the audit line.
    /// </summary>
    public static bool IsStale(AuthenticateResult answer, out string? authTime)
    {
        authTime = null;
        if (answer.Properties?.Items.TryGetValue(AskedAtProperty, out var asked) != true
            || !long.TryParse(asked, NumberStyles.None, CultureInfo.InvariantCulture, out var askedAt))
        {
            return false;
        }
        var idToken = answer.Properties.GetParameter<ClaimsPrincipal>(OpenIddictClientAspNetCoreConstants.Properties.BackchannelIdentityTokenPrincipal)
            ?? answer.Properties.GetParameter<ClaimsPrincipal>(OpenIddictClientAspNetCoreConstants.Properties.FrontchannelIdentityTokenPrincipal);
        authTime = idToken?.FindFirst(Claims.AuthenticationTime)?.Value;
        return !long.TryParse(authTime, NumberStyles.None, CultureInfo.InvariantCulture, out var authenticatedAt)
            || authenticatedAt < askedAt - (long)AllowedClockSkew.TotalSeconds;
    }
}
