using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using CafConnect.IdP.Features.Shared;

namespace CafConnect.IdP.Features.ProvisionalIdRecovery;

/// <summary>"IDENTIFIANT PROVISOIRE OUBLIÉ": civil status and a contact; the identifier goes to that contact only.</summary>
[AllowAnonymous]
public sealed class ReminderPage(ProvisionalIdReminderJourney journey) : JourneyStartPage
{
    [BindProperty]
    public string? BirthName { get; set; }

    [BindProperty]
    public string? GivenNames { get; set; }

    [BindProperty]
    public string? BirthDate { get; set; }

    [BindProperty]
    public string? Contact { get; set; }

    public void OnGet()
    {
    }

    public async Task<IActionResult> OnPostAsync()
    {
        var (result, limited) = await journey.RequestAsync(HttpContext, new ProvisionalIdRequest(BirthName, GivenNames, BirthDate, Contact), HttpContext.RequestAborted);
        return Answer(result, limited);
    }
}
