using CafConnect.Application.Credentials;
using CafConnect.Application.Identity;
using CafConnect.Application.Persistence;
using CafConnect.Domain.Accounts;
using CafConnect.Domain.Contacts;
using CafConnect.Domain.Passwords;
using CafConnect.IdP.Sessions;
using CafConnect.Infrastructure.Accounts;
using CafConnect.Infrastructure.Notifications;
using CafConnect.Infrastructure.Verification;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace CafConnect.IdP.Features.Account;

/// <summary>
/// « Changer mon mot de passe » from « Mon compte » (issue 16, seed 000): the current password, the new one with the live
/// checklist, a notice naming the verified contacts that will be told; every other session and grant ends, this browser
/// stays signed in (a fresh session). Glue only: the rules are <see cref="ChangePassword"/>'s.
/// </summary>
public sealed class ChangePasswordPage(PersonDirectory persons, ChangePassword change, IUnitOfWork unitOfWork, TimeProvider clock) : PageModel
{
    public const string CurrentField = ChangePasswordResult.CurrentField;
    public const string PasswordField = SetPersonalPasswordResult.PasswordField;
    public const string ConfirmationField = SetPersonalPasswordResult.ConfirmationField;

    [BindProperty] public string? Current { get; set; }
    [BindProperty] public string? Password { get; set; }
    [BindProperty] public string? Confirmation { get; set; }

    [BindProperty(SupportsGet = true, Name = "modifie")]
    public bool Changed { get; set; }

    public IReadOnlyDictionary<string, string> Errors { get; private set; } = new Dictionary<string, string>();
    public string? Error(string field) => Errors.TryGetValue(field, out var message) ? message : null;
    public IReadOnlyList<ChecklistRule> Checklist => PersonalPasswordPolicy.ChecklistRules;

    /// <summary>Where the « mot de passe modifié » message goes, masked (the verified contacts), or empty.</summary>
    public IReadOnlyList<string> ToldContacts { get; private set; } = [];

    public async Task<IActionResult> OnGetAsync() => await LoadAsync() is null ? Redirect("/deconnexion") : Page();

    public async Task<IActionResult> OnPostAsync()
    {
        if (await LoadAsync() is not { } person)
        {
            return Redirect("/deconnexion");
        }
        var result = await change.ExecuteAsync(new ChangePasswordRequest(person, Current, Password, Confirmation,
            HttpContext.Connection.RemoteIpAddress, User.Facts()?.SessionId), HttpContext.RequestAborted);
        // A password typed is never sent back in the page.
        Current = Password = Confirmation = null;
        if (!result.Succeeded)
        {
            Errors = new Dictionary<string, string> { [result.Field!] = result.Message! };
            Response.StatusCode = StatusCodes.Status400BadRequest;
            return Page();
        }
        // The password is newer than this browser's session: a fresh one keeps the person signed in here only.
        var session = await PersonSession.SignInAsync(HttpContext, person, "pwd", clock);
        HttpContext.Items[HttpAuditContextAccessor.SessionIdItem] = session.SessionId;
        // The new session's row (the registry only appends it): without it every instance refuses the new cookie.
        await unitOfWork.CommitAsync(HttpContext.RequestAborted);
        return LocalRedirect("/mon-compte/mot-de-passe?modifie=true");
    }

    private async Task<PersonAccount?> LoadAsync()
    {
        var person = User.PersonId() is { } id ? await persons.FindByIdAsync(id, HttpContext.RequestAborted) : null;
        if (person is null || person.IsClosed)
        {
            return null;
        }
        ToldContacts = [.. ContactProof.OwnContacts(person).Where(c => c.Origin == ContactOrigin.Verified).Take(1).Select(MaskedContact.Way)];
        return person;
    }
}
