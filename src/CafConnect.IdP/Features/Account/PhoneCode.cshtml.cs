using CafConnect.Application.Credentials;
using CafConnect.Domain.Accounts;
using CafConnect.IdP.Sessions;
using CafConnect.Infrastructure.Accounts;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace CafConnect.IdP.Features.Account;

/// <summary>
/// « Mon code confidentiel pour le téléphone » from « Mon compte » (issue 16, item 8): the current password, then an
/// 8-digit keypad code and its confirmation. Glue only: the rules are <see cref="SetPhoneCode"/>'s.
/// </summary>
public sealed class PhoneCodePage(PersonDirectory persons, SetPhoneCode setPhoneCode) : PageModel
{
    public const string CurrentField = SetPhoneCodeResult.CurrentField;
    public const string CodeField = SetPhoneCodeResult.CodeField;
    public const string ConfirmationField = SetPhoneCodeResult.ConfirmationField;

    [BindProperty] public string? Current { get; set; }
    [BindProperty] public string? Code { get; set; }
    [BindProperty] public string? Confirmation { get; set; }

    [BindProperty(SupportsGet = true, Name = "enregistre")]
    public bool Saved { get; set; }

    /// <summary>Whether the person already has a code (the page then offers to change it).</summary>
    public bool HasCode { get; private set; }

    public IReadOnlyDictionary<string, string> Errors { get; private set; } = new Dictionary<string, string>();
    public string? Error(string field) => Errors.TryGetValue(field, out var message) ? message : null;

    public async Task<IActionResult> OnGetAsync() => await LoadAsync() is null ? Redirect("/deconnexion") : Page();

    public async Task<IActionResult> OnPostAsync()
    {
        if (await LoadAsync() is not { } person)
        {
            return Redirect("/deconnexion");
        }
        var result = await setPhoneCode.ExecuteAsync(new SetPhoneCodeRequest(person, Current, Code, Confirmation,
            HttpContext.Connection.RemoteIpAddress), HttpContext.RequestAborted);
        // Secrets typed are never sent back in the page.
        Current = Code = Confirmation = null;
        if (!result.Succeeded)
        {
            Errors = new Dictionary<string, string> { [result.Field!] = result.Message! };
            Response.StatusCode = StatusCodes.Status400BadRequest;
            return Page();
        }
        return LocalRedirect("/mon-compte/code-telephone?enregistre=true");
    }

    private async Task<PersonAccount?> LoadAsync()
    {
        var person = User.PersonId() is { } id ? await persons.FindByIdAsync(id, HttpContext.RequestAborted) : null;
        if (person is null || person.IsClosed)
        {
            return null;
        }
        HasCode = person.PhoneCodeHash is not null;
        return person;
    }
}
