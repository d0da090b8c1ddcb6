using CafConnect.Infrastructure.Households;
using Microsoft.AspNetCore.Mvc;

namespace CafConnect.IdP.Features.FirstLogin;

/// <summary>
/// « Mes autorisations » at the end of the login (seed 003): a holder living as a couple says whether the partner may
/// consult the file and act on it. « Passer » decides nothing and asks again later.
/// </summary>
public sealed class DelegationPage(FirstLoginJourney journey) : FirstLoginPage(journey)
{
    protected override string State => FirstLoginStates.Delegation;

    public DelegationQuestion? Question { get; private set; }

    [BindProperty]
    public bool? Delegate { get; set; }

    [BindProperty]
    public string? FileNumber { get; set; }

    public override async Task<IActionResult> OnGetAsync()
    {
        if (await LoadAsync() is { } elsewhere)
        {
            return elsewhere;
        }
        Question = await Journey.PendingDelegationAsync(Step, HttpContext.RequestAborted);
        return Page();
    }

    public async Task<IActionResult> OnPostAsync()
    {
        var result = await RunAsync(step => Journey.ChooseDelegationAsync(HttpContext, step, FileNumber, Delegate, HttpContext.RequestAborted));
        if (Problem is null && Errors.Count > 0)
        {
            Question = await Journey.PendingDelegationAsync(Step, HttpContext.RequestAborted);
        }
        return result;
    }

    public Task<IActionResult> OnPostSkipAsync() => RunAsync(step => Journey.SkipDelegationAsync(HttpContext, step, HttpContext.RequestAborted));
}
