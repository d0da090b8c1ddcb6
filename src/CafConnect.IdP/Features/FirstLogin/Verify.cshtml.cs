using CafConnect.Domain.Contacts;
using CafConnect.Infrastructure.Verification;
using Microsoft.AspNetCore.Mvc;

namespace CafConnect.IdP.Features.FirstLogin;

/// <summary>"VÉRIFICATION DE MES COORDONNÉES DE CONTACT": the 6-digit code, resend, change contact.</summary>
public sealed class VerifyPage(FirstLoginJourney journey) : FirstLoginPage(journey)
{
    protected override string State => FirstLoginStates.Verify;

    [BindProperty]
    public string? Code { get; set; }

    [BindProperty(SupportsGet = true, Name = Application.CodeStep.VerificationCodeStep.ResentParameter)]
    public bool Resent { get; set; }

    public bool BySms => Step.Context.Channel == ContactChannel.Sms;

    /// <summary>Where the code went; masked while it is the records' contact being proven (whoever types may not be its owner).</summary>
    public string ContactDisplay
    {
        get
        {
            var display = BySms ? FrenchMobile.Display(Step.Context.Contact ?? string.Empty) : Step.Context.Contact ?? string.Empty;
            return Step.Context.MustProveRecordsContact && !Step.Context.RecordsContactProven
                ? MaskedContact.Of(BySms ? ContactChannel.Sms : ContactChannel.Email, Step.Context.Contact ?? string.Empty)
                : display;
        }
    }

    public Task<IActionResult> OnPostAsync() => RunAsync(step => Journey.VerifyCodeAsync(HttpContext, step, Code, HttpContext.RequestAborted));

    public Task<IActionResult> OnPostResendAsync() => RunAsync(step => Journey.ResendCodeAsync(step, HttpContext.RequestAborted));

    public Task<IActionResult> OnPostChangeContactAsync() => RunAsync(step => Journey.BackToContactAsync(step, HttpContext.RequestAborted));
}
