using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using OpenIddict.Server.AspNetCore;
using Microsoft.AspNetCore;
using ProtocolErrors = OpenIddict.Abstractions.OpenIddictConstants.Errors;

namespace CafConnect.IdP.Features.Errors;

/// <summary>
/// Every error a person can see: protocol errors that cannot go back to the relying party (unknown client,
/// unregistered redirect URI…), missing pages and unexpected failures. Never a stack trace.
/// </summary>
[AllowAnonymous]
[IgnoreAntiforgeryToken]
public sealed class ErrorPage : PageModel
{
    public string Title { get; private set; } = "Une erreur est survenue";
    public string Message { get; private set; } = "Le service a rencontré un problème. Réessayez dans quelques instants.";
    public string? ProtocolError { get; private set; }
    /// <summary>The request's correlation id, as in the audit trail and the logs (docs/operations.md, "Metrics and traces").</summary>
    public string Reference => System.Diagnostics.Activity.Current?.TraceId.ToString() ?? HttpContext.TraceIdentifier;

    // No handler parameter: a page handler with one is bound from every value provider, the form included, and the
    // status-code pages re-execute this page with the failed request's method and body. A form the anti-forgery middleware
    // refused (a POST to « S'identifier avec FranceConnect » from another site) throws when it is read: the refusal's 400
    // became a 500 here, with a stack trace in Development (adversarial review, 6 December 2026, seventh session).
    public void OnGet() => Describe(StatusCodeOfRoute());

    public void OnPost() => Describe(StatusCodeOfRoute());

    /// <summary>The <c>{code}</c> of <c>/erreur/{code}</c>, read from the route only.</summary>
    private int? StatusCodeOfRoute() =>
        int.TryParse(Convert.ToString(RouteData.Values["code"], System.Globalization.CultureInfo.InvariantCulture),
            System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var code) ? code : null;

    private void Describe(int? code)
    {
        var response = HttpContext.GetOpenIddictServerResponse();
        if (response?.Error is { } error)
        {
            ProtocolError = error;
            Title = "La demande de connexion n'a pas pu aboutir";
            // OpenIddict names the faulty parameter in its (English) description; people get the French reason.
            var description = response.ErrorDescription ?? string.Empty;
            Message = error switch
            {
                ProtocolErrors.InvalidClient or ProtocolErrors.UnauthorizedClient => "Le service qui vous a dirigé ici n'est pas reconnu par Mon Compte.",
                _ when description.Contains("'client_id'", StringComparison.Ordinal) => "Le service qui vous a dirigé ici n'est pas reconnu par Mon Compte.",
                _ when description.Contains("'redirect_uri'", StringComparison.Ordinal) => "L'adresse de retour demandée par le service en ligne n'est pas autorisée : par sécurité, vous n'y êtes pas redirigé.",
                ProtocolErrors.InvalidRequest or ProtocolErrors.InvalidRequestObject => "La demande transmise par le service en ligne est incomplète ou invalide.",
                ProtocolErrors.InvalidScope => "Le service en ligne a demandé des informations qu'il n'est pas autorisé à recevoir.",
                ProtocolErrors.AccessDenied => "L'accès a été refusé.",
                _ => "La demande transmise par le service en ligne n'a pas pu être traitée.",
            };
            return;
        }

        if (code == StatusCodes.Status503ServiceUnavailable || HttpContext.Response.StatusCode == StatusCodes.Status503ServiceUnavailable)
        {
            // A shared dependency is down (Operations/DependencyOutage): nothing was decided, the person may simply retry.
            Title = "Service momentanément indisponible";
            Message = "Mon Compte est momentanément indisponible. Votre demande n'a pas été prise en compte : réessayez dans quelques minutes.";
            Response.Headers.RetryAfter = Operations.DependencyOutage.RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        else if (code == StatusCodes.Status404NotFound)
        {
            Title = "Page introuvable";
            Message = "La page que vous cherchez n'existe pas ou a été déplacée.";
        }
        else if (code is >= 400 and < 500)
        {
            Title = "Demande invalide";
            Message = "La demande n'a pas pu être traitée. Revenez à la page de connexion et réessayez.";
        }
    }
}
