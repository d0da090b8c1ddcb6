using Microsoft.AspNetCore.Mvc;

namespace CafConnect.IdP.Features.AccountCreation;

/// <summary>« RÉCAPITULATIF DE MA CRÉATION DE COMPTE » (seed 003): the provisional identifier and what was declared.</summary>
public sealed class SummaryPage(AccountCreationJourney journey) : AccountCreationPage(journey)
{
    protected override string State => AccountCreationStates.Summary;

    public DeclaredCivilStatus Declared => Step.Context.Declared!;

    public string ContactLabel => Step.Context.Channel == Infrastructure.Verification.ContactChannel.Sms ? "Téléphone portable" : "Adresse mail";

    public string ContactDisplay => CivilStatusInput.Display(Step.Context.Channel, Step.Context.Contact);

    public Task<IActionResult> OnPostAsync() => RunAsync(step => Journey.ContinueAsync(HttpContext, step, HttpContext.RequestAborted));
}
