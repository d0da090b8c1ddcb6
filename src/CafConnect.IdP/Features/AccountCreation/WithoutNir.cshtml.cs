using Microsoft.AspNetCore.Mvc;

namespace CafConnect.IdP.Features.AccountCreation;

/// <summary>« Créer Mon Compte » sans numéro de Sécurité sociale: full civil status, residence and a contact.</summary>
public sealed class WithoutNirPage(AccountCreationJourney journey) : CreationFormPage
{
    [BindProperty] public string? Civility { get; set; }
    [BindProperty] public string? BirthName { get; set; }
    [BindProperty] public string? GivenNames { get; set; }
    [BindProperty] public string? BirthDate { get; set; }
    [BindProperty] public string? BirthCountry { get; set; }
    [BindProperty] public string? BirthCity { get; set; }
    [BindProperty] public string? Parent1BirthName { get; set; }
    [BindProperty] public string? Parent1GivenNames { get; set; }
    [BindProperty] public string? Parent2BirthName { get; set; }
    [BindProperty] public string? Parent2GivenNames { get; set; }
    [BindProperty] public string? PostalCode { get; set; }
    [BindProperty] public string? Contact { get; set; }

    public void OnGet()
    {
    }

    public async Task<IActionResult> OnPostAsync()
    {
        var (result, limited) = await journey.StartWithoutNirAsync(HttpContext, new WithoutNirRequest(Civility, BirthName, GivenNames, BirthDate,
            BirthCountry, BirthCity, Parent1BirthName, Parent1GivenNames, Parent2BirthName, Parent2GivenNames, PostalCode, Contact),
            CafConnect.Application.Navigation.ReturnUrls.OrAccountHome(ReturnUrl), await ClientIdAsync(), HttpContext.RequestAborted);
        return Answer(result, limited);
    }
}
