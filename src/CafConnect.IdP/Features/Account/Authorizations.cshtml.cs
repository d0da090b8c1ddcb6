using CafConnect.Application.Persistence;
using CafConnect.Domain.Accounts;
using CafConnect.IdP.Features.Shared;
using CafConnect.IdP.Sessions;
using CafConnect.Infrastructure.Accounts;
using CafConnect.Infrastructure.Households;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.EntityFrameworkCore;

namespace CafConnect.IdP.Features.Account;

/// <summary>
/// « Gérer Mon Compte > Mes autorisations » (seed 004): the holder of a file where they live as a couple grants or
/// withdraws the partner's delegation, at any time. Anyone else (the partner, a single holder, a child) gets a 403 with a
/// French explanation; the form is anti-forgery protected (Razor Pages validate every POST).
/// </summary>
public sealed class AuthorizationsPage(PersonDirectory persons, DelegationService delegations, IUnitOfWork unitOfWork) : PageModel
{
    public const string DelegateField = "Delegate";

    public IReadOnlyList<DelegationQuestion> Questions { get; private set; } = [];
    public bool Refused { get; private set; }
    public string? Confirmation { get; private set; }
    public IReadOnlyDictionary<string, string> Errors { get; private set; } = new Dictionary<string, string>();

    [BindProperty]
    public string? FileNumber { get; set; }

    [BindProperty]
    public bool? Delegate { get; set; }

    /// <summary>After a change (post, redirect, get): the file whose confirmation to show.</summary>
    [BindProperty(SupportsGet = true, Name = "modifie")]
    public string? Changed { get; set; }

    public async Task<IActionResult> OnGetAsync()
    {
        if (await LoadAsync() is not { } person)
        {
            return Redirect("/deconnexion");
        }
        if (Questions.Count == 0)
        {
            return RefusedPage();
        }
        if (Questions.FirstOrDefault(q => q.FileNumber == Changed) is { } changed)
        {
            Confirmation = changed.Delegated ? DelegationMessages.Granted : DelegationMessages.Withdrawn;
        }
        return Page();
    }

    public async Task<IActionResult> OnPostAsync()
    {
        if (await LoadAsync() is not { } person)
        {
            return Redirect("/deconnexion");
        }
        if (Questions.Count == 0)
        {
            return RefusedPage();
        }
        if (Delegate is not { } answer)
        {
            Errors = new Dictionary<string, string> { [DelegateField] = "Choisissez « Oui » ou « Non »." };
            Response.StatusCode = StatusCodes.Status400BadRequest;
            return Page();
        }
        DelegationChange change;
        try
        {
            change = await delegations.ChooseAsync(person, FileNumber ?? string.Empty, answer, clientId: null, HttpContext.RequestAborted);
            await unitOfWork.CommitAsync(HttpContext.RequestAborted);
        }
        catch (DbUpdateConcurrencyException)
        {
            // The account changed meanwhile (another tab, a login): nothing was saved; ask again on fresh data.
            Errors = new Dictionary<string, string> { [DelegateField] = "Votre choix n'a pas pu être enregistré. Vérifiez-le et validez à nouveau." };
            Response.StatusCode = StatusCodes.Status409Conflict;
            return Page();
        }
        if (change == DelegationChange.NotAllowed)
        {
            // A file number this person does not hold as a couple: nothing changed, nothing revealed.
            return RefusedPage();
        }
        return LocalRedirect("/mon-compte/autorisations?modifie=" + Uri.EscapeDataString(FileNumber!));
    }

    private async Task<PersonAccount?> LoadAsync()
    {
        var person = User.PersonId() is { } id ? await persons.FindByIdAsync(id, HttpContext.RequestAborted) : null;
        if (person is null || person.IsClosed)
        {
            return null;
        }
        Questions = await delegations.QuestionsForAsync(person, HttpContext.RequestAborted);
        return person;
    }

    private PageResult RefusedPage()
    {
        Refused = true;
        Response.StatusCode = StatusCodes.Status403Forbidden;
        return Page();
    }
}
