using CafConnect.Infrastructure.Terms;
using Microsoft.AspNetCore.Mvc;

namespace CafConnect.IdP.Features.FirstLogin;

/// <summary>"CONDITIONS GÉNÉRALES D'UTILISATION": read, tick, continue.</summary>
public sealed class TermsPage(FirstLoginJourney journey, TermsOfUseCatalog catalog) : FirstLoginPage(journey)
{
    protected override string State => FirstLoginStates.Terms;

    public TermsOfUseVersion? Terms { get; private set; }

    [BindProperty]
    public bool Accepted { get; set; }

    public override async Task OnPageHandlerExecutionAsync(Microsoft.AspNetCore.Mvc.Filters.PageHandlerExecutingContext context, Microsoft.AspNetCore.Mvc.Filters.PageHandlerExecutionDelegate next)
    {
        Terms = await catalog.CurrentAsync(HttpContext.RequestAborted);
        await next();
    }

    public Task<IActionResult> OnPostAsync() => RunAsync(step => Journey.AcceptTermsAsync(HttpContext, step, Accepted, HttpContext.RequestAborted));
}
