using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace CafConnect.IdP.Features.ProvisionalIdRecovery;

/// <summary>"IDENTIFIANT PROVISOIRE OUBLIÉ": civil status and a contact; the identifier goes to that contact only.</summary>
[AllowAnonymous]
public sealed class ReminderPage(ProvisionalIdReminderJourney journey) : PageModel
{
    [BindProperty]
    public string? BirthName { get; set; }

    [BindProperty]
    public string? GivenNames { get; set; }

    [BindProperty]
    public string? BirthDate { get; set; }

    [BindProperty]
    public string? Contact { get; set; }

    public IReadOnlyDictionary<string, string> Errors { get; private set; } = new Dictionary<string, string>();

    public string? Error(string field) => Errors.TryGetValue(field, out var message) ? message : null;

    public void OnGet()
    {
    }

    public async Task<IActionResult> OnPostAsync()
    {
        var (result, limited) = await journey.RequestAsync(HttpContext, new ProvisionalIdRequest(BirthName, GivenNames, BirthDate, Contact), HttpContext.RequestAborted);
        if (result.RedirectTo is not null)
        {
            return LocalRedirect(result.RedirectTo);
        }
        Errors = result.Errors;
        Response.StatusCode = limited ? StatusCodes.Status429TooManyRequests : StatusCodes.Status400BadRequest;
        if (limited)
        {
            Response.Headers.RetryAfter = "3600";
        }
        return Page();
    }
}
