namespace CafConnect.IdP.Federation;

/// <summary>
/// Settings of the FranceConnect federation (<c>FranceConnect:*</c>). Disabled by default: without it the login page
/// shows no FranceConnect button and no FranceConnect route exists.
/// </summary>
public sealed class FranceConnectOptions
{
    /// <summary>The name of the OpenIddict client registration and of the links stored for it.</summary>
    public const string ProviderName = "FranceConnect";

    public const string StartPath = "/franceconnect/connexion";
    public const string CallbackPath = "/franceconnect/retour";
    public const string PostLogoutCallbackPath = "/franceconnect/deconnexion/retour";
    public const string NoMatchPath = "/franceconnect/compte-non-trouve";
    public const string ErrorPath = "/franceconnect/erreur";

    public bool Enabled { get; set; }

    /// <summary>FranceConnect's issuer, e.g. <c>https://oidc.franceconnect.gouv.fr/api/v2</c> (discovery is read from it).</summary>
    public string? Issuer { get; set; }

    public string? ClientId { get; set; }
    public string? ClientSecret { get; set; }

    /// <summary>Where FranceConnect sends the person back (registered at FranceConnect); relative to the host or absolute.</summary>
    public string RedirectUri { get; set; } = CallbackPath;

    /// <summary>Where FranceConnect sends the person back after its own logout (registered at FranceConnect).</summary>
    public string PostLogoutRedirectUri { get; set; } = PostLogoutCallbackPath;

    /// <summary>
    /// FranceConnect scopes are per claim: the identity pivot (names, birth date and place, gender) and the usage name.
    /// No e-mail or address: CafConnect matches on the civil status and keeps nothing else from FranceConnect.
    /// </summary>
    public string Scopes { get; set; } = "openid given_name family_name birthdate gender birthplace birthcountry preferred_username";

    /// <summary>The eIDAS level asked for (and checked in the ID token's <c>acr</c>): <c>eidas1</c> is FranceConnect's level.</summary>
    public string AcrValues { get; set; } = "eidas1";

    /// <summary>The « Qu'est-ce que FranceConnect ? » link.</summary>
    public string InformationUrl { get; set; } = "https://franceconnect.gouv.fr/";

    /// <summary>
    /// How long one call to FranceConnect (discovery, keys, token, userinfo) may take before the person gets the French
    /// « momentanément indisponible » page: without it, a FranceConnect that accepts connections but never answers held
    /// the browser for the HTTP client's default and its retries. No retry: the person tries again from the page.
    /// </summary>
    public TimeSpan BackchannelTimeout { get; set; } = TimeSpan.FromSeconds(3);

    public IEnumerable<string> ScopeList => Scopes.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>Refuses to start with an incomplete configuration rather than failing at the first click.</summary>
    public void Validate()
    {
        if (!Enabled)
        {
            return;
        }
        if (!Uri.TryCreate(Issuer, UriKind.Absolute, out _))
        {
            throw new InvalidOperationException("FranceConnect:Issuer must be an absolute URI when FranceConnect:Enabled is true.");
        }
        if (string.IsNullOrWhiteSpace(ClientId) || string.IsNullOrWhiteSpace(ClientSecret))
        {
            throw new InvalidOperationException("FranceConnect:ClientId and FranceConnect:ClientSecret are required when FranceConnect:Enabled is true.");
        }
        if (BackchannelTimeout <= TimeSpan.Zero || BackchannelTimeout > TimeSpan.FromSeconds(30))
        {
            throw new InvalidOperationException("FranceConnect:BackchannelTimeout must be more than 0 and at most 30 seconds (e.g. 00:00:03).");
        }
        if (!ScopeList.Contains("openid"))
        {
            throw new InvalidOperationException("FranceConnect:Scopes must contain openid.");
        }
    }
}
