using CafConnect.Infrastructure.Verification;
using Microsoft.AspNetCore.Mvc;

namespace CafConnect.IdP.Features.AccountCreation;

/// <summary>« Vérification de mes coordonnées de contact »: nothing is created or activated before the right code.</summary>
public sealed class VerifyPage(AccountCreationJourney journey) : AccountCreationPage(journey)
{
    protected override string State => AccountCreationStates.Verify;

    [BindProperty]
    public string? Code { get; set; }

    [BindProperty(SupportsGet = true, Name = Application.CodeStep.VerificationCodeStep.ResentParameter)]
    public bool Resent { get; set; }

    public bool BySms => Step.Context.Channel == ContactChannel.Sms;

    /// <summary>With a NIR the contact is the records' one, shown masked (whoever typed the civil status may not own it).</summary>
    public bool WithNir => Step.Context.Path == CreationPath.WithNir;

    public string ContactDisplay => WithNir
        ? MaskedContact.Of(Step.Context.Channel, Step.Context.Contact)
        : CivilStatusInput.Display(Step.Context.Channel, Step.Context.Contact);

    public string Validity => Journey.CodeValidity(Step.Context.Channel);

    public Task<IActionResult> OnPostAsync() => RunAsync(step => Journey.VerifyCodeAsync(HttpContext, step, Code, HttpContext.RequestAborted));

    public Task<IActionResult> OnPostChangeContactAsync() => RunAsync(step => Journey.BackToChoiceAsync(step, HttpContext.RequestAborted));

    public Task<IActionResult> OnPostResendAsync() => RunAsync(step => Journey.ResendCodeAsync(step, HttpContext.RequestAborted));
}
