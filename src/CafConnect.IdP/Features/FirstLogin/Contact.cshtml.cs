using CafConnect.Application.Identity;
using CafConnect.Domain.Contacts;
using CafConnect.Infrastructure.Notifications;
using CafConnect.Infrastructure.Verification;
using Microsoft.AspNetCore.Mvc;

namespace CafConnect.IdP.Features.FirstLogin;

/// <summary>"COORDONNÉES DE CONTACT": SMS or e-mail, pre-filled from the file, editable; may be skipped.</summary>
public sealed class ContactPage(FirstLoginJourney journey) : FirstLoginPage(journey)
{
    protected override string State => FirstLoginStates.Contact;

    [BindProperty]
    public ContactChannel? Channel { get; set; }

    [BindProperty]
    public string? Mobile { get; set; }

    [BindProperty]
    public string? Email { get; set; }

    /// <summary>
    /// The records' contacts, masked, when this step must prove one of them first (legacy-code first login): the form is
    /// then not pre-filled with them, so whoever knows the file's code does not read them.
    /// </summary>
    public IReadOnlyList<string> RecordsContactsToProve { get; private set; } = [];

    public string SmsValidity => Journey.CodeValidity(ContactChannel.Sms);
    public string EmailValidity => Journey.CodeValidity(ContactChannel.Email);

    public override async Task<IActionResult> OnGetAsync()
    {
        if (await LoadAsync() is { } elsewhere)
        {
            return elsewhere;
        }
        if (Step.Context.MustProveRecordsContact && !Step.Context.RecordsContactProven)
        {
            var own = ContactProof.OwnContacts(Step.Person);
            RecordsContactsToProve = [.. own.Select(MaskedContact.Way)];
            Channel = Step.Context.Channel ?? own.FirstOrDefault()?.Channel;
            return Page();
        }
        // Pre-filled from the file (or from what was typed before "Modifier mes coordonnées").
        Channel = Step.Context.Channel ?? (Step.Person.MobilePhone is not null ? ContactChannel.Sms : Step.Person.Email is not null ? ContactChannel.Email : null);
        Mobile = Step.Context.Channel == ContactChannel.Sms ? FrenchMobile.Display(Step.Context.Contact!) : Step.Person.MobilePhone is { } mobile ? FrenchMobile.Display(mobile) : null;
        Email = Step.Context.Channel == ContactChannel.Email ? Step.Context.Contact : Step.Person.Email;
        return Page();
    }

    public Task<IActionResult> OnPostAsync() => RunAsync(step => Journey.ChooseContactAsync(HttpContext, step, Channel, Mobile, Email, HttpContext.RequestAborted));

    public Task<IActionResult> OnPostSkipAsync() => RunAsync(step => Journey.SkipContactAsync(HttpContext, step, HttpContext.RequestAborted));
}
