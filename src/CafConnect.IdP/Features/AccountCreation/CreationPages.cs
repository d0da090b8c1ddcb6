using CafConnect.Application.Navigation;
using CafConnect.IdP.Features.Shared;
using CafConnect.Infrastructure.Flows;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace CafConnect.IdP.Features.AccountCreation;

/// <summary>What the pages before the flow exists share: the return URL (checked like the login's) and the errors.</summary>
[AllowAnonymous]
public abstract class CreationFormPage : JourneyStartPage
{
    [BindProperty(SupportsGet = true, Name = "returnUrl")]
    public string? ReturnUrl { get; set; }

    /// <summary>"?returnUrl=…" to carry to the next page, or nothing.</summary>
    public string ReturnQuery(char separator = '?') => ReturnUrls.Usable(ReturnUrl) is { } url ? $"{separator}returnUrl={Uri.EscapeDataString(url)}" : string.Empty;

    /// <summary>The registered client the pending authorization request is for, or null.</summary>
    protected Task<string?> ClientIdAsync() =>
        HttpContext.RequestServices.GetRequiredService<RelyingParties>().RegisteredClientOfAsync(ReturnUrls.Usable(ReturnUrl), HttpContext.RequestAborted);
}

/// <summary>« Créer Mon Compte »: with or without a social-security number.</summary>
public sealed class ChoicePage : CreationFormPage
{
    public void OnGet()
    {
    }
}

/// <summary>Shown once a full civil-status match shows the person already has an account: login and recovery links.</summary>
public sealed class ExistingAccountPage : CreationFormPage
{
    public void OnGet()
    {
    }
}

/// <summary>A step page of the creation flow (flow loading and step running: <see cref="FlowStepPage{TStep}"/>).</summary>
public abstract class AccountCreationPage(AccountCreationJourney journey) : FlowStepPage<AccountCreationStep>
{
    protected AccountCreationJourney Journey { get; } = journey;

    protected override Task<(FlowLookup Lookup, AccountCreationStep? Step)> FindStepAsync() => Journey.LoadAsync(HttpContext, FlowId, HttpContext.RequestAborted);
    protected override SelfServiceFlow FlowOf(AccountCreationStep step) => step.Flow;
    protected override string UrlOf(SelfServiceFlow flow) => AccountCreationJourney.UrlOf(flow);
    protected override Task<StepResult> QuitAsync(AccountCreationStep step) => Journey.QuitAsync(step, HttpContext.RequestAborted);
}

/// <summary>
/// With a NIR, after a full civil-status match, when the records hold no contact: the activation code goes by letter
/// (docs/decisions.md #16). The page names every way in that the agency or the State vouches for, whoever asks.
/// </summary>
public sealed class LetterSentPage(Federation.FranceConnectOptions franceConnect) : CreationFormPage
{
    public bool FranceConnectEnabled => franceConnect.Enabled;

    public void OnGet()
    {
    }
}
