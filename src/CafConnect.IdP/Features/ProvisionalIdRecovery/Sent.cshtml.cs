using CafConnect.Infrastructure.Flows;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace CafConnect.IdP.Features.ProvisionalIdRecovery;

/// <summary>The answer to every request, matched or not: the identifier is never on this page.</summary>
[AllowAnonymous]
public sealed class SentPage(ProvisionalIdReminderJourney journey) : PageModel
{
    [BindProperty(SupportsGet = true, Name = "flow")]
    public string? FlowId { get; set; }

    public ProvisionalIdReminderContext? Context { get; private set; }
    public FlowLookup? Problem { get; private set; }

    public async Task<IActionResult> OnGetAsync()
    {
        var (lookup, context) = await journey.LoadAsync(HttpContext, FlowId, HttpContext.RequestAborted);
        if (context is null)
        {
            Problem = lookup;
            Response.StatusCode = lookup == FlowLookup.NotFound ? StatusCodes.Status404NotFound : StatusCodes.Status410Gone;
        }
        Context = context;
        return Page();
    }
}
