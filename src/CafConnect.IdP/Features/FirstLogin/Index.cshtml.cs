using Microsoft.AspNetCore.Mvc;

namespace CafConnect.IdP.Features.FirstLogin;

/// <summary>"VOTRE CONNEXION À « MON COMPTE » CHANGE !": the migration's welcome, with Quitter / Commencer.</summary>
public sealed class IntroPage(FirstLoginJourney journey) : FirstLoginPage(journey)
{
    protected override string State => FirstLoginStates.Intro;

    public Task<IActionResult> OnPostAsync() => RunAsync(step => Journey.BeginAsync(HttpContext, step, HttpContext.RequestAborted));
}
