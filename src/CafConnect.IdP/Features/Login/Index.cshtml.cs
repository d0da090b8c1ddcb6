using CafConnect.Application.Navigation;
using CafConnect.Domain.Identity;
using CafConnect.IdP.Protocol;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using OpenIddict.Abstractions;

namespace CafConnect.IdP.Features.Login;

/// <summary>"CONNEXION": NIR (or provisional identifier) and password.</summary>
[AllowAnonymous]
public sealed class LoginPage(LoginHandler handler, RememberedIdentifier remembered, RelyingParties relyingParties, IOpenIddictApplicationManager applications) : PageModel
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

    /// <summary>
    /// The journey of a kiosk (<see cref="ConfidentialClients.IsSharedDeviceClientAsync"/>): the next visitor must find
    /// no identifier of the previous one, so "Se souvenir de moi" is neither offered nor honoured, and an identifier
    /// remembered in that browser before is forgotten.
    /// </summary>
    public bool SharedDevice { get; private set; }

    public async Task<IActionResult> OnGetAsync([FromQuery(Name = "oublier")] bool forget = false)
    {
        if (forget)
        {
            remembered.Forget(HttpContext);
            return RedirectToPage(new { returnUrl = ReturnUrls.Usable(ReturnUrl), mode = Mode });
        }
        var clientId = await relyingParties.RegisteredClientOfAsync(ReturnUrls.OrAccountHome(ReturnUrl), HttpContext.RequestAborted);
        SharedDevice = await applications.IsSharedDeviceClientAsync(clientId, HttpContext.RequestAborted);
        RememberedMasked = RememberedOnThisDevice()?.Masked;
        return Page();
    }

    public async Task<IActionResult> OnPostAsync()
    {
        // Where to go and for whom are settled before anything is checked or written: an unusable return URL means
        // « Mon compte », and only a registered client is ever named in the audit trail.
        var returnUrl = ReturnUrls.OrAccountHome(ReturnUrl);
        var clientId = await relyingParties.RegisteredClientOfAsync(returnUrl, HttpContext.RequestAborted);
        SharedDevice = await applications.IsSharedDeviceClientAsync(clientId, HttpContext.RequestAborted);
        var rememberedIdentifier = RememberedOnThisDevice();
        var identifier = string.IsNullOrWhiteSpace(Input.Identifier) && rememberedIdentifier is not null ? rememberedIdentifier.Value : Input.Identifier;
        var outcome = await handler.HandleAsync(new LoginAttempt(Kind, identifier, Input.Password, clientId, returnUrl), HttpContext, HttpContext.RequestAborted);

        if (outcome.NeedsActions)
        {
            // Right credentials, steps first (terms, new password, contact): no session until they are done.
            RememberIfAsked(identifier!);
            return LocalRedirect(FirstLogin.FirstLoginJourney.UrlOf(outcome.FirstLoginFlow!));
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
        return LocalRedirect(returnUrl);
    }

    /// <summary>The identifier remembered in this browser; on a shared device none, and the one found there is forgotten.</summary>
    private RememberedIdentifier.Remembered? RememberedOnThisDevice()
    {
        if (!SharedDevice)
        {
            return remembered.Read(HttpContext, Kind);
        }
        remembered.Forget(HttpContext);
        return null;
    }

    private void RememberIfAsked(string identifier)
    {
        if (Input.RememberMe && !SharedDevice)
        {
            remembered.Remember(HttpContext, Kind, identifier);
        }
        else if (!string.IsNullOrWhiteSpace(Input.Identifier))
        {
            remembered.Forget(HttpContext);
        }
    }

    public string? Error(string field) => FieldErrors.TryGetValue(field, out var message) ? message : null;
}
