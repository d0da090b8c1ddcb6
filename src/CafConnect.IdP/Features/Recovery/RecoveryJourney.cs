using CafConnect.Application.CodeStep;
using CafConnect.Application.RateLimiting;
using CafConnect.Application.Persistence;
using CafConnect.Domain.Accounts;
using CafConnect.Domain.Identity;
using CafConnect.Domain.Passwords;
using CafConnect.IdP.Sessions;
using CafConnect.Infrastructure.Accounts;
using CafConnect.Infrastructure.Audit;
using CafConnect.Infrastructure.Flows;
using CafConnect.Infrastructure.Notifications;
using CafConnect.Infrastructure.Recovery;
using CafConnect.Infrastructure.Security;
using CafConnect.Infrastructure.Verification;
using System.Net;

namespace CafConnect.IdP.Features.Recovery;

/// <summary>An open recovery flow with its context and, for a real account, its person.</summary>
public sealed record RecoveryStep(SelfServiceFlow Flow, RecoveryContext Context, PersonAccount? Person);

/// <summary>
/// "Mot de passe oublié ?": identifier → code to the verified contact → new password, or, without a verified contact,
/// a provisional password by letter. Every identifier gets the same answer, the same pages and the same amount of
/// work (one flow, one code issued, one Argon2id computation, one audit row), so neither the page nor a stopwatch tells
/// whether an account exists; the request is limited per IP and per identifier.
/// </summary>
public sealed class RecoveryJourney(
    FlowStore flows, PersonDirectory persons, ISecretHasher hasher, VerificationCodeStep codeStep,
    CredentialReset reset, AuditTrail audit, FlowBrowserBinding binding, IJourneyRateLimiter limiter, JourneyRateLimitOptions limits,
    CafConnect.Infrastructure.Throttling.ILoginThrottle throttle, IUnitOfWork unitOfWork, TimeProvider clock)
{
    public static readonly TimeSpan FlowLifetime = TimeSpan.FromMinutes(30);

    /// <summary>A self-service request does not replace a provisional password sent less than this long ago (no letter bombing).</summary>
    public static readonly TimeSpan LetterInterval = TimeSpan.FromDays(1);

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
        };
        (context.Channel, context.Contact) = target ?? (ContactChannel.Sms, DecoyMobile);
        var flow = await flows.CreateAsync(RecoveryStates.FlowType, RecoveryStates.Code, target is null ? null : person!.Id, null,
            RecoveryStates.StartPath, FlowLifetime, binding.GetOrCreate(http), context, cancellationToken);
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
            else if (person.CredentialKind == CredentialKind.Provisional && person.PasswordSetAt is { } sent && clock.GetUtcNow() - sent < LetterInterval)
            {
                hasher.VerifyAgainstDummy(Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(8)));
                outcome = "letter_recently_sent";
            }
            else
            {
                // No verified contact: a provisional password by letter (seed 000), valid 2 months, replaced at first login.
                var delivery = await reset.InTransactionAsync(async ct =>
                {
                    var sentBy = await reset.IssueProvisionalPasswordAsync(person, $"provisional-password:{flow.Id}", ct);
                    audit.Append(new AuditEntry(AuditEventTypes.ProvisionalPasswordIssued, sentBy.Channel.ToString(), person.Id, Details: "by=self_service"));
                    return sentBy;
                }, cancellationToken);
                outcome = "provisional_" + delivery.Channel.ToString().ToLowerInvariant();
            }
        }
        audit.Append(new AuditEntry(AuditEventTypes.RecoveryRequested, outcome, found?.Id));
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

    /// <summary>"Demander un nouveau code", by SMS or by mail: to that verified contact, else to the other one.</summary>
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
        await flows.SaveAsync(step.Flow, cancellationToken);
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
        await flows.SaveAsync(step.Flow, cancellationToken);
        return StepResult.Go(UrlOf(step.Flow));
    }

    /// <summary>
    /// The new password. The journey ends on the login page, not signed in: the code proves the contact, not the
    /// password, and typing the new password once confirms it is known (or saved) before any session exists.
    /// </summary>
    public async Task<StepResult> ChoosePasswordAsync(RecoveryStep step, string? password, string? confirmation, CancellationToken cancellationToken)
    {
        var person = step.Person!;
        var check = PersonalPasswordPolicy.Check(password, await persons.PasswordContextOfAsync(person, cancellationToken));
        if (!check.IsAccepted)
        {
            return StepResult.Stay(PasswordField, string.Join(" ", check.Violations.Select(v => v.Message)));
        }
        if (!string.Equals(password, confirmation, StringComparison.Ordinal))
        {
            return StepResult.Stay(ConfirmationField, PasswordRules.ConfirmationMismatchMessage);
        }
        if (person.PasswordHash is not null && person.CredentialKind == CredentialKind.Personal && hasher.Verify(password!, person.PasswordHash) != SecretVerification.Failed)
        {
            return StepResult.Stay(PasswordField, "Choisissez un mot de passe différent de votre mot de passe actuel.");
        }

        await reset.InTransactionAsync(async ct =>
        {
            await reset.SetPersonalPasswordAsync(person, password!, $"password-reset:{step.Flow.Id}", ct);
            step.Flow.CompletedAt = clock.GetUtcNow();
            audit.Append(new AuditEntry(AuditEventTypes.PasswordReset, step.Context.Channel.ToString(), person.Id));
            return true;
        }, cancellationToken);
        // "Password recovery unlocks" (issue 7): the code proved the contact and the old password is gone, so the
        // failures counted against it no longer mean anything. After the commit: only a password really set unlocks.
        await throttle.ResetAsync(person.Id, "password_recovery", cancellationToken);
        await unitOfWork.CommitAsync(cancellationToken);
        return StepResult.Go("/connexion?motdepasse=modifie" + (step.Context.Provisional ? "&mode=provisoire" : string.Empty));
    }

    /// <summary>"Quitter": the flow ends; nothing changed.</summary>
    public async Task<StepResult> QuitAsync(RecoveryStep step, CancellationToken cancellationToken)
    {
        audit.Append(new AuditEntry(AuditEventTypes.FlowQuit, RecoveryStates.FlowType + ":" + step.Flow.State, step.Person?.Id));
        await flows.VoidAsync(step.Flow, cancellationToken);
        return StepResult.Go("/connexion" + (step.Context.Provisional ? "?mode=provisoire" : string.Empty));
    }

    /// <summary>The verified contact to use: the one asked for when verified, else SMS first (seed 003), else e-mail.</summary>
    private static (ContactChannel Channel, string Contact)? PreferredContact(PersonAccount person, ContactChannel? preferred)
    {
        var mobile = person.MobilePhoneVerified && person.MobilePhone is not null ? person.MobilePhone : null;
        var email = person.EmailVerified && person.Email is not null ? person.Email : null;
        return preferred switch
        {
            ContactChannel.Email when email is not null => (ContactChannel.Email, email),
            _ when mobile is not null => (ContactChannel.Sms, mobile),
            _ when email is not null => (ContactChannel.Email, email),
            _ => null,
        };
    }

    /// <summary>Issues a code for the flow's current target (the code step); a real one goes to the outbox, a decoy's goes nowhere.</summary>
    private async Task<string?> SendCodeAsync(RecoveryStep step, CancellationToken cancellationToken)
    {
        var sent = await codeStep.SendAsync(new SendCodeRequest(CodePurpose.PasswordRecovery, step.Flow.Id,
            new CodeDestination(step.Context.Channel, step.Context.Contact, Deliver: step.Person is not null), step.Person?.Id, null), cancellationToken);
        if (!sent.Sent)
        {
            return sent.Refusal;
        }
        FlowStore.WriteContext(step.Flow, step.Context);
        return null;
    }
}
