using Microsoft.AspNetCore.Mvc;

namespace CafConnect.IdP.Features.AccountCreation;

/// <summary>
/// « Créer Mon Compte » avec mon numéro de Sécurité sociale: NIR and civil status. No contact is asked (a contact field
/// posted anyway is not bound): after a full match the records' contacts are offered, masked.
/// </summary>
public sealed class WithNirPage(AccountCreationJourney journey) : CreationFormPage
{
    [BindProperty] public string? Nir { get; set; }
    [BindProperty] public string? BirthName { get; set; }
    [BindProperty] public string? GivenNames { get; set; }
    [BindProperty] public string? BirthDate { get; set; }

    public void OnGet()
    {
    }

    public async Task<IActionResult> OnPostAsync()
    {
        var (result, limited) = await journey.StartWithNirAsync(HttpContext, new WithNirRequest(Nir, BirthName, GivenNames, BirthDate),
            CafConnect.Application.Navigation.ReturnUrls.OrAccountHome(ReturnUrl), await ClientIdAsync(), HttpContext.RequestAborted);
        return Answer(result, limited);
    }
}
