using CafConnect.Domain.Accounts;
using CafConnect.IdP.Sessions;
using CafConnect.Infrastructure.Accounts;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace CafConnect.IdP.Features.Account;

/// <summary>"Mon compte": where a person lands after signing in without a relying party.</summary>
public sealed class AccountPage(PersonDirectory persons) : PageModel
{
    public PersonAccount Person { get; private set; } = null!;

    public async Task<IActionResult> OnGetAsync()
    {
        var person = User.PersonId() is { } id ? await persons.FindByIdAsync(id, HttpContext.RequestAborted) : null;
        if (person is null || person.IsClosed)
        {
            return Redirect("/deconnexion");
        }
        Person = person;
        return Page();
    }

    public static string RoleLabel(CafConnect.Domain.Households.HouseholdRole role) => role switch
    {
        CafConnect.Domain.Households.HouseholdRole.Allocataire => "Responsable du dossier (allocataire)",
        CafConnect.Domain.Households.HouseholdRole.Conjoint => "Conjoint(e)",
        CafConnect.Domain.Households.HouseholdRole.ConjointAllocataire => "Conjoint(e) allocataire",
        CafConnect.Domain.Households.HouseholdRole.Enfant => "Enfant",
        _ => "Autre membre du foyer",
    };
}
