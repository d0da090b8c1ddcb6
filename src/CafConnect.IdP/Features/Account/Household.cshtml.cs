using CafConnect.Domain.Accounts;
using CafConnect.Domain.Households;
using CafConnect.IdP.Sessions;
using CafConnect.Infrastructure.Accounts;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace CafConnect.IdP.Features.Account;

/// <summary>
/// « Mon foyer »: the members of the files the person holds, and the invitation of a member of 16 or more to create
/// their own account (seed 001). Anyone but a file holder gets a 403 with a French explanation.
/// </summary>
public sealed class HouseholdPage(PersonDirectory persons, HouseholdInvitationService invitations) : PageModel
{
    public sealed record FileView(Household Household, IReadOnlyList<(PersonAccount Person, HouseholdRole Role)> Members, IReadOnlyList<HouseholdInvitation> Invitations);

    public IReadOnlyList<FileView> Files { get; private set; } = [];
    public bool Refused { get; private set; }
    public IReadOnlyDictionary<string, string> Errors { get; private set; } = new Dictionary<string, string>();

    [BindProperty] public string? FileNumber { get; set; }
    [BindProperty] public string? Role { get; set; }
    [BindProperty] public string? BirthName { get; set; }
    [BindProperty] public string? GivenNames { get; set; }
    [BindProperty] public string? BirthDate { get; set; }
    [BindProperty] public string? Contact { get; set; }

    [BindProperty(SupportsGet = true, Name = "invitation")]
    public string? Sent { get; set; }

    public string? Error(string field) => Errors.TryGetValue(field, out var message) ? message : null;

    public async Task<IActionResult> OnGetAsync()
    {
        if (await LoadAsync() is null)
        {
            return Redirect("/deconnexion");
        }
        return Refused ? RefusedPage() : Page();
    }

    public async Task<IActionResult> OnPostAsync()
    {
        if (await LoadAsync() is not { } holder)
        {
            return Redirect("/deconnexion");
        }
        if (Refused)
        {
            return RefusedPage();
        }
        var (errors, limited) = await invitations.InviteAsync(holder, new InvitationRequest(FileNumber, Role, BirthName, GivenNames, BirthDate, Contact),
            HttpContext.Connection.RemoteIpAddress, HttpContext.RequestAborted);
        if (errors.Count == 0)
        {
            return Redirect("/mon-compte/foyer?invitation=envoyee");
        }
        Errors = errors;
        Response.StatusCode = limited ? StatusCodes.Status429TooManyRequests : StatusCodes.Status400BadRequest;
        return Page();
    }

    private async Task<PersonAccount?> LoadAsync()
    {
        var person = User.PersonId() is { } id ? await persons.FindByIdAsync(id, HttpContext.RequestAborted) : null;
        if (person is null || person.IsClosed)
        {
            return null;
        }
        var files = new List<FileView>();
        foreach (var household in HouseholdInvitationService.HeldFiles(person))
        {
            var members = await invitations.MembersOfAsync(household, HttpContext.RequestAborted);
            var roles = household.Members.ToDictionary(m => m.PersonId, m => m.Role);
            files.Add(new FileView(household,
                members.Select(m => (m, roles.TryGetValue(m.Id, out var role) ? role : HouseholdRole.Autre)).OrderBy(m => m.Item2).ToList(),
                await invitations.OpenInvitationsAsync(household, HttpContext.RequestAborted)));
        }
        Files = files;
        Refused = files.Count == 0;
        return person;
    }

    private IActionResult RefusedPage()
    {
        Response.StatusCode = StatusCodes.Status403Forbidden;
        return Page();
    }

    public static bool HasAccount(PersonAccount person) => person.HoldsAnAccount();
}
