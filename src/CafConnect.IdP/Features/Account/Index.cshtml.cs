using CafConnect.Domain.Accounts;
using CafConnect.IdP.Sessions;
using CafConnect.Infrastructure.Accounts;
using CafConnect.Infrastructure.Households;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace CafConnect.IdP.Features.Account;

/// <summary>"Mon compte": where a person lands after signing in without a relying party.</summary>
public sealed class AccountPage(PersonDirectory persons, DelegationService delegations) : PageModel
{
    public PersonAccount Person { get; private set; } = null!;

    /// <summary>« Mes autorisations » is offered only to a holder living as a couple.</summary>
    public bool CanManageDelegation { get; private set; }

    /// <summary>« Mon foyer » (members, invitations) is offered to a file holder.</summary>
    public bool HoldsAFile => HouseholdInvitationService.HeldFiles(Person).Count > 0;

    public async Task<IActionResult> OnGetAsync()
    {
        var person = User.PersonId() is { } id ? await persons.FindByIdAsync(id, HttpContext.RequestAborted) : null;
        if (person is null || person.IsClosed)
        {
            return Redirect("/deconnexion");
        }
        Person = person;
        CanManageDelegation = (await delegations.QuestionsForAsync(person, HttpContext.RequestAborted)).Count > 0;
        return Page();
    }

    /// <summary>
    /// The page has no form of its own: a POST, or a handler it does not have, would render it without <see cref="OnGetAsync"/>
    /// and so without its person (a 500, adversarial review of 6 December 2026, eighth session). It is shown again instead.
    /// </summary>
    public override async Task OnPageHandlerExecutionAsync(Microsoft.AspNetCore.Mvc.Filters.PageHandlerExecutingContext context,
        Microsoft.AspNetCore.Mvc.Filters.PageHandlerExecutionDelegate next)
    {
        if (context.HandlerMethod is null)
        {
            context.Result = Redirect("/mon-compte");
            return;
        }
        await next();
    }

    /// <summary>The role's French label (one table, in the Domain: <see cref="CafConnect.Domain.Households.HouseholdRoleNames.Label"/>).</summary>
    public static string RoleLabel(CafConnect.Domain.Households.HouseholdRole role) => CafConnect.Domain.Households.HouseholdRoleNames.Label(role);
}
