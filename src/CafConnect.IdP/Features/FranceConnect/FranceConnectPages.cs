using CafConnect.IdP.Federation;
using CafConnect.IdP.Protocol;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace CafConnect.IdP.Features.FranceConnect;

/// <summary>Both pages lead back to the login page, with the pending authorization request when there is one.</summary>
public abstract class FranceConnectPage(FranceConnectOptions options) : PageModel
{
    [BindProperty(SupportsGet = true, Name = "returnUrl")]
    public string? ReturnUrl { get; set; }

    public string LoginUrl => CafConnect.Application.Navigation.ReturnUrls.IsAuthorizationRequest(ReturnUrl)
        ? "/connexion?returnUrl=" + Uri.EscapeDataString(ReturnUrl!)
        : "/connexion";

    /// <summary>FranceConnect switched off: these pages do not exist either.</summary>
    protected bool Disabled => !options.Enabled;
}

/// <summary>
/// The FranceConnect identity matched no active person, several, or one already linked to another identity: one page for
/// all, which says what to do and nothing about anybody's account.
/// </summary>
[AllowAnonymous]
public sealed class NoMatchPage(FranceConnectOptions options) : FranceConnectPage(options)
{
    public IActionResult OnGet() => Disabled ? NotFound() : Page();
}

/// <summary>FranceConnect's refusals and failures (cancelled, invalid answer, unavailable, an older login when a new one was asked), in French.</summary>
[AllowAnonymous]
public sealed class ErrorPage(FranceConnectOptions options) : FranceConnectPage(options)
{
    [BindProperty(SupportsGet = true, Name = "motif")]
    public string? Reason { get; set; }

    public string Title { get; private set; } = "Connexion avec FranceConnect impossible";
    public string Message { get; private set; } = string.Empty;
    public string Reference => HttpContext.TraceIdentifier;

    public IActionResult OnGet()
    {
        if (Disabled)
        {
            return NotFound();
        }
        (Title, Message) = Reason switch
        {
            "annule" => ("Connexion avec FranceConnect annulée", "Vous avez annulé la connexion sur FranceConnect, ou FranceConnect a refusé l'accès. Aucune information n'a été transmise."),
            "incomplet" => ("Connexion avec FranceConnect impossible", "FranceConnect n'a pas transmis toutes les informations d'identité nécessaires (nom, prénoms, date et lieu de naissance, sexe)."),
            "reconnexion" => ("Nouvelle identification nécessaire", "FranceConnect ne vous a pas demandé de vous identifier à nouveau : il a répondu avec une connexion plus ancienne, peut-être celle d'une autre personne sur cet appareil. Pour votre sécurité, vous n'êtes pas connecté. Déconnectez-vous de FranceConnect, puis réessayez."),
            "indisponible" => ("FranceConnect est momentanément indisponible", "Le service FranceConnect n'a pas pu être joint ou n'a pas répondu correctement. Réessayez dans quelques instants."),
            _ => ("Connexion avec FranceConnect impossible", "La réponse de FranceConnect n'a pas pu être vérifiée (demande expirée, déjà utilisée ou modifiée). Pour votre sécurité, vous n'êtes pas connecté."),
        };
        return Page();
    }
}
