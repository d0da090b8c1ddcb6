using CafConnect.Application.RateLimiting;
using System.Text.RegularExpressions;
using CafConnect.Application.CodeStep;
using CafConnect.Application.Navigation;
using CafConnect.Application.Persistence;
using CafConnect.Application.SignIn;
using CafConnect.Application.Identity;
using CafConnect.Domain.Accounts;
using CafConnect.Domain.Households;
using CafConnect.Infrastructure.Households;
using CafConnect.Domain.Identity;
using CafConnect.Domain.Passwords;
using CafConnect.IdP.Features.FirstLogin;
using CafConnect.IdP.Sessions;
using CafConnect.Infrastructure.Accounts;
using CafConnect.Infrastructure.Audit;
using CafConnect.Infrastructure.Flows;
using CafConnect.Infrastructure.Notifications;
using CafConnect.Infrastructure.Persistence;
using CafConnect.Application.Credentials;
using CafConnect.Infrastructure.Terms;
using CafConnect.Infrastructure.Verification;
using Microsoft.EntityFrameworkCore;

namespace CafConnect.IdP.Features.AccountCreation;

/// <summary>An open creation flow with its context, as a step page needs it.</summary>
public sealed record AccountCreationStep(SelfServiceFlow Flow, AccountCreationContext Context);

/// <summary>What « Rejoindre le dossier … ? » shows: the file, who invites, and as what.</summary>
public sealed record InvitationOffer(Guid Id, string FileNumber, string HolderName, HouseholdRole Role)
{
    public string RoleLabel => HouseholdRoleNames.InvitedAs(Role);
}

/// <summary>
/// « Créer Mon Compte » (seeds 001, 003, 004). With a NIR, the civil status typed must match a person of the agency's
/// records who has no account yet; every refusal before that match is one identical answer, whatever the NIR; then the
/// person chooses one of the contacts the records hold (shown masked) or, when they hold none, an activation code goes
/// by letter. Without a NIR, a provisional identifier is generated and the contact typed is the one proven. Either way
/// a 6-digit code proves the contact before anything is created or activated, then the first-login steps (terms,
/// password) run and end signed in.
/// </summary>
public sealed partial class AccountCreationJourney(
    FlowStore flows, PersonDirectory persons, CafConnectDbContext db, VerificationCodeStep codeStep, INotificationOutbox outbox,
    AuditTrail audit, FlowBrowserBinding binding, IJourneyRateLimiter limiter, JourneyRateLimitOptions limits,
    FirstLoginJourney firstLogin, RequiredActionsStart requiredActions, ContactProof contactProof, CredentialReset credentials,
    IUnitOfWork unitOfWork, TimeProvider clock)
{
    public static readonly TimeSpan FlowLifetime = FlowLifetimes.AccountCreation;

    public const string NirField = "Nir";
    public const string CivilityField = "Civility";
    public const string BirthNameField = "BirthName";
    public const string GivenNamesField = "GivenNames";
    public const string BirthDateField = "BirthDate";
    public const string BirthCountryField = "BirthCountry";
    public const string BirthCityField = "BirthCity";
    public const string Parent1BirthNameField = "Parent1BirthName";
    public const string Parent1GivenNamesField = "Parent1GivenNames";
    public const string Parent2BirthNameField = "Parent2BirthName";
    public const string Parent2GivenNamesField = "Parent2GivenNames";
    public const string PostalCodeField = "PostalCode";
    public const string ContactField = "Contact";
    /// <summary>With a NIR: which of the records' contacts receives the code (« sms » or « mail », never a contact).</summary>
    public const string ChoiceField = "Choice";
    public const string SmsChoice = "sms";
    public const string EmailChoice = "mail";
    public const string CodeField = "Code";
    public const string FormField = StepResult.FormField;

    /// <summary>
    /// The one answer to a NIR that is unknown, closed, or whose civil status differs: it says nothing about the NIR and
    /// shows the way out (creating the account without a NIR, seed 003: « en cas d'incohérence au niveau de l'état civil »).
    /// </summary>
    public const string IdentityNotVerifiedMessage =
        "Nous n'avons pas pu vérifier votre identité avec les informations saisies. Vérifiez votre numéro de Sécurité sociale, " +
        "votre nom de naissance, vos prénoms et votre date de naissance tels qu'ils figurent sur votre carte Vitale. " +
        "Si ces informations sont exactes, ou si vous n'avez pas de numéro de Sécurité sociale, créez votre compte sans numéro de Sécurité sociale : un identifiant provisoire vous sera attribué.";

    public const string ChoiceRequiredMessage = "Choisissez comment recevoir votre code de vérification.";

    /// <summary>The value of a radio button for a contact offered on « Recevoir mon code de vérification ».</summary>
    public static string ChoiceOf(ContactChannel channel) => channel == ContactChannel.Sms ? SmsChoice : EmailChoice;

    // ---------------------------------------------------------------- with a NIR

    public async Task<(StepResult Result, bool Limited)> StartWithNirAsync(HttpContext http, WithNirRequest request, string returnUrl, string? clientId, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string>();
        var today = Today;
        string? nir = null;
        if (Nir.TryParse(request.Nir, out var parsed, out var nirError))
        {
            nir = parsed.Value;
        }
        else
        {
            errors[NirField] = Nir.MessageFor(nirError);
        }
        if (!CivilStatusInput.TryName(request.BirthName, "Saisissez votre nom de naissance.", "Le nom de naissance", out var birthName, out var nameError))
        {
            errors[BirthNameField] = nameError;
        }
        if (!CivilStatusInput.TryName(request.GivenNames, "Saisissez votre prénom (ou vos prénoms).", "Le prénom", out var givenNames, out var givenError))
        {
            errors[GivenNamesField] = givenError;
        }
        if (!CivilStatusInput.TryBirthDate(request.BirthDate, today, out var birthDate, out var dateError))
        {
            errors[BirthDateField] = dateError;
        }
        else if (!CivilStatusMatching.IsOldEnough(birthDate, today))
        {
            errors[BirthDateField] = CivilStatusInput.UnderAgeMessage;
        }
        if (errors.Count > 0)
        {
            if (errors.ContainsKey(BirthDateField) && errors[BirthDateField] == CivilStatusInput.UnderAgeMessage)
            {
                audit.Append(new AuditEntry(AuditEventTypes.AccountCreationRefused, "under_16", ClientId: clientId, Details: "path=with_nir"));
                await unitOfWork.CommitAsync(cancellationToken);
            }
            return (StepResult.Stay(errors), false);
        }

        if (!await limiter.AllowAsync(limits, "account-creation", http.Connection.RemoteIpAddress, "nir:" + nir, cancellationToken))
        {
            audit.Append(new AuditEntry(AuditEventTypes.AccountCreationRateLimited, "with_nir", ClientId: clientId));
            await unitOfWork.CommitAsync(cancellationToken);
            return (StepResult.Stay(FormField, JourneyRateLimits.TooManyRequestsMessage), true);
        }

        // One query and the same comparisons whether the NIR is known or not (a placeholder stands in for nobody).
        var person = await persons.FindByNirAsync(nir!, cancellationToken);
        var candidate = person ?? NobodyPlaceholder;
        var civilStatusMatches = CivilStatusMatching.Matches(candidate, birthName, givenNames, birthDate);
        if (person is null || person.IsClosed || !civilStatusMatches)
        {
            var reason = person is null ? "unknown_identity" : person.IsClosed ? "closed_account" : "civil_status_mismatch";
            audit.Append(new AuditEntry(AuditEventTypes.AccountCreationRefused, reason, person?.Id, clientId, "path=with_nir"));
            await unitOfWork.CommitAsync(cancellationToken);
            return (StepResult.Stay(FormField, IdentityNotVerifiedMessage), false);
        }

        // From here on the person proved a full civil-status match: saying an account exists is no longer a leak.
        if (HoldsAnAccount(person))
        {
            audit.Append(new AuditEntry(AuditEventTypes.AccountCreationRefused, "already_has_account", person.Id, clientId, "path=with_nir"));
            await unitOfWork.CommitAsync(cancellationToken);
            return (StepResult.Go(ExistingAccountUrl(returnUrl)), false);
        }
        // Who may receive the code is ContactProof's rule (docs/decisions.md #16): a contact the agency's records hold,
        // chosen on the next page among those shown masked; nothing typed is ever compared with them (adversarial review
        // of 4 December 2026: « Ces coordonnées ne correspondent pas… » confirmed the records' contacts one guess at a time).
        if (ContactProof.ActivationContacts(person).Count == 0)
        {
            return (await SendActivationLetterAsync(person, returnUrl, clientId, cancellationToken), false);
        }
        var context = new AccountCreationContext { Path = CreationPath.WithNir, PersonId = person.Id };
        var flow = flows.Add(AccountCreationStates.FlowType, AccountCreationStates.ChooseContact, person.Id, clientId, returnUrl,
            FlowLifetime, binding.GetOrCreate(http), context);
        await unitOfWork.CommitAsync(cancellationToken);
        return (StepResult.Go(UrlOf(flow)), false);
    }

    /// <summary>The records' contacts the person may choose from (re-read at each request: the records are the truth).</summary>
    public async Task<IReadOnlyList<OwnContact>> OfferedContactsAsync(AccountCreationStep step, CancellationToken cancellationToken) =>
        step.Context.PersonId is { } id && await persons.FindByIdAsync(id, cancellationToken) is { } person
            ? ContactProof.ActivationContacts(person)
            : [];

    /// <summary>
    /// « Recevoir mon code de vérification » with a NIR: the choice names a channel (« sms » / « mail »), the contact is
    /// the records' one of that channel, looked up here — a contact posted from the browser is never read.
    /// </summary>
    public async Task<StepResult> ChooseContactAsync(AccountCreationStep step, string? choice, CancellationToken cancellationToken)
    {
        var person = step.Context.PersonId is { } id ? await persons.FindByIdAsync(id, cancellationToken) : null;
        if (step.Context.Path != CreationPath.WithNir || person is null || person.IsClosed)
        {
            return StepResult.Go(AccountCreationStates.StartPath);
        }
        if (HoldsAnAccount(person))
        {
            // Activated meanwhile (another tab, another browser): no second activation.
            return await RefuseSecondActivationAsync(step, person.Id, cancellationToken);
        }
        if (ContactProof.ActivationContacts(person).Count == 0)
        {
            // The records changed since the page was shown: nothing left to choose, the letter is the way.
            // One commit: the flow completed with the letter (the letter step commits).
            flows.Complete(step.Flow);
            return await SendActivationLetterAsync(person, step.Flow.ReturnUrl, step.Flow.ClientId, cancellationToken);
        }
        ContactChannel? channel = choice switch
        {
            SmsChoice => ContactChannel.Sms,
            EmailChoice => ContactChannel.Email,
            _ => null,
        };
        if ((channel is { } asked ? ContactProof.ActivationContact(person, asked) : null) is not { } chosen)
        {
            return StepResult.Stay(ChoiceField, ChoiceRequiredMessage);
        }
        if (await contactProof.RefuseIfNotPersonalAsync(person, chosen.Channel, chosen.Value, cancellationToken) is { } notPersonal)
        {
            audit.Append(new AuditEntry(AuditEventTypes.AccountCreationRefused, "contact_not_personal", person.Id, step.Flow.ClientId, $"path=with_nir channel={chosen.Channel}"));
            await unitOfWork.CommitAsync(cancellationToken);
            return StepResult.Stay(ChoiceField, notPersonal);
        }
        // The contact a code of this flow already went to (« Recevoir le code autrement », then the same one): that code
        // stands, no new message (« Demander l'envoi d'un nouveau code » is on the code page).
        var alreadySent = step.Context.Channel == chosen.Channel && step.Context.Contact == chosen.Value;
        step.Context.Channel = chosen.Channel;
        step.Context.Contact = chosen.Value;
        if (!alreadySent && await SendCodeAsync(step, cancellationToken) is { } refused)
        {
            return StepResult.Stay(ChoiceField, refused);
        }
        step.Flow.State = AccountCreationStates.Verify;
        FlowStore.WriteContext(step.Flow, step.Context);
        FlowStore.MarkChanged(step.Flow);
        await unitOfWork.CommitAsync(cancellationToken);
        return StepResult.Go(UrlOf(step.Flow));
    }

    /// <summary>« Recevoir le code autrement » (with a NIR): back to the choice of the records' contacts.</summary>
    public async Task<StepResult> BackToChoiceAsync(AccountCreationStep step, CancellationToken cancellationToken)
    {
        if (step.Context.Path == CreationPath.WithNir)
        {
            step.Flow.State = AccountCreationStates.ChooseContact;
            FlowStore.MarkChanged(step.Flow);
            await unitOfWork.CommitAsync(cancellationToken);
        }
        return StepResult.Go(UrlOf(step.Flow));
    }

    /// <summary>
    /// The records hold no contact for this person: an activation code (a provisional password, valid two months) goes by
    /// letter to the person, at the address the agency holds; they then sign in with their NIR and it, and the first-login
    /// steps follow. At most one letter a day (no letter bombing); the page is the same either way.
    /// </summary>
    private async Task<StepResult> SendActivationLetterAsync(PersonAccount person, string returnUrl, string? clientId, CancellationToken cancellationToken)
    {
        var recentlySent = person.PendingProvisionalPasswordIssuedAt is { } sent && clock.GetUtcNow() - sent < ContactProof.LetterInterval;
        if (recentlySent)
        {
            audit.Append(new AuditEntry(AuditEventTypes.AccountActivationLetter, "recently_sent", person.Id, clientId, "path=with_nir"));
            await unitOfWork.CommitAsync(cancellationToken);
        }
        else
        {
            // The records hold no contact (ActivationRoute.ActivationLetter): the contact-proof rule sends it by letter.
            // Pending until first used (nothing is revoked now): the password, its letter and the audit line, one commit.
            await credentials.IssueProvisionalPasswordAsync(person, $"activation-letter:{person.Id:N}:{clock.GetUtcNow():yyyyMMdd}", cancellationToken,
                extraValues: new Dictionary<string, string> { [NotificationTemplates.ActivationValue] = "true" });
            audit.Append(new AuditEntry(AuditEventTypes.AccountActivationLetter, "sent", person.Id, clientId, "path=with_nir"));
            await unitOfWork.CommitAsync(cancellationToken);
        }
        return StepResult.Go(AccountCreationStates.LetterSentPath + (ReturnUrls.IsAuthorizationRequest(returnUrl)
            ? "?returnUrl=" + Uri.EscapeDataString(returnUrl) : string.Empty));
    }

    // ---------------------------------------------------------------- without a NIR

    public async Task<(StepResult Result, bool Limited)> StartWithoutNirAsync(HttpContext http, WithoutNirRequest request, string returnUrl, string? clientId, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string>();
        var today = Today;
        var civility = request.Civility switch
        {
            "M" => Civility.Monsieur,
            "MME" => Civility.Madame,
            _ => Civility.Unknown,
        };
        if (civility == Civility.Unknown)
        {
            errors[CivilityField] = "Choisissez votre civilité : Madame ou Monsieur.";
        }
        if (!CivilStatusInput.TryName(request.BirthName, "Saisissez votre nom de naissance.", "Le nom de naissance", out var birthName, out var error))
        {
            errors[BirthNameField] = error;
        }
        if (!CivilStatusInput.TryName(request.GivenNames, "Saisissez votre prénom (ou vos prénoms).", "Le prénom", out var givenNames, out error))
        {
            errors[GivenNamesField] = error;
        }
        var underAge = false;
        if (!CivilStatusInput.TryBirthDate(request.BirthDate, today, out var birthDate, out error))
        {
            errors[BirthDateField] = error;
        }
        else if (!CivilStatusMatching.IsOldEnough(birthDate, today))
        {
            errors[BirthDateField] = CivilStatusInput.UnderAgeMessage;
            underAge = true;
        }
        if (!CivilStatusInput.TryName(request.BirthCountry, "Saisissez votre pays de naissance.", "Le pays de naissance", out var birthCountry, out error))
        {
            errors[BirthCountryField] = error;
        }
        if (!CivilStatusInput.TryName(request.BirthCity, "Saisissez votre ville de naissance.", "La ville de naissance", out var birthCity, out error))
        {
            errors[BirthCityField] = error;
        }
        string? parent1Name = null, parent1Given = null, parent2Name = null, parent2Given = null;
        if (birthCountry.Length > 0 && !CivilStatusMatching.IsBornInFrance(birthCountry))
        {
            // Seed 003: for a birth abroad, the birth names and first names of both parents.
            if (!CivilStatusInput.TryName(request.Parent1BirthName, "Saisissez le nom de naissance du parent 1.", "Le nom de naissance du parent 1", out var value, out error)) errors[Parent1BirthNameField] = error; else parent1Name = value;
            if (!CivilStatusInput.TryName(request.Parent1GivenNames, "Saisissez le ou les prénoms du parent 1.", "Le prénom du parent 1", out value, out error)) errors[Parent1GivenNamesField] = error; else parent1Given = value;
            if (!CivilStatusInput.TryName(request.Parent2BirthName, "Saisissez le nom de naissance du parent 2.", "Le nom de naissance du parent 2", out value, out error)) errors[Parent2BirthNameField] = error; else parent2Name = value;
            if (!CivilStatusInput.TryName(request.Parent2GivenNames, "Saisissez le ou les prénoms du parent 2.", "Le prénom du parent 2", out value, out error)) errors[Parent2GivenNamesField] = error; else parent2Given = value;
        }
        var postalCode = new string((request.PostalCode ?? string.Empty).Where(c => !char.IsWhiteSpace(c)).ToArray());
        if (postalCode.Length == 0)
        {
            errors[PostalCodeField] = "Saisissez le code postal de votre lieu de résidence.";
        }
        else if (!PostalCodePattern().IsMatch(postalCode))
        {
            errors[PostalCodeField] = "Le code postal comporte 5 chiffres, par exemple 06000.";
        }
        if (!CivilStatusInput.TryContact(request.Contact, out var channel, out var contact, out error))
        {
            errors[ContactField] = error;
        }
        if (errors.Count > 0)
        {
            if (underAge)
            {
                audit.Append(new AuditEntry(AuditEventTypes.AccountCreationRefused, "under_16", ClientId: clientId, Details: "path=without_nir"));
                await unitOfWork.CommitAsync(cancellationToken);
            }
            return (StepResult.Stay(errors), false);
        }

        var identityKey = ClaimedCivilStatus(birthName, givenNames, birthDate);
        if (!await limiter.AllowAsync(limits, "account-creation", http.Connection.RemoteIpAddress, identityKey, cancellationToken))
        {
            audit.Append(new AuditEntry(AuditEventTypes.AccountCreationRateLimited, "without_nir", ClientId: clientId));
            await unitOfWork.CommitAsync(cancellationToken);
            return (StepResult.Stay(FormField, JourneyRateLimits.TooManyRequestsMessage), true);
        }

        // Whether this civil status is already a person's is asked only once the contact is proven (see
        // CreateWithProvisionalIdAsync): answering here would tell anyone, with no code, who the agency knows
        // (adversarial review of 4 December 2026). Every civil status gets the code page.

        var context = new AccountCreationContext
        {
            Path = CreationPath.WithoutNir,
            Channel = channel,
            Contact = contact,
            Declared = new DeclaredCivilStatus
            {
                Civility = civility,
                BirthName = birthName,
                GivenNames = givenNames,
                BirthDate = birthDate,
                BirthCountry = birthCountry,
                BirthCity = birthCity,
                Parent1BirthName = parent1Name,
                Parent1GivenNames = parent1Given,
                Parent2BirthName = parent2Name,
                Parent2GivenNames = parent2Given,
                PostalCode = postalCode,
            },
        };
        return (await StartVerificationAsync(http, context, returnUrl, clientId, cancellationToken), false);
    }

    // ---------------------------------------------------------------- steps

    public async Task<(FlowLookup Lookup, AccountCreationStep? Step)> LoadAsync(HttpContext http, string? flowId, CancellationToken cancellationToken)
    {
        var (lookup, flow) = await flows.FindAsync(flowId, AccountCreationStates.FlowType, binding.Read(http), cancellationToken);
        return lookup == FlowLookup.Found ? (lookup, new AccountCreationStep(flow!, FlowStore.ReadContext<AccountCreationContext>(flow!))) : (lookup, null);
    }

    public static string UrlOf(SelfServiceFlow flow) => $"{AccountCreationStates.PathOf(flow.State)}?flow={Uri.EscapeDataString(flow.Id)}";

    public async Task<StepResult> ResendCodeAsync(AccountCreationStep step, CancellationToken cancellationToken)
    {
        var refused = await SendCodeAsync(step, cancellationToken);
        if (refused is not null)
        {
            return StepResult.Stay(FormField, refused);
        }
        FlowStore.MarkChanged(step.Flow);
        await unitOfWork.CommitAsync(cancellationToken);
        return StepResult.Go(VerificationCodeStep.MarkResent(UrlOf(step.Flow)));
    }

    /// <summary>The right code proves the contact: the account is activated (with a NIR) or created (without).</summary>
    public async Task<StepResult> VerifyCodeAsync(HttpContext http, AccountCreationStep step, string? code, CancellationToken cancellationToken)
    {
        var check = await codeStep.CheckAsync(new CheckCodeRequest(CodePurpose.AccountCreation, step.Flow.Id,
            new CodeDestination(step.Context.Channel, step.Context.Contact), code, await GuessBudgetOfAsync(step.Context, cancellationToken),
            http.Connection.RemoteIpAddress, step.Context.PersonId, step.Flow.ClientId), cancellationToken);
        if (!check.Verified)
        {
            return StepResult.Stay(CodeField, check.Error!);
        }

        return step.Context.Path == CreationPath.WithNir
            ? await ActivateAsync(http, step, cancellationToken)
            : await CreateWithProvisionalIdAsync(step, cancellationToken);
    }

    /// <summary>« Continuer » on the summary: the first-login steps (terms, password), then signed in.</summary>
    public async Task<StepResult> ContinueAsync(HttpContext http, AccountCreationStep step, CancellationToken cancellationToken)
    {
        var person = step.Context.PersonId is { } id ? await persons.FindByIdAsync(id, cancellationToken) : null;
        if (person is null || person.IsClosed)
        {
            return StepResult.Go(AccountCreationStates.StartPath);
        }
        flows.Complete(step.Flow);
        var firstLoginFlow = await HandOverToFirstLoginAsync(http, step.Flow, person, cancellationToken);
        await unitOfWork.CommitAsync(cancellationToken);
        return StepResult.Go(FirstLoginJourney.UrlOf(firstLoginFlow));
    }

    /// <summary>« Quitter »: the flow ends; nothing was created before the code was verified.</summary>
    public async Task<StepResult> QuitAsync(AccountCreationStep step, CancellationToken cancellationToken)
    {
        audit.Append(new AuditEntry(AuditEventTypes.FlowQuit, $"account-creation:{step.Flow.State}", step.Context.PersonId, step.Flow.ClientId));
        flows.Void(step.Flow);
        await unitOfWork.CommitAsync(cancellationToken);
        return StepResult.Go(ReturnUrls.IsAuthorizationRequest(step.Flow.ReturnUrl)
            ? "/connexion?returnUrl=" + Uri.EscapeDataString(step.Flow.ReturnUrl)
            : "/connexion");
    }

    public string CodeValidity(ContactChannel channel) => codeStep.Validity(channel);

    /// <summary>
    /// Whose guesses a creation code spends: the imported person's account (with a NIR: the same budget as their
    /// password), or, for a person who does not exist yet (without a NIR), the civil status being claimed — the key of
    /// the request limit too, so a new flow or another contact for the same civil status spends the same budget.
    /// </summary>
    private async Task<GuessBudget> GuessBudgetOfAsync(AccountCreationContext context, CancellationToken cancellationToken)
    {
        if (context.PersonId is { } personId && await persons.FindByIdAsync(personId, cancellationToken) is { } person)
        {
            return GuessBudget.ForAccount(person);
        }
        var declared = context.Declared ?? throw new InvalidOperationException("A creation flow names a person or a declared civil status.");
        return GuessBudget.ForClaimedIdentity(ClaimedCivilStatus(declared.BirthName, declared.GivenNames, declared.BirthDate));
    }

    /// <summary>One spelling of a civil status being claimed (names normalised as the matching compares them).</summary>
    private static string ClaimedCivilStatus(string birthName, string givenNames, DateOnly birthDate) =>
        $"civil:{CivilStatusMatching.NormaliseName(birthName)}|{CivilStatusMatching.NormaliseName(givenNames)}|{birthDate:yyyy-MM-dd}";

    public static string ExistingAccountUrl(string returnUrl) => ReturnUrls.IsAuthorizationRequest(returnUrl)
        ? AccountCreationStates.ExistingAccountPath + "?returnUrl=" + Uri.EscapeDataString(returnUrl)
        : AccountCreationStates.ExistingAccountPath;

    /// <summary>Whether the person already holds an account (the Domain's rule, <see cref="PersonAccount.HoldsAnAccount"/>).</summary>
    private static bool HoldsAnAccount(PersonAccount person) => person.HoldsAnAccount();

    // ---------------------------------------------------------------- internals

    private static readonly PersonAccount NobodyPlaceholder = new() { BirthName = "\u0001", GivenNames = "\u0001" };

    private DateOnly Today => DateOnly.FromDateTime(clock.GetUtcNow().UtcDateTime);

    [GeneratedRegex("^[0-9]{5}$")]
    private static partial Regex PostalCodePattern();

    private async Task<StepResult> StartVerificationAsync(HttpContext http, AccountCreationContext context, string returnUrl, string? clientId, CancellationToken cancellationToken)
    {
        // The flow row is written with the code's message and audit row below, in one commit.
        var flow = flows.Add(AccountCreationStates.FlowType, AccountCreationStates.Verify, context.PersonId, clientId, returnUrl,
            FlowLifetime, binding.GetOrCreate(http), context);
        var step = new AccountCreationStep(flow, context);
        var refused = await SendCodeAsync(step, cancellationToken);
        if (refused is not null)
        {
            flows.Void(flow);
        }
        await unitOfWork.CommitAsync(cancellationToken);
        return refused is not null ? StepResult.Stay(ContactField, refused) : StepResult.Go(UrlOf(flow));
    }

    private async Task<string?> SendCodeAsync(AccountCreationStep step, CancellationToken cancellationToken) =>
        (await codeStep.SendAsync(new SendCodeRequest(CodePurpose.AccountCreation, step.Flow.Id,
            new CodeDestination(step.Context.Channel, step.Context.Contact), step.Context.PersonId, step.Flow.ClientId), cancellationToken)).Refusal;

    private async Task<StepResult> ActivateAsync(HttpContext http, AccountCreationStep step, CancellationToken cancellationToken)
    {
        var person = step.Context.PersonId is { } id ? await persons.FindByIdAsync(id, cancellationToken) : null;
        if (person is null || person.IsClosed || HoldsAnAccount(person))
        {
            // Activated meanwhile (another tab, another browser): no second activation.
            return await RefuseSecondActivationAsync(step, person?.Id, cancellationToken);
        }
        SelfServiceFlow? firstLoginFlow = null;
        try
        {
            SetVerifiedContact(person, step.Context);
            step.Context.PendingInvitations = await OpenInvitationsForAsync(person, step.Context.Contact, cancellationToken);
            outbox.EnqueueToVerifiedContact(person, NotificationKind.AccountCreated, new Dictionary<string, string>(), $"account-created:{person.Id}");
            audit.Append(new AuditEntry(AuditEventTypes.AccountCreated, "with_nir", person.Id, step.Flow.ClientId, $"channel={step.Context.Channel}"));
            if (step.Context.PendingInvitations.Count > 0)
            {
                // The person answers each invitation before the first-login steps: nothing joins a file unasked.
                step.Flow.State = AccountCreationStates.Invitation;
            }
            else
            {
                flows.Complete(step.Flow);
                firstLoginFlow = await HandOverToFirstLoginAsync(http, step.Flow, person, cancellationToken);
            }
            FlowStore.WriteContext(step.Flow, step.Context);
            // The one commit of the activation (with the first-login flow it hands over to), conditional on the person
            // read above (its stamp): of two activations racing on two instances, one wins.
            person.ConcurrencyStamp = Guid.NewGuid();
            FlowStore.MarkChanged(step.Flow);
            await unitOfWork.CommitAsync(cancellationToken);
        }
        catch (DbUpdateConcurrencyException)
        {
            // The person changed since it was read (a concurrent activation won): nothing of this one was stored; its
            // pending changes are dropped from the context so that the refusal below commits alone.
            db.ChangeTracker.Clear();
            var flow = await db.Flows.SingleAsync(f => f.Id == step.Flow.Id, cancellationToken);
            return await RefuseSecondActivationAsync(new AccountCreationStep(flow, step.Context), person.Id, cancellationToken);
        }
        return StepResult.Go(firstLoginFlow is null ? UrlOf(step.Flow) : FirstLoginJourney.UrlOf(firstLoginFlow));
    }

    private async Task<StepResult> RefuseSecondActivationAsync(AccountCreationStep step, Guid? personId, CancellationToken cancellationToken)
    {
        flows.Complete(step.Flow);
        audit.Append(new AuditEntry(AuditEventTypes.AccountCreationRefused, "already_has_account", personId, step.Flow.ClientId, "path=with_nir step=code"));
        await unitOfWork.CommitAsync(cancellationToken);
        return StepResult.Go(ExistingAccountUrl(step.Flow.ReturnUrl));
    }

    private async Task<StepResult> CreateWithProvisionalIdAsync(AccountCreationStep step, CancellationToken cancellationToken)
    {
        var declared = step.Context.Declared ?? throw new InvalidOperationException("A creation without NIR has its civil status.");
        // Decision (docs/identity-rules.md): a civil status (names and birth date) that is already a person's is not
        // given a second account silently; the person is sent to the login and recovery links (or to the NIR path) —
        // only now, after the code proved the contact, so that the answer costs a contact of one's own each time.
        var sameCivilStatus = (await db.Persons.AsNoTracking().Where(p => p.BirthDate == declared.BirthDate && p.ClosedAt == null).ToListAsync(cancellationToken))
            .FirstOrDefault(p => CivilStatusMatching.Matches(p, declared.BirthName, declared.GivenNames, declared.BirthDate));
        if (sameCivilStatus is not null)
        {
            audit.Append(new AuditEntry(AuditEventTypes.AccountCreationRefused, "same_civil_status", sameCivilStatus.Id, step.Flow.ClientId, "path=without_nir"));
            flows.Complete(step.Flow);
            await unitOfWork.CommitAsync(cancellationToken);
            return StepResult.Go(ExistingAccountUrl(step.Flow.ReturnUrl));
        }
        var generator = new ProvisionalIdGenerator();
        // The unique index is the guard: a concurrent creation that drew the same number makes the save fail, and we draw again.
        for (var attempt = 1; ; attempt++)
        {
            var provisionalId = await generator.GenerateAsync(async (candidate, ct) => await db.Persons.AnyAsync(p => p.ProvisionalId == candidate, ct), cancellationToken);
            var person = new PersonAccount
            {
                ProvisionalId = provisionalId.Value,
                Civility = declared.Civility,
                BirthName = declared.BirthName,
                GivenNames = declared.GivenNames,
                BirthDate = declared.BirthDate,
                BirthCountry = declared.BirthCountry,
                BirthCity = declared.BirthCity,
                Parent1BirthName = declared.Parent1BirthName,
                Parent1GivenNames = declared.Parent1GivenNames,
                Parent2BirthName = declared.Parent2BirthName,
                Parent2GivenNames = declared.Parent2GivenNames,
                PostalCode = declared.PostalCode,
                CreatedAt = clock.GetUtcNow(),
                CredentialKind = CredentialKind.None,
            };
            // The attempt's one commit (below) meets the unique index when the number was drawn twice.
            try
            {
                SetVerifiedContact(person, step.Context);
                db.Persons.Add(person);
                step.Context.PersonId = person.Id;
                step.Context.ProvisionalId = person.ProvisionalId;
                step.Flow.PersonId = person.Id;
                step.Context.PendingInvitations = await OpenInvitationsForAsync(person, step.Context.Contact, cancellationToken);
                // Seed 003: « Mon identifiant : P… » on the summary page and by SMS or e-mail, to be kept.
                outbox.Enqueue(new NotificationRequest(NotificationKind.AccountCreated,
                    step.Context.Channel == ContactChannel.Sms ? NotificationChannel.Sms : NotificationChannel.Email, step.Context.Contact,
                    new Dictionary<string, string> { ["identifier"] = person.ProvisionalId! }, person.Id, $"account-created:{person.Id}"));
                audit.Append(new AuditEntry(AuditEventTypes.AccountCreated, "without_nir", person.Id, step.Flow.ClientId, $"channel={step.Context.Channel}"));
                step.Flow.State = step.Context.PendingInvitations.Count > 0 ? AccountCreationStates.Invitation : AccountCreationStates.Summary;
                FlowStore.WriteContext(step.Flow, step.Context);
                FlowStore.MarkChanged(step.Flow);
                await unitOfWork.CommitAsync(cancellationToken);
                return StepResult.Go(UrlOf(step.Flow));
            }
            catch (DbUpdateException exception) when (exception is not DbUpdateConcurrencyException && attempt < 3)
            {
                // Nothing was stored; drop what this attempt added (person, messages, audit rows, memberships) and draw again.
                foreach (var entry in db.ChangeTracker.Entries().Where(e => e.State == EntityState.Added).ToList())
                {
                    entry.State = EntityState.Detached;
                }
            }
        }
    }

    private static void SetVerifiedContact(PersonAccount person, AccountCreationContext context)
    {
        if (context.Channel == ContactChannel.Sms)
        {
            person.MobilePhone = context.Contact;
            person.MobilePhoneVerified = true;
        }
        else
        {
            person.Email = context.Contact;
            person.EmailVerified = true;
        }
    }

    /// <summary>
    /// Open invitations for this civil status sent to the very contact just verified, oldest first. None is redeemed
    /// here: the person answers « Rejoindre le dossier … ? » for each, one at a time (two holders may have invited the
    /// same contact; joining both families silently would not be what the person chose).
    /// </summary>
    private async Task<List<Guid>> OpenInvitationsForAsync(PersonAccount person, string contact, CancellationToken cancellationToken)
    {
        if (person.BirthDate is not { } birthDate)
        {
            return [];
        }
        var now = clock.GetUtcNow();
        var offered = new List<Guid>();
        foreach (var invitation in (await db.HouseholdInvitations.AsNoTracking().WithFileAndSender().Where(i => i.BirthDate == birthDate && i.AcceptedAt == null).ToListAsync(cancellationToken))
            .Where(i => i.IsOpenAt(now) && i.Contact == contact && i.Invites(person.BirthName, person.GivenNames, birthDate))
            .OrderBy(i => i.CreatedAt))
        {
            if (await IsPersonalOnInvitingFileAsync(invitation, person, cancellationToken))
            {
                offered.Add(invitation.Id);
            }
        }
        return offered;
    }

    /// <summary>
    /// Whether the contact the invitee proved (the invitation's) is personal on the file they would join: not one another
    /// member verified (ContactProof's rule, seeds 003/004). The invitation form refuses such a contact; this also holds
    /// for an invitation sent before it did, or whose contact a member verified since.
    /// </summary>
    private async Task<bool> IsPersonalOnInvitingFileAsync(HouseholdInvitation invitation, PersonAccount person, CancellationToken cancellationToken)
    {
        if (await contactProof.IsPersonalOnFileAsync(invitation.HouseholdId, ContactNormalizer.ChannelOf(invitation.Contact), invitation.Contact, person.Id, cancellationToken))
        {
            return true;
        }
        audit.Append(new AuditEntry(AuditEventTypes.HouseholdInvitationDeclined, "contact_not_personal", person.Id, null,
            $"file={invitation.Household?.FileNumber} role={invitation.Role.ToClaimValue()}"));
        return false;
    }

    /// <summary>The invitation on the page: the file, who invites, as what (null when it is no longer open).</summary>
    public async Task<InvitationOffer?> CurrentInvitationAsync(AccountCreationStep step, CancellationToken cancellationToken)
    {
        if (step.Context.PendingInvitations.Count == 0)
        {
            return null;
        }
        var id = step.Context.PendingInvitations[0];
        var invitation = await db.HouseholdInvitations.AsNoTracking().WithFileAndSender().SingleOrDefaultAsync(i => i.Id == id, cancellationToken);
        if (invitation?.Household is null || !invitation.IsOpenAt(clock.GetUtcNow()))
        {
            return null;
        }
        var holder = await db.Persons.AsNoTracking().SingleOrDefaultAsync(p => p.Id == invitation.InvitedByPersonId, cancellationToken);
        var holderName = holder is null ? "Le responsable du dossier" : $"{holder.GivenNames.Split(' ')[0]} {holder.FamilyName}";
        return new InvitationOffer(invitation.Id, invitation.Household.FileNumber, holderName, invitation.Role);
    }

    /// <summary>
    /// « Rejoindre ce dossier » or « Ne pas rejoindre ce dossier » for the invitation on the page: only that one is
    /// redeemed (the person joins that file with the role the holder chose), then the next one, then the journey goes on.
    /// </summary>
    /// <param name="answered">The invitation the page showed: an answer meant for another one (a second click after the
    /// first moved on, an old tab) is not applied to the invitation now first in line.</param>
    public async Task<StepResult> AnswerInvitationAsync(HttpContext http, AccountCreationStep step, Guid? answered, bool join, CancellationToken cancellationToken)
    {
        if (step.Context.PendingInvitations.Count > 0 && answered != step.Context.PendingInvitations[0])
        {
            return StepResult.Go(UrlOf(step.Flow));
        }
        var person = step.Context.PersonId is { } personId ? await persons.FindByIdAsync(personId, cancellationToken) : null;
        if (person is null || person.IsClosed)
        {
            return StepResult.Go(AccountCreationStates.StartPath);
        }
        if (step.Context.PendingInvitations.Count > 0)
        {
            var id = step.Context.PendingInvitations[0];
            step.Context.PendingInvitations.RemoveAt(0);
            var now = clock.GetUtcNow();
            var invitation = await db.HouseholdInvitations.WithFileAndSender().SingleOrDefaultAsync(i => i.Id == id, cancellationToken);
            // Checked again at the answer: still open, still for this person and the contact they proved.
            var stillValid = invitation?.Household is not null && invitation.IsOpenAt(now) && invitation.Contact == step.Context.Contact
                && person.BirthDate is { } birthDate && invitation.Invites(person.BirthName, person.GivenNames, birthDate);
            if (!stillValid || !await IsPersonalOnInvitingFileAsync(invitation!, person, cancellationToken))
            {
                return await NextAfterInvitationAsync(http, step, person, cancellationToken);
            }
            if (!join)
            {
                audit.Append(new AuditEntry(AuditEventTypes.HouseholdInvitationDeclined, "declined", person.Id, step.Flow.ClientId,
                    $"file={invitation!.Household!.FileNumber} role={invitation.Role.ToClaimValue()}"));
                return await NextAfterInvitationAsync(http, step, person, cancellationToken);
            }
            var household = invitation!.Household!;
            var alreadyMember = household.Members.Any(m => m.PersonId == person.Id);
            if (!alreadyMember && household.HasPartnerAlreadyFor(invitation.Role))
            {
                // The one-partner rule holds at the answer too (a partner may have joined since the invitation).
                audit.Append(new AuditEntry(AuditEventTypes.HouseholdInvitationDeclined, "file_has_partner", person.Id, step.Flow.ClientId,
                    $"file={household.FileNumber} role={invitation.Role.ToClaimValue()}"));
                FlowStore.WriteContext(step.Flow, step.Context);
                FlowStore.MarkChanged(step.Flow);
                await unitOfWork.CommitAsync(cancellationToken);
                return StepResult.Stay(FormField, "Ce dossier compte déjà un(e) conjoint(e) : vous ne pouvez pas le rejoindre en tant que conjoint(e). Contactez votre Caf.");
            }
            // The invitation itself is marked accepted at the commit, by the one conditional write (HouseholdInvitationAnswers).
            if (!alreadyMember)
            {
                db.Memberships.Add(new HouseholdMembership { HouseholdId = household.Id, PersonId = person.Id, Role = invitation.Role, JoinedAt = now });
            }
            step.Context.JoinedFileNumber ??= household.FileNumber;
            audit.Append(new AuditEntry(AuditEventTypes.HouseholdInvitationAccepted, alreadyMember ? "already_member" : "joined", person.Id, step.Flow.ClientId,
                $"file={household.FileNumber} role={invitation.Role.ToClaimValue()}"));
            return await NextAfterInvitationAsync(http, step, person, cancellationToken, accepted: (InvitationAsRead.Of(invitation), now));
        }
        return await NextAfterInvitationAsync(http, step, person, cancellationToken);
    }

    /// <param name="accepted">The invitation this answer accepts: its membership is committed only if the invitation is still
    /// open at the commit and nobody else accepted it (docs/decisions.md #52). Otherwise nothing of the answer is stored
    /// and <see cref="DbUpdateConcurrencyException"/> is thrown, as for a flow changed by another request: the page is
    /// shown again, and its invitation as it now is (« Cette invitation n'est plus valable »).</param>
    private async Task<StepResult> NextAfterInvitationAsync(HttpContext http, AccountCreationStep step, PersonAccount person, CancellationToken cancellationToken,
        (InvitationAsRead AsRead, DateTimeOffset At)? accepted = null)
    {
        // Each answer is one commit: the invitation answered (membership, audit line) with the flow's next state.
        SelfServiceFlow? firstLoginFlow = null;
        if (step.Context.PendingInvitations.Count == 0 && step.Context.Path == CreationPath.WithoutNir)
        {
            step.Flow.State = AccountCreationStates.Summary;
        }
        else if (step.Context.PendingInvitations.Count == 0)
        {
            flows.Complete(step.Flow);
            firstLoginFlow = await HandOverToFirstLoginAsync(http, step.Flow, person, cancellationToken);
        }
        FlowStore.WriteContext(step.Flow, step.Context);
        FlowStore.MarkChanged(step.Flow);
        if (accepted is { } invitation)
        {
            await CommitAcceptanceAsync(invitation.AsRead, person.Id, invitation.At, cancellationToken);
        }
        else
        {
            await unitOfWork.CommitAsync(cancellationToken);
        }
        return StepResult.Go(firstLoginFlow is null ? UrlOf(step.Flow) : FirstLoginJourney.UrlOf(firstLoginFlow));
    }

    /// <summary>
    /// The answer's one commit, in a transaction that first accepts the invitation by its conditional write; when that
    /// matches nothing (answered, voided or closed meanwhile), nothing is stored. Retried as a whole by the provider's
    /// execution strategy on a failure the server did not apply (<see cref="StoreTransactions"/>).
    /// </summary>
    private Task CommitAcceptanceAsync(InvitationAsRead asRead, Guid personId, DateTimeOffset now, CancellationToken cancellationToken) =>
        db.InTransactionAsync(async ct =>
        {
            if (!await HouseholdInvitationAnswers.TryAcceptAsync(db, asRead, personId, now, ct))
            {
                // Nothing of the answer is stored: the transaction is rolled back, and the context forgets its changes.
                await db.Database.RollbackTransactionAsync(ct);
                db.ChangeTracker.Clear();
                throw new DbUpdateConcurrencyException("the invitation was answered, voided or closed since it was read");
            }
        }, cancellationToken);

    /// <summary>The first-login flow the creation hands over to, added to the caller's unit of work (committed with its step).</summary>
    private async Task<SelfServiceFlow> HandOverToFirstLoginAsync(HttpContext http, SelfServiceFlow creation, PersonAccount person, CancellationToken cancellationToken)
    {
        var reloaded = await persons.FindByIdAsync(person.Id, cancellationToken) ?? person;
        var required = await requiredActions.EvaluateAsync(new RequiredActionsRequest(reloaded, SignInMethod.AccountCreation, creation.ClientId), cancellationToken);
        return firstLogin.Start(http, reloaded, required.Pending, required.SignedInWith, creation.ReturnUrl, creation.ClientId, accountCreation: true);
    }
}
