using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace CafConnect.IdP.Features.Recovery;

/// <summary>"MOT DE PASSE OUBLIÉ": the identifier (NIR or provisional identifier). The same answer for every identifier.</summary>
[AllowAnonymous]
public sealed class StartPage(RecoveryJourney journey) : PageModel
{
    [BindProperty]
    public string? Identifier { get; set; }

    /// <summary>Opened from the login page's provisional mode: the field asks for the provisional identifier.</summary>
    [BindProperty(SupportsGet = true, Name = "mode")]
    public string? Mode { get; set; }

    public bool Provisional => Mode == "provisoire";

    public IReadOnlyDictionary<string, string> Errors { get; private set; } = new Dictionary<string, string>();

    public string? Error(string field) => Errors.TryGetValue(field, out var message) ? message : null;

    public void OnGet()
    {
    }

    public async Task<IActionResult> OnPostAsync()
    {
        var (result, limited) = await journey.StartAsync(HttpContext, Identifier, HttpContext.RequestAborted);
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
