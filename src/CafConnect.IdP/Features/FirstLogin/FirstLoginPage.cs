using CafConnect.Infrastructure.Flows;

namespace CafConnect.IdP.Features.FirstLogin;

/// <summary>A step page of the first-login journey (flow loading and step running: <see cref="FlowStepPage{TStep}"/>).</summary>
public abstract class FirstLoginPage(FirstLoginJourney journey) : FlowStepPage<FirstLoginStep>
{
    protected FirstLoginJourney Journey { get; } = journey;

    /// <summary>"Étape 2 sur 3" for the page's action, or null when the flow asks one step only.</summary>
    public string? Progress(Domain.Accounts.RequiredAction action) =>
        Step.Context.Asked.Count > 1 ? $"Étape {Step.Context.StepNumber(action)} sur {Step.Context.Asked.Count}" : null;

    protected override Task<(FlowLookup Lookup, FirstLoginStep? Step)> FindStepAsync() => Journey.LoadAsync(HttpContext, FlowId, HttpContext.RequestAborted);
    protected override SelfServiceFlow FlowOf(FirstLoginStep step) => step.Flow;
    protected override string UrlOf(SelfServiceFlow flow) => FirstLoginJourney.UrlOf(flow);
    protected override Task<StepResult> QuitAsync(FirstLoginStep step) => Journey.QuitAsync(step, HttpContext.RequestAborted);
}
