using CafConnect.Domain.Identity;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace CafConnect.IdP.Features.Login;

/// <summary>"CONNEXION": NIR (or provisional identifier) and password.</summary>
[AllowAnonymous]
public sealed class LoginPage(LoginHandler handler, RememberedIdentifier remembered, FirstLogin.FirstLoginJourney firstLogin) : PageModel
{
    public sealed class LoginForm
    {
        public string? Identifier { get; set; }
        public string? Password { get; set; }
        public bool RememberMe { get; set; }
    }

    [BindProperty]
    public LoginForm Input { get; set; } = new();

    [BindProperty(SupportsGet = true, Name = "returnUrl")]
    public string? ReturnUrl { get; set; }

    [BindProperty(SupportsGet = true, Name = "mode")]
    public string? Mode { get; set; }

    /// <summary>"modifie" after "Mot de passe oublié ?": the new password is to be typed once here.</summary>
    [BindProperty(SupportsGet = true, Name = "motdepasse")]
    public string? PasswordNotice { get; set; }

    public bool PasswordJustChanged => PasswordNotice == "modifie";

    public LoginIdentifierKind Kind => Mode == "provisoire" ? LoginIdentifierKind.Provisional : LoginIdentifierKind.Nir;

    public IReadOnlyDictionary<string, string> FieldErrors { get; private set; } = new Dictionary<string, string>();
    public string? FormError { get; private set; }

    /// <summary>The remembered identifier, masked, when the person ticked "Se souvenir de moi" on this device.</summary>
    public string? RememberedMasked { get; private set; }

    public IActionResult OnGet([FromQuery(Name = "oublier")] bool forget = false)
    {
        if (forget)
        {
            remembered.Forget(HttpContext);
            return RedirectToPage(new { returnUrl = SafeReturnUrl(), mode = Mode });
        }
        RememberedMasked = remembered.Read(HttpContext, Kind)?.Masked;
        return Page();
    }

    public async Task<IActionResult> OnPostAsync()
    {
        var rememberedIdentifier = remembered.Read(HttpContext, Kind);
        var identifier = string.IsNullOrWhiteSpace(Input.Identifier) && rememberedIdentifier is not null ? rememberedIdentifier.Value : Input.Identifier;
        var outcome = await handler.HandleAsync(new LoginAttempt(Kind, identifier, Input.Password, ClientIdOf(SafeReturnUrl())), HttpContext, HttpContext.RequestAborted);

        if (outcome.NeedsActions)
        {
            // Right credentials, steps first (terms, new password, contact): no session until they are done.
            RememberIfAsked(identifier!);
            var flow = await firstLogin.StartAsync(HttpContext, outcome.Person!, outcome.PendingActions, outcome.SignedInWith,
                SafeReturnUrl() ?? "/mon-compte", ClientIdOf(SafeReturnUrl()), HttpContext.RequestAborted);
            return LocalRedirect(FirstLogin.FirstLoginJourney.UrlOf(flow));
        }

        if (!outcome.Succeeded)
        {
            FieldErrors = outcome.FieldErrors;
            FormError = outcome.FormError;
            RememberedMasked = string.IsNullOrWhiteSpace(Input.Identifier) ? rememberedIdentifier?.Masked : null;
            // Keep what was typed except the password, which is never sent back.
            Input.Password = null;
            if (outcome.FieldErrors.Count > 0)
            {
                Response.StatusCode = StatusCodes.Status400BadRequest;
            }
            return Page();
        }

        RememberIfAsked(identifier!);
        return LocalRedirect(SafeReturnUrl() ?? "/mon-compte");
    }

    private void RememberIfAsked(string identifier)
    {
        if (Input.RememberMe)
        {
            remembered.Remember(HttpContext, Kind, identifier);
        }
        else if (!string.IsNullOrWhiteSpace(Input.Identifier))
        {
            remembered.Forget(HttpContext);
        }
    }

    public string? Error(string field) => FieldErrors.TryGetValue(field, out var message) ? message : null;

    /// <summary>Only our own pages and the authorization endpoint may follow a login (no open redirect).</summary>
    public string? SafeReturnUrl() =>
        ReturnUrl is { Length: > 0 and < 4096 } url && Url.IsLocalUrl(url) && !url.StartsWith("/\\", StringComparison.Ordinal) ? url : null;

    internal static string? ClientIdOf(string? returnUrl)
    {
        if (returnUrl is null)
        {
            return null;
        }
        var query = returnUrl.IndexOf('?') is var index and >= 0 ? returnUrl[index..] : string.Empty;
        var clientId = Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(query).TryGetValue("client_id", out var values) ? values.ToString() : null;
        return clientId is { Length: > 0 and <= 100 } ? clientId : null;
    }
}
