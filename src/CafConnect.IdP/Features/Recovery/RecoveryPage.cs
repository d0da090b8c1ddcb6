using CafConnect.Infrastructure.Flows;

namespace CafConnect.IdP.Features.Recovery;

/// <summary>A step page of « Mot de passe oublié ? » (flow loading and step running: <see cref="FlowStepPage{TStep}"/>).</summary>
public abstract class RecoveryPage(RecoveryJourney journey) : FlowStepPage<RecoveryStep>
{
    protected RecoveryJourney Journey { get; } = journey;

    protected override Task<(FlowLookup Lookup, RecoveryStep? Step)> FindStepAsync() => Journey.LoadAsync(HttpContext, FlowId, HttpContext.RequestAborted);
    protected override SelfServiceFlow FlowOf(RecoveryStep step) => step.Flow;
    protected override string UrlOf(SelfServiceFlow flow) => RecoveryJourney.UrlOf(flow);
    protected override Task<StepResult> QuitAsync(RecoveryStep step) => Journey.QuitAsync(step, HttpContext.RequestAborted);
}
