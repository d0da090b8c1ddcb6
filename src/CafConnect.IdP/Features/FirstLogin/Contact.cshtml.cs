using CafConnect.Domain.Contacts;
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

    public string SmsValidity => Journey.CodeValidity(ContactChannel.Sms);
    public string EmailValidity => Journey.CodeValidity(ContactChannel.Email);

    public override async Task<IActionResult> OnGetAsync()
    {
        if (await LoadAsync() is { } elsewhere)
        {
            return elsewhere;
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
