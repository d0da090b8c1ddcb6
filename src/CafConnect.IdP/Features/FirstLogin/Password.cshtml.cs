using CafConnect.Domain.Passwords;
using Microsoft.AspNetCore.Mvc;

namespace CafConnect.IdP.Features.FirstLogin;

/// <summary>"CHOISIR SON MOT DE PASSE": the personal password, with the live checklist of the five rules.</summary>
public sealed class PasswordPage(FirstLoginJourney journey) : FirstLoginPage(journey)
{
    protected override string State => FirstLoginStates.Password;

    [BindProperty]
    public string? Password { get; set; }

    [BindProperty]
    public string? Confirmation { get; set; }

    public IReadOnlyList<ChecklistRule> Checklist => PersonalPasswordPolicy.ChecklistRules;

    /// <summary>Why a new password is asked (legacy code, provisional, expired…), in French.</summary>
    public string Reason => Step.Context.IsAccountCreation ? AccountCreationReason : PasswordExpiryPolicy.MessageFor(Step.Context.SignedInWith switch
    {
        PasswordKind.LegacyFileCode => PasswordReplacementReason.LegacyCode,
        PasswordKind.Provisional => PasswordReplacementReason.ProvisionalFirstLogin,
        _ => PasswordReplacementReason.PersonalExpired,
    });

    public const string AccountCreationReason = "Pour terminer la création de votre compte, je choisis mon mot de passe personnel.";

    public async Task<IActionResult> OnPostAsync()
    {
        var result = await RunAsync(step => Journey.ChoosePasswordAsync(HttpContext, step, Password, Confirmation, HttpContext.RequestAborted));
        // A password typed is never sent back in the page.
        Password = Confirmation = null;
        return result;
    }
}
