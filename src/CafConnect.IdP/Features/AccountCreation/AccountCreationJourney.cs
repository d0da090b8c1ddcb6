using System.Text.RegularExpressions;
using CafConnect.Application.Identity;
using CafConnect.Domain.Accounts;
using CafConnect.Domain.Households;
using CafConnect.Domain.Identity;
using CafConnect.Domain.Passwords;
using CafConnect.IdP.Features.FirstLogin;
using CafConnect.IdP.Features.Recovery;
using CafConnect.IdP.Sessions;
using CafConnect.Infrastructure.Accounts;
using CafConnect.Infrastructure.Audit;
using CafConnect.Infrastructure.Flows;
using CafConnect.Infrastructure.Notifications;
using CafConnect.Infrastructure.Persistence;
using CafConnect.Infrastructure.Recovery;
using CafConnect.Infrastructure.Terms;
using CafConnect.Infrastructure.Verification;
using Microsoft.EntityFrameworkCore;

namespace CafConnect.IdP.Features.AccountCreation;

/// <summary>An open creation flow with its context, as a step page needs it.</summary>
public sealed record AccountCreationStep(SelfServiceFlow Flow, AccountCreationContext Context);

/// <summary>
/// « Créer Mon Compte » (seeds 001, 003, 004). With a NIR, the civil status typed must match a person of the agency's
/// records who has no account yet; every refusal before that match is one identical answer, whatever the NIR. Without a
/// NIR, a provisional identifier is generated. Either way the contact typed is proven with a 6-digit code before
/// anything is created or activated, then the first-login steps (terms, password) run and end signed in.
/// </summary>
public sealed partial class AccountCreationJourney(
    FlowStore flows, PersonDirectory persons, CafConnectDbContext db, IVerificationCodeStore codes, INotificationOutbox outbox,
    AuditTrail audit, FlowBrowserBinding binding, IRecoveryRateLimiter limiter, RecoveryRateLimitOptions limits,
    TermsOfUseCatalog terms, FirstLoginJourney firstLogin, Login.LoginOptions loginOptions, ContactProof contactProof, CredentialReset credentials,
    TimeProvider clock)
{
    public static readonly TimeSpan FlowLifetime = TimeSpan.FromMinutes(30);

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
    public const string CodeField = "Code";
    public const string FormField = FirstLoginJourney.FormField;

    /// <summary>
    /// The one answer to a NIR that is unknown, closed, or whose civil status differs: it says nothing about the NIR and
    /// shows the way out (creating the account without a NIR, seed 003: « en cas d'incohérence au niveau de l'état civil »).
    /// </summary>
    public const string IdentityNotVerifiedMessage =
        "Nous n'avons pas pu vérifier votre identité avec les informations saisies. Vérifiez votre numéro de Sécurité sociale, " +
        "votre nom de naissance, vos prénoms et votre date de naissance tels qu'ils figurent sur votre carte Vitale. " +
        "Si ces informations sont exactes, ou si vous n'avez pas de numéro de Sécurité sociale, créez votre compte sans numéro de Sécurité sociale : un identifiant provisoire vous sera attribué.";

    public const string ContactNotOnRecordMessage =
        "Ces coordonnées ne correspondent pas à celles connues de votre Caf. Saisissez l'adresse mail ou le numéro de téléphone portable " +
        "que vous avez communiqué à votre Caf, ou contactez votre Caf pour les mettre à jour.";

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
        if (!CivilStatusInput.TryContact(request.Contact, out var channel, out var contact, out var contactError))
        {
            errors[ContactField] = contactError;
        }
        if (errors.Count > 0)
        {
            if (errors.ContainsKey(BirthDateField) && errors[BirthDateField] == CivilStatusInput.UnderAgeMessage)
            {
                await audit.WriteAsync(new AuditEntry(AuditEventTypes.AccountCreationRefused, "under_16", ClientId: clientId, Details: "path=with_nir"), cancellationToken);
            }
            return (StepResult.Stay(errors), false);
        }

        if (!await limiter.AllowAsync(limits, "account-creation", http.Connection.RemoteIpAddress?.ToString(), "nir:" + nir, cancellationToken))
        {
            await audit.WriteAsync(new AuditEntry(AuditEventTypes.AccountCreationRateLimited, "with_nir", ClientId: clientId), cancellationToken);
            return (StepResult.Stay(FormField, RecoveryJourney.TooManyRequestsMessage), true);
        }

        // One query and the same comparisons whether the NIR is known or not (a placeholder stands in for nobody).
        var person = await persons.FindByNirAsync(nir!, cancellationToken);
        var candidate = person ?? NobodyPlaceholder;
        var civilStatusMatches = CivilStatusMatching.Matches(candidate, birthName, givenNames, birthDate);
        if (person is null || person.IsClosed || !civilStatusMatches)
        {
            var reason = person is null ? "unknown_identity" : person.IsClosed ? "closed_account" : "civil_status_mismatch";
            await audit.WriteAsync(new AuditEntry(AuditEventTypes.AccountCreationRefused, reason, person?.Id, clientId, "path=with_nir"), cancellationToken);
            return (StepResult.Stay(FormField, IdentityNotVerifiedMessage), false);
        }

        // From here on the person proved a full civil-status match: saying an account exists is no longer a leak.
        if (HoldsAnAccount(person))
        {
            await audit.WriteAsync(new AuditEntry(AuditEventTypes.AccountCreationRefused, "already_has_account", person.Id, clientId, "path=with_nir"), cancellationToken);
            return (StepResult.Go(ExistingAccountUrl(returnUrl)), false);
        }
        // Who may receive the code is ContactProof's rule (docs/decisions.md #16): a contact the agency's records hold;
        // a contact typed here never proves an identity — knowing a NIR, names and a birth date is not enough.
        switch (ContactProof.ActivationRouteFor(person, channel, contact))
        {
            case ActivationRoute.TypedContactNotOnRecord:
                await audit.WriteAsync(new AuditEntry(AuditEventTypes.AccountCreationRefused, "contact_not_on_record", person.Id, clientId, $"path=with_nir channel={channel}"), cancellationToken);
                return (StepResult.Stay(ContactField, ContactNotOnRecordMessage), false);
            case ActivationRoute.ActivationLetter:
                return (await SendActivationLetterAsync(person, returnUrl, clientId, cancellationToken), false);
        }
        if (await contactProof.RefuseIfNotPersonalAsync(person, channel, contact, cancellationToken) is { } notPersonal)
        {
            await audit.WriteAsync(new AuditEntry(AuditEventTypes.AccountCreationRefused, "contact_not_personal", person.Id, clientId, $"path=with_nir channel={channel}"), cancellationToken);
            return (StepResult.Stay(ContactField, notPersonal), false);
        }

        var context = new AccountCreationContext { Path = CreationPath.WithNir, PersonId = person.Id, Channel = channel, Contact = contact };
        return (await StartVerificationAsync(http, context, returnUrl, clientId, cancellationToken), false);
    }

    /// <summary>
    /// The records hold no contact for this person: an activation code (a provisional password, valid two months) goes by
    /// letter to the person, at the address the agency holds; they then sign in with their NIR and it, and the first-login
    /// steps follow. At most one letter a day (no letter bombing); the page is the same either way.
    /// </summary>
    private async Task<StepResult> SendActivationLetterAsync(PersonAccount person, string returnUrl, string? clientId, CancellationToken cancellationToken)
    {
        var recentlySent = person.PendingProvisionalPasswordIssuedAt is { } sent && clock.GetUtcNow() - sent < RecoveryJourney.LetterInterval;
        if (recentlySent)
        {
            await audit.WriteAsync(new AuditEntry(AuditEventTypes.AccountActivationLetter, "recently_sent", person.Id, clientId, "path=with_nir"), cancellationToken);
        }
        else
        {
            await credentials.InTransactionAsync(async ct =>
            {
                await credentials.IssueProvisionalPasswordAsync(person, $"activation-letter:{person.Id:N}:{clock.GetUtcNow():yyyyMMdd}", ct,
                    (NotificationChannel.Letter, CredentialReset.LetterRecipient(person)),
                    new Dictionary<string, string> { [NotificationTemplates.ActivationValue] = "true" });
                await audit.WriteAsync(new AuditEntry(AuditEventTypes.AccountActivationLetter, "sent", person.Id, clientId, "path=with_nir"), ct);
                return true;
            }, cancellationToken);
        }
        return StepResult.Go(AccountCreationStates.LetterSentPath + (returnUrl.StartsWith("/connect/authorize", StringComparison.Ordinal)
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
                await audit.WriteAsync(new AuditEntry(AuditEventTypes.AccountCreationRefused, "under_16", ClientId: clientId, Details: "path=without_nir"), cancellationToken);
            }
            return (StepResult.Stay(errors), false);
        }

        var identityKey = $"civil:{CivilStatusMatching.NormaliseName(birthName)}|{CivilStatusMatching.NormaliseName(givenNames)}|{birthDate:yyyy-MM-dd}";
        if (!await limiter.AllowAsync(limits, "account-creation", http.Connection.RemoteIpAddress?.ToString(), identityKey, cancellationToken))
        {
            await audit.WriteAsync(new AuditEntry(AuditEventTypes.AccountCreationRateLimited, "without_nir", ClientId: clientId), cancellationToken);
            return (StepResult.Stay(FormField, RecoveryJourney.TooManyRequestsMessage), true);
        }

        // Decision (docs/identity-rules.md): a civil status (names and birth date) that is already a person's is not
        // given a second account silently; the person is sent to the login and recovery links (or to the NIR path).
        var sameCivilStatus = (await db.Persons.AsNoTracking().Where(p => p.BirthDate == birthDate && p.ClosedAt == null).ToListAsync(cancellationToken))
            .FirstOrDefault(p => CivilStatusMatching.Matches(p, birthName, givenNames, birthDate));
        if (sameCivilStatus is not null)
        {
            await audit.WriteAsync(new AuditEntry(AuditEventTypes.AccountCreationRefused, "same_civil_status", sameCivilStatus.Id, clientId, "path=without_nir"), cancellationToken);
            return (StepResult.Go(ExistingAccountUrl(returnUrl)), false);
        }

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
        await flows.SaveAsync(step.Flow, cancellationToken);
        return StepResult.Go(UrlOf(step.Flow) + "&renvoye=1");
    }

    /// <summary>The right code proves the contact: the account is activated (with a NIR) or created (without).</summary>
    public async Task<StepResult> VerifyCodeAsync(HttpContext http, AccountCreationStep step, string? code, CancellationToken cancellationToken)
    {
        var typed = new string((code ?? string.Empty).Where(c => !char.IsWhiteSpace(c)).ToArray());
        if (typed.Length != 6 || !typed.All(char.IsAsciiDigit))
        {
            return StepResult.Stay(CodeField, "Le code de vérification comporte 6 chiffres.");
        }
        var result = await codes.CheckAsync(step.Flow.Id, step.Context.Channel, step.Context.Contact, typed, cancellationToken);
        if (result.Outcome != CodeCheck.Verified)
        {
            await audit.WriteAsync(new AuditEntry(AuditEventTypes.ContactCodeRejected, result.Outcome.ToString(), step.Context.PersonId, step.Flow.ClientId, "flow=account-creation"), cancellationToken);
            return StepResult.Stay(CodeField, result.Outcome switch
            {
                CodeCheck.Wrong when result.AttemptsRemaining > 1 => $"Le code saisi est incorrect. Il vous reste {result.AttemptsRemaining} essais.",
                CodeCheck.Wrong => "Le code saisi est incorrect. Il vous reste 1 essai.",
                CodeCheck.Exhausted => "Le code saisi est incorrect. Trop d'essais : ce code n'est plus valable. Demandez l'envoi d'un nouveau code.",
                _ => "Ce code n'est plus valable. Demandez l'envoi d'un nouveau code.",
            });
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
        step.Flow.CompletedAt = clock.GetUtcNow();
        await flows.SaveAsync(step.Flow, cancellationToken);
        return await HandOverToFirstLoginAsync(http, step.Flow, person, cancellationToken);
    }

    /// <summary>« Quitter »: the flow ends; nothing was created before the code was verified.</summary>
    public async Task<StepResult> QuitAsync(AccountCreationStep step, CancellationToken cancellationToken)
    {
        await audit.WriteAsync(new AuditEntry(AuditEventTypes.FlowQuit, $"account-creation:{step.Flow.State}", step.Context.PersonId, step.Flow.ClientId), cancellationToken);
        await flows.VoidAsync(step.Flow, cancellationToken);
        return StepResult.Go(step.Flow.ReturnUrl.StartsWith("/connect/authorize", StringComparison.Ordinal)
            ? "/connexion?returnUrl=" + Uri.EscapeDataString(step.Flow.ReturnUrl)
            : "/connexion");
    }

    public string CodeValidity(ContactChannel channel) => firstLogin.CodeValidity(channel);

    public static string ExistingAccountUrl(string returnUrl) => returnUrl.StartsWith("/connect/authorize", StringComparison.Ordinal)
        ? AccountCreationStates.ExistingAccountPath + "?returnUrl=" + Uri.EscapeDataString(returnUrl)
        : AccountCreationStates.ExistingAccountPath;

    /// <summary>
    /// Someone who already set a password or accepted the terms has an account; an imported person has neither.
    /// A verified contact counts too: only an activation (or a login) verifies one — imports never do —, and a person
    /// activated by a creation flow holds the account from then on, even before their first login ends. Without it, a
    /// second creation flow started before the first activation could activate again and replace the verified contact.
    /// </summary>
    public static bool HoldsAnAccount(PersonAccount person) =>
        person.PasswordHash is not null || person.AcceptedTermsVersion is not null || person.LastLoginAt is not null
        || person.MobilePhoneVerified || person.EmailVerified;

    // ---------------------------------------------------------------- internals

    private static readonly PersonAccount NobodyPlaceholder = new() { BirthName = "\u0001", GivenNames = "\u0001" };

    private DateOnly Today => DateOnly.FromDateTime(clock.GetUtcNow().UtcDateTime);

    [GeneratedRegex("^[0-9]{5}$")]
    private static partial Regex PostalCodePattern();

    private async Task<StepResult> StartVerificationAsync(HttpContext http, AccountCreationContext context, string returnUrl, string? clientId, CancellationToken cancellationToken)
    {
        // The flow row is written with the code's message and audit row below, in one unit of work.
        var flow = await flows.CreateAsync(AccountCreationStates.FlowType, AccountCreationStates.Verify, context.PersonId, clientId, returnUrl,
            FlowLifetime, binding.GetOrCreate(http), context, cancellationToken);
        var step = new AccountCreationStep(flow, context);
        var refused = await SendCodeAsync(step, cancellationToken);
        if (refused is not null)
        {
            await flows.VoidAsync(flow, cancellationToken);
            return StepResult.Stay(ContactField, refused);
        }
        await flows.SaveAsync(flow, cancellationToken);
        return StepResult.Go(UrlOf(flow));
    }

    private async Task<string?> SendCodeAsync(AccountCreationStep step, CancellationToken cancellationToken)
    {
        var channel = step.Context.Channel;
        var issue = await codes.IssueAsync(step.Flow.Id, channel, step.Context.Contact, cancellationToken);
        if (!issue.Issued)
        {
            return issue.Refusal == CodeRefusal.TooSoon
                ? $"Un code vient de vous être envoyé. Patientez {Math.Max(1, (int)Math.Ceiling(issue.RetryAfter.TotalSeconds))} secondes avant d'en demander un nouveau."
                : "Vous avez demandé le nombre maximum de codes pour ces coordonnées. Recommencez plus tard.";
        }
        outbox.Enqueue(new NotificationRequest(NotificationKind.VerificationCode,
            channel == ContactChannel.Sms ? NotificationChannel.Sms : NotificationChannel.Email, step.Context.Contact,
            new Dictionary<string, string> { ["code"] = issue.Code!, ["validity"] = CodeValidity(channel) },
            step.Context.PersonId, $"creation-code:{step.Flow.Id}:{Guid.NewGuid():N}"));
        await audit.WriteAsync(new AuditEntry(AuditEventTypes.ContactCodeSent, channel.ToString(), step.Context.PersonId, step.Flow.ClientId, "flow=account-creation"), cancellationToken);
        return null;
    }

    private async Task<StepResult> ActivateAsync(HttpContext http, AccountCreationStep step, CancellationToken cancellationToken)
    {
        var person = step.Context.PersonId is { } id ? await persons.FindByIdAsync(id, cancellationToken) : null;
        if (person is null || person.IsClosed || HoldsAnAccount(person))
        {
            // Activated meanwhile (another tab, another browser): no second activation.
            return await RefuseSecondActivationAsync(step, person?.Id, cancellationToken);
        }
        try
        {
            SetVerifiedContact(person, step.Context);
            // The stamp changes with the very first write of the person (the audit trail saves as it writes), so that
            // write is conditional on the person read above: of two activations racing on two instances, one wins.
            person.ConcurrencyStamp = Guid.NewGuid();
            await JoinInvitedFilesAsync(person, step, cancellationToken);
            outbox.EnqueueToVerifiedContact(person, NotificationKind.AccountCreated, new Dictionary<string, string>(), $"account-created:{person.Id}");
            await audit.WriteAsync(new AuditEntry(AuditEventTypes.AccountCreated, "with_nir", person.Id, step.Flow.ClientId, $"channel={step.Context.Channel}"), cancellationToken);
            step.Flow.CompletedAt = clock.GetUtcNow();
            FlowStore.WriteContext(step.Flow, step.Context);
            person.ConcurrencyStamp = Guid.NewGuid();
            await flows.SaveAsync(step.Flow, cancellationToken);
        }
        catch (DbUpdateConcurrencyException)
        {
            // The person changed since it was read (a concurrent activation won): drop this one's writes and refuse it.
            db.ChangeTracker.Clear();
            var flow = await db.Flows.SingleAsync(f => f.Id == step.Flow.Id, cancellationToken);
            return await RefuseSecondActivationAsync(new AccountCreationStep(flow, step.Context), person.Id, cancellationToken);
        }
        return await HandOverToFirstLoginAsync(http, step.Flow, person, cancellationToken);
    }

    private async Task<StepResult> RefuseSecondActivationAsync(AccountCreationStep step, Guid? personId, CancellationToken cancellationToken)
    {
        step.Flow.CompletedAt = clock.GetUtcNow();
        await flows.SaveAsync(step.Flow, cancellationToken);
        await audit.WriteAsync(new AuditEntry(AuditEventTypes.AccountCreationRefused, "already_has_account", personId, step.Flow.ClientId, "path=with_nir step=code"), cancellationToken);
        return StepResult.Go(ExistingAccountUrl(step.Flow.ReturnUrl));
    }

    private async Task<StepResult> CreateWithProvisionalIdAsync(AccountCreationStep step, CancellationToken cancellationToken)
    {
        var declared = step.Context.Declared ?? throw new InvalidOperationException("A creation without NIR has its civil status.");
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
            // The audit trail saves as it writes: the first save of this attempt may already meet the unique index.
            try
            {
                SetVerifiedContact(person, step.Context);
                db.Persons.Add(person);
                step.Context.PersonId = person.Id;
                step.Context.ProvisionalId = person.ProvisionalId;
                step.Flow.PersonId = person.Id;
                await JoinInvitedFilesAsync(person, step, cancellationToken);
                // Seed 003: « Mon identifiant : P… » on the summary page and by SMS or e-mail, to be kept.
                outbox.Enqueue(new NotificationRequest(NotificationKind.AccountCreated,
                    step.Context.Channel == ContactChannel.Sms ? NotificationChannel.Sms : NotificationChannel.Email, step.Context.Contact,
                    new Dictionary<string, string> { ["identifier"] = person.ProvisionalId! }, person.Id, $"account-created:{person.Id}"));
                await audit.WriteAsync(new AuditEntry(AuditEventTypes.AccountCreated, "without_nir", person.Id, step.Flow.ClientId, $"channel={step.Context.Channel}"), cancellationToken);
                step.Flow.State = AccountCreationStates.Summary;
                FlowStore.WriteContext(step.Flow, step.Context);
                await flows.SaveAsync(step.Flow, cancellationToken);
                return StepResult.Go(UrlOf(step.Flow));
            }
            catch (DbUpdateException exception) when (exception is not DbUpdateConcurrencyException && attempt < 3)
            {
                // Drop what this attempt added (person, messages, audit rows, memberships) and draw again.
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
    /// Open invitations for this civil status sent to the very contact just verified: the person joins each file with
    /// the role the holder chose (unless already on it, e.g. imported), and the invitation is used up.
    /// </summary>
    private async Task JoinInvitedFilesAsync(PersonAccount person, AccountCreationStep step, CancellationToken cancellationToken)
    {
        if (person.BirthDate is not { } birthDate)
        {
            return;
        }
        var now = clock.GetUtcNow();
        var invitations = (await db.HouseholdInvitations.Include(i => i.Household).Where(i => i.BirthDate == birthDate && i.AcceptedAt == null).ToListAsync(cancellationToken))
            .Where(i => i.ExpiresAt > now && i.Contact == step.Context.Contact && i.Invites(person.BirthName, person.GivenNames, birthDate))
            .ToList();
        foreach (var invitation in invitations)
        {
            invitation.AcceptedAt = now;
            invitation.AcceptedByPersonId = person.Id;
            var alreadyMember = person.Memberships.Any(m => m.HouseholdId == invitation.HouseholdId)
                || await db.Memberships.AnyAsync(m => m.HouseholdId == invitation.HouseholdId && m.PersonId == person.Id, cancellationToken);
            if (!alreadyMember)
            {
                db.Memberships.Add(new HouseholdMembership { HouseholdId = invitation.HouseholdId, PersonId = person.Id, Role = invitation.Role, JoinedAt = now });
            }
            step.Context.JoinedFileNumber ??= invitation.Household?.FileNumber;
            await audit.WriteAsync(new AuditEntry(AuditEventTypes.HouseholdInvitationAccepted, alreadyMember ? "already_member" : "joined", person.Id, step.Flow.ClientId,
                $"file={invitation.Household?.FileNumber} role={invitation.Role.ToClaimValue()}"), cancellationToken);
        }
    }

    private async Task<StepResult> HandOverToFirstLoginAsync(HttpContext http, SelfServiceFlow creation, PersonAccount person, CancellationToken cancellationToken)
    {
        // The person has no password yet: evaluated as a provisional credential, the triggers always ask for one.
        var currentTerms = await terms.CurrentAsync(cancellationToken);
        var reloaded = await persons.FindByIdAsync(person.Id, cancellationToken) ?? person;
        var actions = RequiredActionTriggers.Evaluate(reloaded, new RequiredActionContext(currentTerms?.Version ?? 0, clock.GetUtcNow(),
            PasswordKind.Provisional, loginOptions.PasswordExpiry, loginOptions.ContactReminderInterval)
        {
            DelegationReminderInterval = loginOptions.DelegationReminderInterval,
        });
        var flow = await firstLogin.StartAsync(http, reloaded, actions, PasswordKind.Provisional, creation.ReturnUrl, creation.ClientId, cancellationToken, accountCreation: true);
        return StepResult.Go(FirstLoginJourney.UrlOf(flow));
    }
}
