using CafConnect.Application.CodeStep;
using CafConnect.Application.RateLimiting;
using CafConnect.Application.Persistence;
using CafConnect.Application.Credentials;
using CafConnect.Application.Identity;
using CafConnect.Domain.Accounts;
using CafConnect.Domain.Identity;
using CafConnect.Domain.Passwords;
using CafConnect.IdP.Sessions;
using CafConnect.Infrastructure.Accounts;
using CafConnect.Infrastructure.Audit;
using CafConnect.Infrastructure.Flows;
using CafConnect.Infrastructure.Notifications;
using CafConnect.Infrastructure.Security;
using CafConnect.Infrastructure.Verification;
using System.Net;

namespace CafConnect.IdP.Features.Recovery;

/// <summary>An open recovery flow with its context and, for a real account, its person.</summary>
public sealed record RecoveryStep(SelfServiceFlow Flow, RecoveryContext Context, PersonAccount? Person);

/// <summary>
/// "Mot de passe oublié ?": identifier → code to the person's own contact (verified, or held by the agency's records:
/// <see cref="ContactProof"/>) → new password, or, without one, a provisional password by letter. Nothing here cancels
/// the current password: it keeps working until the new one is set or the provisional one is first used. Every identifier gets the same answer, the same pages and the same amount of
/// work (one flow, one code issued, one Argon2id computation, one audit row), so neither the page nor a stopwatch tells
/// whether an account exists; the request is limited per IP and per identifier.
/// </summary>
public sealed class RecoveryJourney(
    FlowStore flows, PersonDirectory persons, ISecretHasher hasher, VerificationCodeStep codeStep,
    CredentialReset reset, AuditTrail audit, FlowBrowserBinding binding, IJourneyRateLimiter limiter, JourneyRateLimitOptions limits,
    CafConnect.Infrastructure.Throttling.ILoginThrottle throttle, SetPersonalPassword passwords, IUnitOfWork unitOfWork, TimeProvider clock)
{
    public static readonly TimeSpan FlowLifetime = FlowLifetimes.Recovery;

    /// <summary>A self-service request does not replace a provisional password sent less than this long ago (no letter bombing).</summary>

    public const string IdentifierField = "Identifier";
    public const string CodeField = "Code";
    public const string PasswordField = "Password";
    public const string ConfirmationField = "Confirmation";
    public const string FormField = StepResult.FormField;


    // Placeholder contacts of decoy flows: valid for the code store, never delivered.
    private const string DecoyMobile = "0600000000";
    private const string DecoyEmail = "personne@invalid.invalid";

    /// <summary>The identifier form. Null redirect with errors: stay; <see cref="StepResult.Errors"/> under <see cref="FormField"/> with 429: limited.</summary>
    public async Task<(StepResult Result, bool Limited)> StartAsync(HttpContext http, string? identifierInput, CancellationToken cancellationToken)
    {
        // Format errors depend only on what was typed: they say nothing about accounts.
        if (!LoginIdentifier.TryParse(identifierInput, out var identifier, out var error))
        {
            return (StepResult.Stay(IdentifierField, error), false);
        }
        if (!await limiter.AllowAsync(limits, "password", http.Connection.RemoteIpAddress, identifier.Value, cancellationToken))
        {
            audit.Append(new AuditEntry(AuditEventTypes.RecoveryRateLimited, "password"));
            await unitOfWork.CommitAsync(cancellationToken);
            return (StepResult.Stay(FormField, JourneyRateLimits.TooManyRequestsMessage), true);
        }

        var found = await persons.FindByLoginIdentifierAsync(identifier, cancellationToken);
        var person = found is { IsClosed: false } ? found : null;
        var target = person is null ? null : PreferredContact(person, preferred: null);
        var context = new RecoveryContext
        {
            Provisional = identifier.Kind == LoginIdentifierKind.Provisional,
            // Every branch spends a guess budget: the account's when the identifier names one (open or not reachable
            // by code), else the identifier's own, so a decoy flow is delayed and locked exactly like a real one.
            GuessBudgetKey = (found is { IsClosed: false }
                ? GuessBudget.ForAccount(found)
                : GuessBudget.ForClaimedIdentity(identifier.Kind.ToString().ToLowerInvariant() + ":" + identifier.Value)).Key,
            MessageCapKey = CafConnect.Infrastructure.Throttling.ThrottleKeys.ForClaimedIdentity(identifier.Kind.ToString().ToLowerInvariant() + ":" + identifier.Value),
        };
        (context.Channel, context.Contact) = target ?? (ContactChannel.Sms, DecoyMobile);
        var flow = flows.Add(RecoveryStates.FlowType, RecoveryStates.Code, target is null ? null : person!.Id, null,
            RecoveryStates.StartPath, FlowLifetime, binding.GetOrCreate(http), context);
        var step = new RecoveryStep(flow, context, target is null ? null : person);

        string outcome;
        if (target is not null)
        {
            await SendCodeAsync(step, cancellationToken);
            // The letter path computes one Argon2id hash: so does this one (timing).
            hasher.VerifyAgainstDummy(Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(8)));
            outcome = "code_sent";
        }
        else
        {
            await SendCodeAsync(step, cancellationToken);
            if (person is null)
            {
                hasher.VerifyAgainstDummy(Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(8)));
                outcome = found is null ? "unknown_identifier" : "closed_account";
            }
            else if (person.PendingProvisionalPasswordIssuedAt is { } sent && clock.GetUtcNow() - sent < ContactProof.LetterInterval)
            {
                hasher.VerifyAgainstDummy(Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(8)));
                outcome = "letter_recently_sent";
            }
            else
            {
                // No contact of their own (verified or on record): a provisional password by letter (seed 000), valid
                // 2 months, replaced at first login; the current password keeps working until it is first used.
                // Pending until first used (nothing is revoked now): stored with the flow, the message and the audit lines.
                var delivery = await reset.IssueProvisionalPasswordAsync(person, $"provisional-password:{flow.Id}", cancellationToken);
                audit.Append(new AuditEntry(AuditEventTypes.ProvisionalPasswordIssued, delivery.Channel.ToString(), person.Id, Details: "by=self_service"));
                outcome = "provisional_" + delivery.Channel.ToString().ToLowerInvariant();
            }
        }
        audit.Append(new AuditEntry(AuditEventTypes.RecoveryRequested, outcome, found?.Id));
        // The step's one commit: the flow, the code's message (or the provisional password's), the audit lines.
        await unitOfWork.CommitAsync(cancellationToken);
        return (StepResult.Go(UrlOf(flow)), false);
    }

    public async Task<(FlowLookup Lookup, RecoveryStep? Step)> LoadAsync(HttpContext http, string? flowId, CancellationToken cancellationToken)
    {
        var (lookup, flow) = await flows.FindAsync(flowId, RecoveryStates.FlowType, binding.Read(http), cancellationToken);
        if (lookup != FlowLookup.Found)
        {
            return (lookup, null);
        }
        PersonAccount? person = null;
        if (flow!.PersonId is { } personId)
        {
            person = await persons.FindByIdAsync(personId, cancellationToken);
            if (person is null || person.IsClosed)
            {
                return (FlowLookup.NotFound, null);
            }
        }
        return (FlowLookup.Found, new RecoveryStep(flow, FlowStore.ReadContext<RecoveryContext>(flow), person));
    }

    public static string UrlOf(SelfServiceFlow flow) => $"{RecoveryStates.PathOf(flow.State)}?flow={Uri.EscapeDataString(flow.Id)}";

    /// <summary>"Demander un nouveau code", by SMS or by mail: to that contact of the person's own, else to the other one.</summary>
    public async Task<StepResult> ResendCodeAsync(RecoveryStep step, ContactChannel? channel, CancellationToken cancellationToken)
    {
        // Sends are counted per flow (CodePurpose.PasswordRecovery): whether the other contact exists changes nothing
        // in the answer, only where a real code goes.
        if (step.Person is not null && PreferredContact(step.Person, channel) is { } target)
        {
            (step.Context.Channel, step.Context.Contact) = target;
        }
        else if (step.Person is null && channel is { } wanted)
        {
            (step.Context.Channel, step.Context.Contact) = wanted == ContactChannel.Email ? (ContactChannel.Email, DecoyEmail) : (ContactChannel.Sms, DecoyMobile);
        }
        var refused = await SendCodeAsync(step, cancellationToken);
        if (refused is not null)
        {
            return StepResult.Stay(FormField, refused);
        }
        FlowStore.MarkChanged(step.Flow);
        await unitOfWork.CommitAsync(cancellationToken);
        return StepResult.Go(VerificationCodeStep.MarkResent(UrlOf(step.Flow)));
    }

    public async Task<StepResult> VerifyCodeAsync(RecoveryStep step, string? code, IPAddress? clientIp, CancellationToken cancellationToken)
    {
        var budget = step.Person is not null ? GuessBudget.ForAccount(step.Person)
            // Flows started before budgets were kept in the context spend one of their own.
            : GuessBudget.ForStoredKey(step.Context.GuessBudgetKey ?? GuessBudget.ForClaimedIdentity("flow:" + step.Flow.Id).Key);
        var check = await codeStep.CheckAsync(new CheckCodeRequest(CodePurpose.PasswordRecovery, step.Flow.Id,
            new CodeDestination(step.Context.Channel, step.Context.Contact, Deliver: step.Person is not null), code, budget, clientIp, step.Person?.Id, null), cancellationToken);
        if (!check.Verified)
        {
            return StepResult.Stay(CodeField, check.Error!);
        }
        if (step.Person is null)
        {
            // A decoy's code is never delivered: reaching this means nothing a person could do; refuse like an old code.
            return StepResult.Stay(CodeField, CodeStepMessages.Expired);
        }
        step.Flow.State = RecoveryStates.Password;
        audit.Append(new AuditEntry(AuditEventTypes.RecoveryCodeVerified, step.Context.Channel.ToString(), step.Person.Id));
        FlowStore.MarkChanged(step.Flow);
        await unitOfWork.CommitAsync(cancellationToken);
        return StepResult.Go(UrlOf(step.Flow));
    }

    /// <summary>
    /// The new password. The journey ends on the login page, not signed in: the code proves the contact, not the
    /// password, and typing the new password once confirms it is known (or saved) before any session exists.
    /// </summary>
    public async Task<StepResult> ChoosePasswordAsync(RecoveryStep step, string? password, string? confirmation, CancellationToken cancellationToken)
    {
        var person = step.Person!;
        var request = new SetPersonalPasswordRequest(person, password, confirmation, PasswordSettingReason.Recovery,
            $"password-reset:{step.Flow.Id}", AuditOutcome: step.Context.Channel.ToString(), KeepFlowId: step.Flow.Id);
        var refused = await passwords.CheckAsync(request, cancellationToken);
        if (!refused.Succeeded)
        {
            return StepResult.Stay(refused.Field!, refused.Message!);
        }

        // The step's one commit, in one transaction (the grants' revocation runs in it): the password, the revocations,
        // the flow completed, the message and the audit lines.
        // "Password recovery unlocks" (issue 7): the code proved the contact and the old password is gone, so the
        // failures counted against it no longer mean anything. The lock is lifted once the password is written in the
        // transaction, and its audit line (when it was locked) is in the same commit.
        Func<CancellationToken, Task> unlock = _ => Task.CompletedTask;
        await reset.InTransactionAsync(async ct =>
        {
            flows.Complete(step.Flow);
            await passwords.ExecuteAsync(request, ct);
            unlock = await throttle.PrepareResetAsync(person.Id, "password_recovery", ct);
            return true;
        }, cancellationToken, afterWrite: ct => unlock(ct));
        return StepResult.Go("/connexion?motdepasse=modifie" + (step.Context.Provisional ? "&mode=provisoire" : string.Empty));
    }

    /// <summary>"Quitter": the flow ends; nothing changed.</summary>
    public async Task<StepResult> QuitAsync(RecoveryStep step, CancellationToken cancellationToken)
    {
        audit.Append(new AuditEntry(AuditEventTypes.FlowQuit, RecoveryStates.FlowType + ":" + step.Flow.State, step.Person?.Id));
        flows.Void(step.Flow);
        await unitOfWork.CommitAsync(cancellationToken);
        return StepResult.Go("/connexion" + (step.Context.Provisional ? "?mode=provisoire" : string.Empty));
    }

    /// <summary>The contact to use (<see cref="ContactProof"/>): the one asked for when the person has it, else SMS first (seed 000), else e-mail.</summary>
    private static (ContactChannel Channel, string Contact)? PreferredContact(PersonAccount person, ContactChannel? preferred) =>
        ContactProof.Destination(person, preferred) is { } own ? (own.Channel, own.Value) : null;

    /// <summary>Issues a code for the flow's current target (the code step); a real one goes to the outbox, a decoy's goes nowhere.</summary>
    private async Task<string?> SendCodeAsync(RecoveryStep step, CancellationToken cancellationToken)
    {
        var sent = await codeStep.SendAsync(new SendCodeRequest(CodePurpose.PasswordRecovery, step.Flow.Id,
            new CodeDestination(step.Context.Channel, step.Context.Contact, Deliver: step.Person is not null), step.Person?.Id, null,
            // Flows started before the key was kept count one of their own.
            step.Context.MessageCapKey ?? CafConnect.Infrastructure.Throttling.ThrottleKeys.ForClaimedIdentity("flow:" + step.Flow.Id)), cancellationToken);
        if (!sent.Sent)
        {
            return sent.Refusal;
        }
        FlowStore.WriteContext(step.Flow, step.Context);
        return null;
    }
}
