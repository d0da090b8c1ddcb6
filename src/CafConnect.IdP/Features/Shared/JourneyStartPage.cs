using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace CafConnect.IdP.Features.Shared;

/// <summary>
/// A form that starts a rate-limited journey before any flow exists (« Mot de passe oublié ? », « Identifiant
/// provisoire oublié ? », « Créer Mon Compte »): it shows the field errors, or moves on, or says "too many requests".
/// </summary>
public abstract class JourneyStartPage : PageModel
{
    /// <summary>The journeys' counters are hourly: the browser is told when to come back.</summary>
    private const string RetryAfterSeconds = "3600";

    public IReadOnlyDictionary<string, string> Errors { get; protected set; } = new Dictionary<string, string>();

    public string? Error(string field) => Errors.TryGetValue(field, out var message) ? message : null;

    /// <summary>The next page, or this one again with its errors: 400 for bad input, 429 when the limit is reached.</summary>
    protected IActionResult Answer(StepResult result, bool limited)
    {
        if (result.RedirectTo is not null)
        {
            return LocalRedirect(result.RedirectTo);
        }
        Errors = result.Errors;
        Response.StatusCode = limited ? StatusCodes.Status429TooManyRequests : StatusCodes.Status400BadRequest;
        if (limited)
        {
            Response.Headers.RetryAfter = RetryAfterSeconds;
        }
        return Page();
    }
}
