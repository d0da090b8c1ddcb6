using CafConnect.Infrastructure.Flows;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.EntityFrameworkCore;

namespace CafConnect.IdP.Features.FirstLogin;

/// <summary>
/// What every step page does: find the flow (<c>?flow=</c>) in this browser, send the person to the page of the
/// flow's current state if they are elsewhere, and show a clear French message when the flow is gone.
/// </summary>
[AllowAnonymous]
public abstract class FirstLoginPage(FirstLoginJourney journey) : PageModel
{
    protected FirstLoginJourney Journey { get; } = journey;

    [BindProperty(SupportsGet = true, Name = "flow")]
    public string? FlowId { get; set; }

    /// <summary>The state this page shows.</summary>
    protected abstract string State { get; }

    public FirstLoginStep Step { get; private set; } = null!;
    public FlowLookup? Problem { get; private set; }
    public IReadOnlyDictionary<string, string> Errors { get; protected set; } = new Dictionary<string, string>();

    public string? Error(string field) => Errors.TryGetValue(field, out var message) ? message : null;

    /// <summary>"étape 2 sur 3" for the page's action, or null on the intro.</summary>
    public string? Progress(Domain.Accounts.RequiredAction action) =>
        Step.Context.Asked.Count > 1 ? $"Étape {Step.Context.StepNumber(action)} sur {Step.Context.Asked.Count}" : null;

    /// <summary>Loads the flow; returns the result to send instead of this page, or null to go on.</summary>
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
        return step.Flow.State == State ? null : Redirect(FirstLoginJourney.UrlOf(step.Flow));
    }

    /// <summary>Runs a step; a concurrent submission of the same flow (double click, two tabs) re-reads the flow.</summary>
    protected async Task<IActionResult> RunAsync(Func<FirstLoginStep, Task<StepResult>> action)
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
