using CafConnect.Infrastructure.Notifications;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace CafConnect.IdP.Features.DevMessages;

/// <summary>
/// Development only: the last messages the provider sent (codes included), so a person trying the embedded default
/// can finish a journey by hand without a phone. Answers 404 in any other environment.
/// </summary>
[AllowAnonymous]
public sealed class DevMessagesPage(OutboxReader reader, IWebHostEnvironment environment) : PageModel
{
    public IReadOnlyList<OutboxMessageView> Messages { get; private set; } = [];

    public async Task<IActionResult> OnGetAsync()
    {
        if (!environment.IsDevelopment())
        {
            return NotFound();
        }
        Messages = await reader.LatestAsync(20, HttpContext.RequestAborted);
        return Page();
    }
}
