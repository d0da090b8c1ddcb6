using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace CafConnect.IdP.Features.AccountCreation;

/// <summary>
/// « Rejoindre le dossier … ? »: an open invitation for the person who just proved their civil status and contact.
/// Only the file accepted here is joined, one invitation at a time; refusing leaves the person's account without it.
/// </summary>
public sealed class JoinFilePage(AccountCreationJourney journey) : AccountCreationPage(journey)
{
    protected override string State => AccountCreationStates.Invitation;

    public InvitationOffer? Offer { get; private set; }

    /// <summary>The invitation the page showed (the flow holds which one is next; this only says which one is answered).</summary>
    [BindProperty(Name = "Invitation")]
    public Guid? Answered { get; set; }

    public override async Task<IActionResult> OnGetAsync()
    {
        if (await LoadAsync() is { } elsewhere)
        {
            return elsewhere;
        }
        Offer = await Journey.CurrentInvitationAsync(Step, HttpContext.RequestAborted);
        return Page();
    }

    public async Task<IActionResult> OnPostJoinAsync()
    {
        var result = await RunAsync(step => Journey.AnswerInvitationAsync(HttpContext, step, Answered, join: true, HttpContext.RequestAborted));
        return await WithOfferAsync(result);
    }

    public async Task<IActionResult> OnPostDeclineAsync()
    {
        var result = await RunAsync(step => Journey.AnswerInvitationAsync(HttpContext, step, Answered, join: false, HttpContext.RequestAborted));
        return await WithOfferAsync(result);
    }

    /// <summary>When the page is shown again (a refusal), it shows the invitation now first in line.</summary>
    private async Task<IActionResult> WithOfferAsync(IActionResult result)
    {
        if (result is PageResult && Problem is null)
        {
            Offer = await Journey.CurrentInvitationAsync(Step, HttpContext.RequestAborted);
        }
        return result;
    }
}
