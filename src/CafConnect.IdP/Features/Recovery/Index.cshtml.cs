using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using CafConnect.IdP.Features.Shared;

namespace CafConnect.IdP.Features.Recovery;

/// <summary>"MOT DE PASSE OUBLIÉ": the identifier (NIR or provisional identifier). The same answer for every identifier.</summary>
[AllowAnonymous]
public sealed class StartPage(RecoveryJourney journey) : JourneyStartPage
{
    [BindProperty]
    public string? Identifier { get; set; }

    /// <summary>Opened from the login page's provisional mode: the field asks for the provisional identifier.</summary>
    [BindProperty(SupportsGet = true, Name = "mode")]
    public string? Mode { get; set; }

    public bool Provisional => Mode == "provisoire";

    public void OnGet()
    {
    }

    public async Task<IActionResult> OnPostAsync()
    {
        var (result, limited) = await journey.StartAsync(HttpContext, Identifier, HttpContext.RequestAborted);
        return Answer(result, limited);
    }
}
