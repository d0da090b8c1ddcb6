using CafConnect.Infrastructure.Flows;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.EntityFrameworkCore;

namespace CafConnect.IdP.Features;

/// <summary>The outcome of a step: go to a URL, or stay on the page with messages (field → French message).</summary>
public sealed record StepResult(string? RedirectTo, IReadOnlyDictionary<string, string> Errors)
{
    /// <summary>The key of a message about the whole form rather than one field (shown above the form).</summary>
    public const string FormField = "";

    public static StepResult Go(string url) => new(url, new Dictionary<string, string>());
    public static StepResult Stay(string field, string message) => new(null, new Dictionary<string, string> { [field] = message });
    public static StepResult Stay(IReadOnlyDictionary<string, string> errors) => new(null, errors);
}

/// <summary>
/// What every step page of a server-side journey does: find the flow (<c>?flow=</c>) in this browser, send the
/// person to the page of the flow's current state if they are elsewhere (steps cannot be skipped), show a clear French
/// message when the flow is gone, and re-read the flow when two submissions race (double click, two tabs).
/// </summary>
[AllowAnonymous]
public abstract class FlowStepPage<TStep> : PageModel where TStep : class
{
    [BindProperty(SupportsGet = true, Name = "flow")]
    public string? FlowId { get; set; }

    /// <summary>The state this page shows.</summary>
    protected abstract string State { get; }

    public TStep Step { get; private set; } = null!;
    public FlowLookup? Problem { get; private set; }
    public IReadOnlyDictionary<string, string> Errors { get; protected set; } = new Dictionary<string, string>();

    public string? Error(string field) => Errors.TryGetValue(field, out var message) ? message : null;

    protected abstract Task<(FlowLookup Lookup, TStep? Step)> FindStepAsync();
    protected abstract SelfServiceFlow FlowOf(TStep step);
    protected abstract string UrlOf(SelfServiceFlow flow);
    protected abstract Task<StepResult> QuitAsync(TStep step);

    /// <summary>Loads the flow; returns the result to send instead of this page, or null to go on.</summary>
    protected async Task<IActionResult?> LoadAsync()
    {
        var (lookup, step) = await FindStepAsync();
        if (step is null)
        {
            Problem = lookup;
            Response.StatusCode = lookup == FlowLookup.NotFound ? StatusCodes.Status404NotFound : StatusCodes.Status410Gone;
            return Page();
        }
        Step = step;
        var flow = FlowOf(step);
        return flow.State == State ? null : Redirect(UrlOf(flow));
    }

    /// <summary>Runs a step; a concurrent submission of the same flow re-reads the flow instead of failing.</summary>
    protected async Task<IActionResult> RunAsync(Func<TStep, Task<StepResult>> action)
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

    public Task<IActionResult> OnPostQuitAsync() => RunAsync(QuitAsync);
}
