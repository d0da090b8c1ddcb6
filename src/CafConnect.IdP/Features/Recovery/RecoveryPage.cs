using CafConnect.IdP.Features.FirstLogin;
using CafConnect.Infrastructure.Flows;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.EntityFrameworkCore;

namespace CafConnect.IdP.Features.Recovery;

/// <summary>
/// What every step page of "Mot de passe oublié ?" does: find the flow in this browser, send the person to the page
/// of the flow's state, show a French message when the flow is gone (as <see cref="FirstLoginPage"/>).
/// </summary>
[AllowAnonymous]
public abstract class RecoveryPage(RecoveryJourney journey) : PageModel
{
    protected RecoveryJourney Journey { get; } = journey;

    [BindProperty(SupportsGet = true, Name = "flow")]
    public string? FlowId { get; set; }

    protected abstract string State { get; }

    public RecoveryStep Step { get; private set; } = null!;
    public FlowLookup? Problem { get; private set; }
    public IReadOnlyDictionary<string, string> Errors { get; protected set; } = new Dictionary<string, string>();

    public string? Error(string field) => Errors.TryGetValue(field, out var message) ? message : null;

    protected async Task<IActionResult?> LoadAsync()
    {
        var (lookup, step) = await Journey.LoadAsync(HttpContext, FlowId, HttpContext.RequestAborted);
        if (step is null)
        {
            Problem = lookup;
            Response.StatusCode = lookup == FlowLookup.NotFound ? StatusCodes.Status404NotFound : StatusCodes.Status410Gone;
            return Page();
        }
        Step = step;
        return step.Flow.State == State ? null : Redirect(RecoveryJourney.UrlOf(step.Flow));
    }

    protected async Task<IActionResult> RunAsync(Func<RecoveryStep, Task<StepResult>> action)
    {
        if (await LoadAsync() is { } elsewhere)
        {
            return elsewhere;
        }
        try
        {
            var result = await action(Step);
            if (result.RedirectTo is not null)
            {
                return LocalRedirect(result.RedirectTo);
            }
            Errors = result.Errors;
            Response.StatusCode = StatusCodes.Status400BadRequest;
            return Page();
        }
        catch (DbUpdateConcurrencyException)
        {
            return LocalRedirect($"{Request.Path}?flow={Uri.EscapeDataString(FlowId!)}");
        }
    }

    public virtual async Task<IActionResult> OnGetAsync() => await LoadAsync() ?? Page();

    public Task<IActionResult> OnPostQuitAsync() => RunAsync(step => Journey.QuitAsync(step, HttpContext.RequestAborted));
}
