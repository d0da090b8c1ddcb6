using CafConnect.Infrastructure.Verification;
using Microsoft.AspNetCore.Mvc;

namespace CafConnect.IdP.Features.Recovery;

/// <summary>
/// "VÉRIFICATION": the 6-digit code. The page is the same for every identifier: it never shows the contact (even
/// masked), since that would tell whether the identifier has an account and part of its contact details.
/// </summary>
public sealed class CodePage(RecoveryJourney journey) : RecoveryPage(journey)
{
    protected override string State => RecoveryStates.Code;

    [BindProperty]
    public string? Code { get; set; }

    [BindProperty(SupportsGet = true, Name = Application.CodeStep.VerificationCodeStep.ResentParameter)]
    public bool Resent { get; set; }

    public Task<IActionResult> OnPostAsync() => RunAsync(step => Journey.VerifyCodeAsync(step, Code, HttpContext.Connection.RemoteIpAddress, HttpContext.RequestAborted));

    public Task<IActionResult> OnPostResendSmsAsync() => RunAsync(step => Journey.ResendCodeAsync(step, ContactChannel.Sms, HttpContext.RequestAborted));

    public Task<IActionResult> OnPostResendEmailAsync() => RunAsync(step => Journey.ResendCodeAsync(step, ContactChannel.Email, HttpContext.RequestAborted));
}
