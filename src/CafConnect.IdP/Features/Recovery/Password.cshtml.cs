using CafConnect.Domain.Passwords;
using Microsoft.AspNetCore.Mvc;

namespace CafConnect.IdP.Features.Recovery;

/// <summary>"CHOISIR UN NOUVEAU MOT DE PASSE", once the code is verified.</summary>
public sealed class NewPasswordPage(RecoveryJourney journey) : RecoveryPage(journey)
{
    protected override string State => RecoveryStates.Password;

    [BindProperty]
    public string? Password { get; set; }

    [BindProperty]
    public string? Confirmation { get; set; }

    public IReadOnlyList<ChecklistRule> Checklist => PersonalPasswordPolicy.ChecklistRules;

    public async Task<IActionResult> OnPostAsync()
    {
        var result = await RunAsync(step => Journey.ChoosePasswordAsync(step, Password, Confirmation, HttpContext.RequestAborted));
        // A password typed is never sent back in the page.
        Password = Confirmation = null;
        return result;
    }
}
