using CafConnect.Application.CodeStep;
using CafConnect.Application.Navigation;
using CafConnect.Application.Persistence;
using CafConnect.Application.SignIn;
using CafConnect.Application.Credentials;
using CafConnect.Application.Identity;
using CafConnect.Domain.Accounts;
using CafConnect.Domain.Contacts;
using CafConnect.Domain.Households;
using CafConnect.Domain.Identity;
using CafConnect.Domain.Passwords;
using CafConnect.IdP.Sessions;
using CafConnect.Infrastructure.Accounts;
using CafConnect.Infrastructure.Audit;
using CafConnect.Infrastructure.Flows;
using CafConnect.Infrastructure.Households;
using CafConnect.Infrastructure.Notifications;
using CafConnect.Infrastructure.Persistence;
using CafConnect.Infrastructure.Security;
using CafConnect.Infrastructure.Terms;
using CafConnect.Infrastructure.Verification;
using Microsoft.AspNetCore.Authentication;

namespace CafConnect.IdP.Features.FirstLogin;

/// <summary>An open flow with its person and context, as a step page needs it.</summary>
public sealed record FirstLoginStep(SelfServiceFlow Flow, FirstLoginContext Context, PersonAccount Person);

/// <summary>
/// The first-login journey and later required actions, as Keycloak-style steps on a Kratos-style server-side flow:
/// each step checks its input, commits what it changes, and moves the flow to the next pending action; the last
/// one opens the session and returns to the relying party.
/// </summary>
public sealed class FirstLoginJourney(
    FlowStore flows, PersonDirectory persons, CafConnectDbContext db, TermsOfUseCatalog terms,
    VerificationCodeStep codeStep, INotificationOutbox outbox, AuditTrail audit, FlowBrowserBinding binding, TimeProvider clock,
    DelegationService delegations, LoginOptions loginOptions, SetPersonalPassword passwords, ContactProof contactProof, IUnitOfWork unitOfWork,
    CommitSignIn signIns)
{
    public static readonly TimeSpan FlowLifetime = FlowLifetimes.FirstLogin;

    public const string TermsField = "Accepted";
    public const string PasswordField = "Password";
    public const string ConfirmationField = "Confirmation";
    public const string ChannelField = "Channel";
    public const string MobileField = "Mobile";
    public const string EmailField = "Email";
    public const string CodeField = "Code";
    public const string DelegateField = "Delegate";
    public const string FormField = StepResult.FormField;

    /// <summary>
    /// The flow of the steps still to do, added to the request's unit of work: the sign-in that hands over here commits
    /// it with the rest of what it changed (<see cref="CommitSignIn"/>), once.
    /// </summary>
    public SelfServiceFlow Start(HttpContext http, PersonAccount person, IReadOnlyList<RequiredAction> actions, PasswordKind signedInWith,
        string returnUrl, string? clientId, string authenticationMethod = "pwd", string? protectedFranceConnectLogoutHint = null,
        bool accountCreation = false)
    {
        var context = new FirstLoginContext
        {
            Remaining = [.. actions], Asked = [.. actions], SignedInWith = signedInWith,
            AuthenticationMethod = authenticationMethod, ProtectedFranceConnectLogoutHint = protectedFranceConnectLogoutHint, IsAccountCreation = accountCreation,
        };
        // The file's code is shared (the partner knows it) and a NIR is no secret: together they prove the account is the
        // file's, not that the person typing is its holder (docs/decisions.md #16). When the records hold a contact, the
        // contact step proves it (it cannot be skipped) before any session opens, and the password chosen before it waits
        // in the flow until it is proven: a flow left unfinished changes nothing. When they hold none, a letter tells the
        // person their account was activated (at the end of the journey).
        // After FranceConnect the State vouched for the person: nothing more to prove.
        var byFileCode = context.IsMigration && authenticationMethod != "fc";
        if (byFileCode && ContactProof.ContactToProveFirst(person) is not null)
        {
            context.MustProveRecordsContact = true;
        }
        context.RecordsHoldNoContact = byFileCode && !ContactProof.HasOwnContact(person);
        var state = context.IsMigration ? FirstLoginStates.Intro : FirstLoginStates.For(actions[0]);
        return flows.Add(FirstLoginStates.FlowType, state, person.Id, clientId, returnUrl, FlowLifetime, binding.GetOrCreate(http), context);
    }

    public async Task<(FlowLookup Lookup, FirstLoginStep? Step)> LoadAsync(HttpContext http, string? flowId, CancellationToken cancellationToken)
    {
        var (lookup, flow) = await flows.FindAsync(flowId, FirstLoginStates.FlowType, binding.Read(http), cancellationToken);
        if (lookup != FlowLookup.Found || flow!.PersonId is not { } personId)
        {
            return (lookup == FlowLookup.Found ? FlowLookup.NotFound : lookup, null);
        }
        var person = await persons.FindByIdAsync(personId, cancellationToken);
        if (person is null || person.IsClosed)
        {
            return (FlowLookup.NotFound, null);
        }
        return (FlowLookup.Found, new FirstLoginStep(flow, FlowStore.ReadContext<FirstLoginContext>(flow), person));
    }

    public static string UrlOf(SelfServiceFlow flow) => $"{FirstLoginStates.PathOf(flow.State)}?flow={Uri.EscapeDataString(flow.Id)}";

    public Task<StepResult> BeginAsync(HttpContext http, FirstLoginStep step, CancellationToken cancellationToken) =>
        AdvanceAsync(http, step, done: null, cancellationToken);

    public async Task<StepResult> AcceptTermsAsync(HttpContext http, FirstLoginStep step, bool accepted, CancellationToken cancellationToken)
    {
        if (!accepted)
        {
            return StepResult.Stay(TermsField, "Cochez la case pour accepter les conditions générales d'utilisation : elles sont nécessaires pour continuer.");
        }
        var current = await terms.CurrentAsync(cancellationToken) ?? throw new InvalidOperationException("No terms of use are published.");
        var now = clock.GetUtcNow();
        step.Person.AcceptedTermsVersion = current.Version;
        step.Person.TermsAcceptedAt = now;
        db.TermsAcceptances.Add(new TermsAcceptance { PersonId = step.Person.Id, Version = current.Version, AcceptedAt = now, Channel = "web" });
        audit.Append(new AuditEntry(AuditEventTypes.TermsAccepted, $"v{current.Version}", step.Person.Id, step.Flow.ClientId));
        return await AdvanceAsync(http, step, RequiredAction.AcceptTerms, cancellationToken);
    }

    public async Task<StepResult> ChoosePasswordAsync(HttpContext http, FirstLoginStep step, string? password, string? confirmation, CancellationToken cancellationToken)
    {
        // From here on the legacy code no longer opens this account on the web: the person has their own password.
        // The one password-setting use case: rules, hash, the one revocation policy, message and audit row.
        var request = PasswordRequest(step, password, confirmation);
        if (step.Context.MustProveRecordsContact && !step.Context.RecordsContactProven)
        {
            // The file's code and a NIR do not prove the holder: the password waits, hashed in the flow, until the
            // records' contact is proven at the next step; until then the account keeps its secret (the file's code).
            var refused = await passwords.CheckAsync(request, cancellationToken);
            if (!refused.Succeeded)
            {
                return StepResult.Stay(refused.Field!, refused.Message!);
            }
            step.Context.DeferredPasswordHash = passwords.HashForLater(password!);
            step.Context.Remaining.Remove(RequiredAction.ChooseNewPassword);
            return await AdvanceAsync(http, step, null, cancellationToken);
        }
        var result = await passwords.ExecuteAsync(request, cancellationToken);
        if (!result.Succeeded)
        {
            return StepResult.Stay(result.Field!, result.Message!);
        }
        PasswordBecameTheAccounts(step);
        return await AdvanceAsync(http, step, RequiredAction.ChooseNewPassword, cancellationToken);
    }

    /// <summary>
    /// The first password of a migration (file's code, or FranceConnect without a password) is now the account's: the
    /// account exists from here on, whether or not this journey reaches its end. What that owes the person goes on the
    /// account, not in the flow, so a journey left here and finished at a later login (no longer a migration) still
    /// owes it: « Votre compte est créé » at the end of whichever first-login journey ends (<see cref="AnnounceAccountCreatedIfOwed"/>);
    /// the letter to a person whose records hold no contact (« si ce n'est pas vous… ») now, with the password.
    /// </summary>
    private void PasswordBecameTheAccounts(FirstLoginStep step)
    {
        if (!step.Context.IsMigration)
        {
            return;
        }
        step.Person.AccountCreatedNoticeOwedSince ??= clock.GetUtcNow();
        if (step.Context.RecordsHoldNoContact)
        {
            // Nobody could prove a contact the agency knows: the person hears of it by post (« si ce n'est pas vous… »).
            outbox.Enqueue(new NotificationRequest(NotificationKind.AccountCreated, NotificationChannel.Letter, CredentialReset.LetterRecipient(step.Person),
                new Dictionary<string, string> { [NotificationTemplates.ActivationValue] = "true" }, step.Person.Id, $"account-activated-letter:{step.Person.Id}"));
        }
    }

    /// <summary>The one place « Votre compte est créé » is sent at the end of a first login (docs/decisions.md #27 for why on the account).</summary>
    private void AnnounceAccountCreatedIfOwed(FirstLoginStep step)
    {
        if (step.Person.AccountCreatedNoticeOwedSince is null)
        {
            return;
        }
        outbox.EnqueueToVerifiedContact(step.Person, NotificationKind.AccountCreated, new Dictionary<string, string>(), $"account-created:{step.Person.Id}");
        step.Person.AccountCreatedNoticeOwedSince = null;
    }

    private static SetPersonalPasswordRequest PasswordRequest(FirstLoginStep step, string? password, string? confirmation) =>
        new(step.Person, password, confirmation,
            step.Context.IsMigration || step.Context.IsAccountCreation ? PasswordSettingReason.FirstPassword : PasswordSettingReason.RequiredReplacement,
            $"password-changed:{step.Flow.Id}", step.Flow.ClientId, AuditOutcome: step.Context.SignedInWith.ToString(), KeepFlowId: step.Flow.Id);

    public async Task<StepResult> ChooseContactAsync(HttpContext http, FirstLoginStep step, ContactChannel? channel, string? mobile, string? email, CancellationToken cancellationToken)
    {
        if (channel is not (ContactChannel.Sms or ContactChannel.Email))
        {
            return StepResult.Stay(ChannelField, "Choisissez de recevoir le code par SMS ou par mail.");
        }
        var field = channel == ContactChannel.Sms ? MobileField : EmailField;
        var typed = channel == ContactChannel.Sms ? mobile : email;
        var proveFirst = step.Context.MustProveRecordsContact && !step.Context.RecordsContactProven
            ? ContactProof.ContactToProveFirst(step.Person, channel)
            : null;

        string? contact = null;
        if (proveFirst is null || !string.IsNullOrWhiteSpace(typed))
        {
            if (channel == ContactChannel.Sms ? !FrenchMobile.TryNormalise(mobile, out var normalised, out var error) : !EmailAddress.TryNormalise(email, out normalised, out error))
            {
                return StepResult.Stay(field, error);
            }
            contact = normalised;
            if (await contactProof.RefuseIfNotPersonalAsync(step.Person, channel.Value, contact, cancellationToken) is { } notPersonal)
            {
                return StepResult.Stay(field, notPersonal);
            }
        }

        if (proveFirst is not null)
        {
            // The code goes to the records' contact first; a different contact typed here is proven right after it.
            var another = contact is not null && !ContactProof.IsOwn(step.Person, channel.Value, contact);
            (step.Context.Channel, step.Context.Contact) = (proveFirst.Channel, proveFirst.Value);
            (step.Context.NextChannel, step.Context.NextContact) = another ? (channel, contact) : (null, null);
        }
        else
        {
            (step.Context.Channel, step.Context.Contact) = (channel, contact);
            (step.Context.NextChannel, step.Context.NextContact) = (null, null);
        }
        var sent = await SendCodeAsync(step, cancellationToken);
        if (sent is not null)
        {
            return StepResult.Stay(field, sent);
        }
        step.Flow.State = FirstLoginStates.Verify;
        FlowStore.WriteContext(step.Flow, step.Context);
        return await SaveAsync(step, cancellationToken) ?? StepResult.Go(UrlOf(step.Flow));
    }

    public async Task<StepResult> ResendCodeAsync(FirstLoginStep step, CancellationToken cancellationToken)
    {
        var refused = await SendCodeAsync(step, cancellationToken);
        if (refused is not null)
        {
            return StepResult.Stay(FormField, refused);
        }
        return await SaveAsync(step, cancellationToken) ?? StepResult.Go(VerificationCodeStep.MarkResent(UrlOf(step.Flow)));
    }

    public async Task<StepResult> VerifyCodeAsync(HttpContext http, FirstLoginStep step, string? code, CancellationToken cancellationToken)
    {
        if (step.Context.Channel is not { } channel || step.Context.Contact is not { } contact)
        {
            return await BackToContactAsync(step, cancellationToken);
        }
        var check = await codeStep.CheckAsync(new CheckCodeRequest(CodePurpose.ContactVerification, step.Flow.Id, new CodeDestination(channel, contact), code,
            GuessBudget.ForAccount(step.Person), http.Connection.RemoteIpAddress, step.Person.Id, step.Flow.ClientId), cancellationToken);
        if (!check.Verified)
        {
            return StepResult.Stay(CodeField, check.Error!);
        }

        var recordsContact = ContactProof.IsOwn(step.Person, channel, contact) ? ContactProof.Destination(step.Person, channel) : null;
        if (recordsContact is not null && step.Context.MustProveRecordsContact)
        {
            step.Context.RecordsContactProven = true;
            if (step.Context.DeferredPasswordHash is { } deferred)
            {
                // The holder is proven: the password chosen before becomes the account's, with what a new password revokes.
                await passwords.ApplyAsync(PasswordRequest(step, null, null), deferred, cancellationToken);
                step.Context.DeferredPasswordHash = null;
                PasswordBecameTheAccounts(step);
            }
        }
        if (step.Context.NextChannel is { } nextChannel && step.Context.NextContact is { } nextContact && recordsContact is not null)
        {
            // The records' contact is proven (and stays on file): now the other contact the person typed, whose
            // addition the records' contact is told of once it is proven.
            MarkVerified(step.Person, channel, contact);
            step.Context.ToldContactChannel = channel;
            step.Context.ToldContact = contact;
            (step.Context.Channel, step.Context.Contact) = (nextChannel, nextContact);
            (step.Context.NextChannel, step.Context.NextContact) = (null, null);
            audit.Append(new AuditEntry(AuditEventTypes.ContactVerified, channel.ToString(), step.Person.Id, step.Flow.ClientId, "origin=records"));
            // The records' contact proven (and the password it made the account's) is committed first, through the
            // step's own commit: a code the message ceiling refuses commits its audit line at once (VerificationCodeStep),
            // and that commit must not carry the person's changes past CommitSignIn's merge of concurrent sign-ins. It is
            // kept even when the next code is refused: the person asks again from the next page.
            FlowStore.WriteContext(step.Flow, step.Context);
            if (await SaveAsync(step, cancellationToken) is { } notStored)
            {
                return notStored;
            }
            var refused = await SendCodeAsync(step, cancellationToken);
            // The next code's message and audit line, with the flow.
            return await SaveAsync(step, cancellationToken)
                ?? (refused is not null ? StepResult.Stay(FormField, refused) : StepResult.Go(UrlOf(step.Flow)));
        }

        // A contact that is not one of the person's own is told to the contact it joins: the records' contact proven
        // just before (a first login with the file's code), or else the person's own contact that this one replaces or
        // sits beside. A login with the personal password may add a contact without proving the records' one; whoever
        // stole that password could otherwise put their own mobile on the account unseen, and with it receive the
        // « mot de passe modifié » notice and the recovery codes after the owner changed the password (adversarial
        // review of 6 December 2026, eighth session).
        var toldInstead = recordsContact is null && step.Context.ToldContact is null ? ContactProof.Destination(step.Person, channel) : null;
        MarkVerified(step.Person, channel, contact);
        if (toldInstead is not null)
        {
            (step.Context.ToldContactChannel, step.Context.ToldContact) = (toldInstead.Channel, toldInstead.Value);
        }
        if (step.Context.ToldContact is { } told && step.Context.ToldContactChannel is { } toldChannel && recordsContact is null)
        {
            outbox.Enqueue(new NotificationRequest(NotificationKind.ContactChanged,
                toldChannel == ContactChannel.Sms ? NotificationChannel.Sms : NotificationChannel.Email, told,
                new Dictionary<string, string> { ["new_contact"] = RecipientMask.Mask(channel == ContactChannel.Sms ? NotificationChannel.Sms : NotificationChannel.Email, contact) },
                step.Person.Id, $"contact-added:{step.Flow.Id}"));
            audit.Append(new AuditEntry(AuditEventTypes.ContactAdded, channel.ToString(), step.Person.Id, step.Flow.ClientId));
        }
        audit.Append(new AuditEntry(AuditEventTypes.ContactVerified, channel.ToString(), step.Person.Id, step.Flow.ClientId));
        return await AdvanceAsync(http, step, RequiredAction.VerifyContact, cancellationToken);
    }

    /// <summary>
    /// A first login with the file's code, when the records hold a contact: this step proves the account's holder, it
    /// cannot be skipped.
    /// </summary>
    public const string RecordsContactRequiredMessage =
        "Pour activer votre compte avec le code confidentiel de votre dossier, vous devez confirmer les coordonnées de contact connues de votre Caf : cette étape ne peut pas être passée.";

    private static void MarkVerified(PersonAccount person, ContactChannel channel, string contact)
    {
        if (channel == ContactChannel.Sms)
        {
            person.MobilePhone = contact;
            person.MobilePhoneVerified = true;
        }
        else
        {
            person.Email = contact;
            person.EmailVerified = true;
        }
    }

    public async Task<StepResult> SkipContactAsync(HttpContext http, FirstLoginStep step, CancellationToken cancellationToken)
    {
        if (step.Context.MustProveRecordsContact && !step.Context.RecordsContactProven)
        {
            return StepResult.Stay(FormField, RecordsContactRequiredMessage);
        }
        step.Person.ContactStepSkippedAt = clock.GetUtcNow();
        audit.Append(new AuditEntry(AuditEventTypes.ContactStepSkipped, null, step.Person.Id, step.Flow.ClientId));
        return await AdvanceAsync(http, step, RequiredAction.VerifyContact, cancellationToken);
    }

    /// <summary>The file the delegation step asks about: the first one held as a couple whose question is still open.</summary>
    public async Task<DelegationQuestion?> PendingDelegationAsync(FirstLoginStep step, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var pending = HouseholdDelegation.CouplesHeldBy(step.Person)
            .Where(c => HouseholdDelegation.NeedsChoice(c.Holder, c.Partner, now, loginOptions.DelegationReminderInterval))
            .Select(c => c.Holder.Household!.FileNumber)
            .ToHashSet(StringComparer.Ordinal);
        return (await delegations.QuestionsForAsync(step.Person, cancellationToken)).FirstOrDefault(q => pending.Contains(q.FileNumber));
    }

    /// <summary>« Continuer » with Oui or Non: recorded at once (audit, messages), then the next open question or the end.</summary>
    public async Task<StepResult> ChooseDelegationAsync(HttpContext http, FirstLoginStep step, string? fileNumber, bool? grant, CancellationToken cancellationToken)
    {
        var question = await PendingDelegationAsync(step, cancellationToken);
        if (question is null)
        {
            // Answered meanwhile (another tab, « Mes autorisations »): nothing left to ask.
            return await AdvanceAsync(http, step, RequiredAction.DelegationChoice, cancellationToken);
        }
        if (grant is not { } answer)
        {
            return StepResult.Stay(DelegateField, "Choisissez « Oui » ou « Non », ou passez cette étape.");
        }
        if (!string.Equals(fileNumber, question.FileNumber, StringComparison.Ordinal))
        {
            // A stale or altered form: ask again about the file that is actually open.
            return StepResult.Go(UrlOf(step.Flow));
        }
        await delegations.ChooseAsync(step.Person, question.FileNumber, answer, step.Flow.ClientId, cancellationToken);
        if (await PendingDelegationAsync(step, cancellationToken) is not null)
        {
            return await SaveAsync(step, cancellationToken) ?? StepResult.Go(UrlOf(step.Flow));
        }
        return await AdvanceAsync(http, step, RequiredAction.DelegationChoice, cancellationToken);
    }

    /// <summary>« Passer »: nothing decided (the partner keeps what they had); asked again after the reminder interval.</summary>
    public async Task<StepResult> SkipDelegationAsync(HttpContext http, FirstLoginStep step, CancellationToken cancellationToken)
    {
        await delegations.SkipAsync(step.Person, step.Flow.ClientId, cancellationToken);
        return await AdvanceAsync(http, step, RequiredAction.DelegationChoice, cancellationToken);
    }

    public async Task<StepResult> BackToContactAsync(FirstLoginStep step, CancellationToken cancellationToken)
    {
        step.Flow.State = FirstLoginStates.Contact;
        FlowStore.MarkChanged(step.Flow);
        await unitOfWork.CommitAsync(cancellationToken);
        return StepResult.Go(UrlOf(step.Flow));
    }

    /// <summary>"Quitter": the flow ends, nothing is signed in; what earlier steps saved stays saved.</summary>
    public async Task<StepResult> QuitAsync(FirstLoginStep step, CancellationToken cancellationToken)
    {
        audit.Append(new AuditEntry(AuditEventTypes.FlowQuit, step.Flow.State, step.Person.Id, step.Flow.ClientId));
        flows.Void(step.Flow);
        await unitOfWork.CommitAsync(cancellationToken);
        return StepResult.Go(ReturnUrls.IsAuthorizationRequest(step.Flow.ReturnUrl)
            ? "/connexion?returnUrl=" + Uri.EscapeDataString(step.Flow.ReturnUrl)
            : "/connexion");
    }

    /// <summary>How long a code sent on <paramref name="channel"/> is valid, in French (the code step's, from the configured lifetime).</summary>
    public string CodeValidity(ContactChannel channel) => codeStep.Validity(channel);

    /// <summary>Issues a code through the code step (message and audit row in the flow's unit of work); a French refusal otherwise.</summary>
    private async Task<string?> SendCodeAsync(FirstLoginStep step, CancellationToken cancellationToken)
    {
        var sent = await codeStep.SendAsync(new SendCodeRequest(CodePurpose.ContactVerification, step.Flow.Id,
            new CodeDestination(step.Context.Channel!.Value, step.Context.Contact!), step.Person.Id, step.Flow.ClientId), cancellationToken);
        if (sent.Sent)
        {
            FlowStore.WriteContext(step.Flow, step.Context);
        }
        return sent.Refusal;
    }

    private async Task<StepResult> AdvanceAsync(HttpContext http, FirstLoginStep step, RequiredAction? done, CancellationToken cancellationToken)
    {
        if (done is { } action)
        {
            step.Context.Remaining.Remove(action);
            step.Person.RequiredActions.RemoveAll(a => a.Action == action);
        }
        FlowStore.WriteContext(step.Flow, step.Context);

        if (step.Context.Remaining.Count > 0)
        {
            step.Flow.State = FirstLoginStates.For(step.Context.Remaining[0]);
            return await SaveAsync(step, cancellationToken) ?? StepResult.Go(UrlOf(step.Flow));
        }

        if (step.Context.DeferredPasswordHash is not null)
        {
            // Never signed in with a password that was not set: the records' contact is still to be proven.
            step.Context.Remaining.Add(RequiredAction.VerifyContact);
            FlowStore.WriteContext(step.Flow, step.Context);
            step.Flow.State = FirstLoginStates.For(RequiredAction.VerifyContact);
            return await SaveAsync(step, cancellationToken) ?? StepResult.Go(UrlOf(step.Flow));
        }

        // Every step done: the journey ends signed in, where the login started.
        AnnounceAccountCreatedIfOwed(step);
        flows.Complete(step.Flow);
        var session = await PersonSession.SignInAsync(http, step.Person, step.Context.AuthenticationMethod, clock, FranceConnectLogoutHint.Unprotect(http, step.Context.ProtectedFranceConnectLogoutHint));
        http.Items[HttpAuditContextAccessor.SessionIdItem] = session.SessionId;
        audit.Append(new AuditEntry(AuditEventTypes.LoginSucceeded, $"{step.Context.AuthenticationMethod}+required_actions", step.Person.Id, step.Flow.ClientId));
        // The last step's one commit: what it changed, the flow completed, the session row, the audit lines.
        if (await SaveAsync(step, cancellationToken) is { } refused)
        {
            // The session row was never stored, so the cookie would be refused anyway: remove it at once.
            await http.SignOutAsync(PersonSession.Scheme);
            return refused;
        }
        return StepResult.Go(step.Flow.ReturnUrl);
    }

    /// <summary>
    /// A step's one commit — person, flow, audit lines and outbox messages — as a sign-in commits
    /// (<see cref="CommitSignIn"/>): another sign-in of the same person meanwhile (the app, another tab) is merged, a
    /// concurrent change of the same flow fails. Null when stored; else the page to show (the account's secret or state
    /// changed meanwhile: nothing of this step was stored).
    /// </summary>
    private async Task<StepResult?> SaveAsync(FirstLoginStep step, CancellationToken cancellationToken)
    {
        FlowStore.MarkChanged(step.Flow);
        return (await signIns.ExecuteAsync(new CommitSignInRequest(step.Person), cancellationToken)).Committed
            ? null
            : StepResult.Stay(FormField, CommitSignIn.AccountChangedMessage);
    }
}
