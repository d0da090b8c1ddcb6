using CafConnect.Application.Identity;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace CafConnect.IdP.Features.AccountCreation;

/// <summary>
/// « Recevoir mon code de vérification » (with a NIR, after a full civil-status match): the contacts the agency's records
/// hold for the person, masked as everywhere (<see cref="MaskedContact"/>), as a choice. The form posts a channel, never a
/// contact: the flow looks the contact up in the records (docs/decisions.md #16).
/// </summary>
public sealed class ChooseContactPage(AccountCreationJourney journey) : AccountCreationPage(journey)
{
    protected override string State => AccountCreationStates.ChooseContact;

    [BindProperty]
    public string? Choice { get; set; }

    public IReadOnlyList<OwnContact> Offered { get; private set; } = [];

    public override async Task<IActionResult> OnGetAsync()
    {
        var result = await base.OnGetAsync();
        await ShowOfferedAsync(result);
        return result;
    }

    public async Task<IActionResult> OnPostAsync()
    {
        var result = await RunAsync(step => Journey.ChooseContactAsync(step, Choice, HttpContext.RequestAborted));
        await ShowOfferedAsync(result);
        return result;
    }

    /// <summary>The choices, when this page is the answer (not a redirect, not a flow problem).</summary>
    private async Task ShowOfferedAsync(IActionResult result)
    {
        if (result is PageResult && Problem is null)
        {
            Offered = await Journey.OfferedContactsAsync(Step, HttpContext.RequestAborted);
        }
    }
}
