using System.Globalization;
using System.Security.Cryptography;
using CafConnect.Domain.Accounts;
using CafConnect.Domain.Contacts;
using CafConnect.Domain.Households;
using CafConnect.Domain.Identity;
using CafConnect.Infrastructure.Accounts;
using CafConnect.Infrastructure.Audit;
using CafConnect.Infrastructure.Notifications;
using CafConnect.Infrastructure.Persistence;
using CafConnect.Application.Credentials;
using FluentValidation;
using Microsoft.EntityFrameworkCore;

namespace CafConnect.Application.Admin;

/// <summary>The applicant of <c>POST /admin/v1/applicants</c>: civil status and the contact the application gave.</summary>
public sealed record ApplicantDetails
{
    public string? Nir { get; init; }
    public string? Civility { get; init; }
    public string? BirthName { get; init; }
    public string? UsageName { get; init; }
    public string? GivenNames { get; init; }
    public string? BirthDate { get; init; }
    public string? BirthCountry { get; init; }
    public string? BirthCity { get; init; }
    public string? PostalCode { get; init; }
    public string? Mobile { get; init; }
    public string? Email { get; init; }
}

/// <summary>
/// A completed application of a first-time applicant (seed 000): online (<c>en_ligne</c>) for housing aid or the
/// birth grant, or on paper (<c>papier</c>).
/// </summary>
public sealed record ApplicantRegistrationRequest
{
    public string? ApplicationId { get; init; }
    public string? Channel { get; init; }
    public string? Benefit { get; init; }
    public ApplicantDetails? Applicant { get; init; }

    public const string Online = "en_ligne";
    public const string Paper = "papier";
    public static readonly IReadOnlyList<string> Benefits = ["aide_logement", "prime_naissance"];
}

public sealed class ApplicantRegistrationRequestValidator : AbstractValidator<ApplicantRegistrationRequest>
{
    public ApplicantRegistrationRequestValidator()
    {
        RuleFor(r => r.ApplicationId).NotEmpty().OverridePropertyName("application_id").WithMessage("application_id is required")
            .Matches("^[A-Za-z0-9._:-]{1,100}$").OverridePropertyName("application_id").WithMessage("application_id: 1 to 100 letters, digits, '.', '_', ':' or '-'");
        RuleFor(r => r.Channel).Must(c => c is ApplicantRegistrationRequest.Online or ApplicantRegistrationRequest.Paper)
            .OverridePropertyName("channel").WithMessage("channel: en_ligne or papier");
        RuleFor(r => r.Benefit).Must(b => b is not null && ApplicantRegistrationRequest.Benefits.Contains(b))
            .OverridePropertyName("benefit").WithMessage("benefit: aide_logement or prime_naissance");
        RuleFor(r => r.Applicant).NotNull().OverridePropertyName("applicant").WithMessage("applicant is required");
        When(r => r.Applicant is not null, () =>
        {
            RuleFor(r => r.Applicant!.Nir).Must(n => Nir.TryParse(n, out _, out _)).When(r => r.Applicant!.Nir is not null)
                .OverridePropertyName("applicant.nir").WithMessage("applicant.nir: a valid NIR (13 or 15 characters, key checked)");
            RuleFor(r => r.Applicant!.Civility).Must(c => PersonReference.ParseCivility(c) is not null).OverridePropertyName("applicant.civility").WithMessage("applicant.civility: M or MME");
            RuleFor(r => r.Applicant!.BirthName).Must(n => PersonReferenceValidator.IsName(n, 100)).OverridePropertyName("applicant.birth_name")
                .WithMessage("applicant.birth_name: letters, spaces, hyphens, apostrophes; at most 100 characters");
            RuleFor(r => r.Applicant!.UsageName).Must(n => PersonReferenceValidator.IsName(n, 100)).When(r => r.Applicant!.UsageName is not null)
                .OverridePropertyName("applicant.usage_name").WithMessage("applicant.usage_name: letters, spaces, hyphens, apostrophes; at most 100 characters");
            RuleFor(r => r.Applicant!.GivenNames).Must(n => PersonReferenceValidator.IsName(n?.Replace(',', ' '), 200)).OverridePropertyName("applicant.given_names")
                .WithMessage("applicant.given_names: letters, spaces, commas, hyphens, apostrophes; at most 200 characters");
            RuleFor(r => r.Applicant!.BirthDate).Must(d => PersonReference.ParseDate(d) is { } date && date.Year >= 1900 && date <= DateOnly.FromDateTime(DateTime.UtcNow))
                .OverridePropertyName("applicant.birth_date").WithMessage("applicant.birth_date: YYYY-MM-DD, from 1900 to today");
            RuleFor(r => r.Applicant!.BirthCountry).Must(c => c!.Length <= 60 && c.Trim().Length > 0).When(r => r.Applicant!.BirthCountry is not null)
                .OverridePropertyName("applicant.birth_country").WithMessage("applicant.birth_country: at most 60 characters");
            RuleFor(r => r.Applicant!.BirthCity).Must(c => PersonReferenceValidator.IsName(c, 100)).When(r => r.Applicant!.BirthCity is not null)
                .OverridePropertyName("applicant.birth_city").WithMessage("applicant.birth_city: letters, spaces, hyphens, apostrophes; at most 100 characters");
            RuleFor(r => r.Applicant!.PostalCode).Matches("^[0-9]{5}$").When(r => r.Applicant!.PostalCode is not null)
                .OverridePropertyName("applicant.postal_code").WithMessage("applicant.postal_code: 5 digits");
            RuleFor(r => r.Applicant!.Mobile).Must(m => FrenchMobile.TryNormalise(m, out _, out _)).When(r => r.Applicant!.Mobile is not null)
                .OverridePropertyName("applicant.mobile").WithMessage("applicant.mobile: a French mobile number (06 or 07)");
            RuleFor(r => r.Applicant!.Email).Must(m => EmailAddress.TryNormalise(m, out _, out _)).When(r => r.Applicant!.Email is not null)
                .OverridePropertyName("applicant.email").WithMessage("applicant.email: an e-mail address");
        });
    }
}

/// <summary>
/// Seed 000: when a first-time applicant completes an application, the benefits system registers them here. CafConnect
/// creates the person (or finds their account), opens a new file being processed (<see cref="Household.Pending"/>: the
/// person is a primo-demandeur), answers with the file number, and sends a provisional password valid 2 months, to
/// be replaced at the first login: by SMS when the application gave a mobile, else by letter; on paper, the identifier
/// and the password go in two separate letters. Once per application id.
/// </summary>
public sealed class ApplicantRegistration(
    CafConnectDbContext db, PersonDirectory persons, CredentialReset credentials, INotificationOutbox outbox, AuditTrail audit,
    IdempotentAdminRequests idempotency, TimeProvider clock)
{
    private static readonly ApplicantRegistrationRequestValidator Validator = new();
    private static readonly ProvisionalIdGenerator ProvisionalIds = new();

    public async Task<AdminResponse> RegisterAsync(ApplicantRegistrationRequest request, AdminCaller caller, CancellationToken cancellationToken)
    {
        var validation = await Validator.ValidateAsync(request, cancellationToken);
        if (!validation.IsValid)
        {
            return AdminResponse.Failure(AdminProblem.Invalid(validation));
        }
        return await idempotency.RunAsync(caller.IdempotencyKey("applicant", request.ApplicationId!), AdminJson.PayloadHash(request),
            ct => RegisterOnceAsync(request, caller, ct), cancellationToken);
    }

    private async Task<AdminResponse> RegisterOnceAsync(ApplicantRegistrationRequest request, AdminCaller caller, CancellationToken ct)
    {
        var details = request.Applicant!;
        string? mobile = null;
        if (details.Mobile is not null)
        {
            FrenchMobile.TryNormalise(details.Mobile, out mobile, out _);
        }
        string? email = null;
        if (details.Email is not null)
        {
            EmailAddress.TryNormalise(details.Email, out email, out _);
        }

        PersonAccount? person = null;
        if (details.Nir is not null)
        {
            Nir.TryParse(details.Nir, out var nir, out _);
            LoginIdentifier.TryParse(nir.Value, out var identifier, out _);
            // The NIR finds an account only if the application describes the same person (the rule of « Créer Mon
            // Compte »): else the first application naming a NIR would own every later file sent under it.
            var lookup = await persons.FindSamePersonAsync(identifier, ClaimOf(details), ct);
            if (lookup.IsMismatch)
            {
                return AdminResponse.Failure(AdminProblem.CivilStatusMismatch("applicant.nir")) with
                {
                    RefusalAudit = new AuditEntry(AuditEventTypes.IdentityMismatchRefused, "applicant", lookup.Mismatch!.Id, caller.ClientId,
                        $"application={request.ApplicationId}; {caller.AuditDetails}"),
                };
            }
            person = lookup.Person;
            if (person is { IsClosed: true })
            {
                return AdminResponse.Failure(AdminProblem.Unprocessable("closed_account", "The account with this NIR is closed."));
            }
            if (person is not null && person.Memberships.Any(m => m.Household is { Pending: false }))
            {
                return AdminResponse.Failure(AdminProblem.Conflict("already_allocataire",
                    "This person is already on a processed file: they are not a first-time applicant."));
            }
            person ??= NewPerson(details, nir.Value, null);
        }
        else
        {
            var provisionalId = await ProvisionalIds.GenerateAsync(async (candidate, token) => await db.Persons.AnyAsync(p => p.ProvisionalId == candidate, token), ct);
            person = NewPerson(details, null, provisionalId.Value);
        }
        var isNew = db.Entry(person).State == EntityState.Detached;
        // Decision 19: a new account with a NIR is someone's civil identity, claimed by an application nobody has
        // checked yet. Its contact is the applicant's claim: it is not kept as the records' contact (other journeys
        // trust that one) and nothing is sent to it; the provisional password goes by letter, to the address the
        // agency's file holds. Without a NIR the account is the applicant's own new identifier: seed 000's SMS stays.
        var claimsAnIdentity = isNew && person.Nir is not null;
        if (isNew)
        {
            if (!claimsAnIdentity)
            {
                person.MobilePhone = mobile;
                person.Email = email;
            }
            db.Persons.Add(person);
        }

        var now = clock.GetUtcNow();
        var household = new Household { FileNumber = await NewFileNumberAsync(ct), CreatedAt = now, Pending = true };
        household.Members.Add(new HouseholdMembership { Person = person, PersonId = person.Id, Role = HouseholdRole.Allocataire, JoinedAt = now });
        db.Households.Add(household);
        await db.SaveChangesAsync(ct);

        // An existing account (found by the NIR) is never reached through the application's contact: nobody verified it,
        // and anyone knowing a NIR could otherwise receive a password for that person. A person who already chose their
        // own password keeps it and is told of the new file on their verified contact (else by letter); one without a
        // personal password gets the provisional password on their verified mobile, else by letter (CredentialReset's rule).
        var keyPrefix = caller.IdempotencyKey("applicant", request.ApplicationId!);
        var extra = new Dictionary<string, string> { ["file_number"] = household.FileNumber };
        string delivery;
        var letters = 0;
        DateTimeOffset? validUntil = null;
        if (!isNew && person.CredentialKind == CredentialKind.Personal)
        {
            delivery = "none";
            var notice = new Dictionary<string, string>(extra) { [NotificationTemplates.KeepsPasswordValue] = "true" };
            if (!outbox.EnqueueToVerifiedContact(person, NotificationKind.ApplicantIdentifier, notice, keyPrefix + ":notice"))
            {
                outbox.Enqueue(new NotificationRequest(NotificationKind.ApplicantIdentifier, NotificationChannel.Letter, CredentialReset.LetterRecipient(person),
                    notice, person.Id, keyPrefix + ":notice:letter"));
                letters++;
            }
        }
        else
        {
            (NotificationChannel, string)? route;
            if (request.Channel == ApplicantRegistrationRequest.Paper)
            {
                // Two separate letters (seed 000): whoever opens one of them alone cannot sign in.
                var identifierValues = new Dictionary<string, string>(extra);
                if (person.ProvisionalId is not null)
                {
                    identifierValues["identifier"] = person.ProvisionalId;
                }
                outbox.Enqueue(new NotificationRequest(NotificationKind.ApplicantIdentifier, NotificationChannel.Letter, CredentialReset.LetterRecipient(person),
                    identifierValues, person.Id, keyPrefix + ":identifier"));
                letters++;
                route = (NotificationChannel.Letter, CredentialReset.LetterRecipient(person));
            }
            else
            {
                // Seed 000: by SMS when the application gave a mobile (not verified yet: the first login asks it), else by
                // letter; a new account with a NIR always by letter (decision 19).
                route = mobile is not null && !claimsAnIdentity
                    ? (NotificationChannel.Sms, mobile)
                    : (NotificationChannel.Letter, CredentialReset.LetterRecipient(person));
            }
            // An existing account: its verified mobile, else a letter (never the application's unverified contact).
            var sent = await credentials.IssueProvisionalPasswordAsync(person, keyPrefix + ":password", ct, isNew ? route : null, extra);
            validUntil = sent.ValidUntil;
            if (sent.Channel == NotificationChannel.Letter)
            {
                letters++;
            }
            delivery = sent.Channel == NotificationChannel.Sms ? "sms" : "courrier";
        }

        audit.Append(new AuditEntry(AuditEventTypes.ApplicantRegistered, delivery, person.Id, caller.ClientId,
            $"application={request.ApplicationId}; {caller.AuditDetails}; channel={request.Channel}; benefit={request.Benefit}; household={household.Id}; account_created={(isNew ? "yes" : "no")}; letters={letters}"));
        if (delivery != "none")
        {
            audit.Append(new AuditEntry(AuditEventTypes.ProvisionalPasswordIssued, delivery, person.Id, caller.ClientId, $"by=applicant_registration; application={request.ApplicationId}"));
        }

        return AdminResponse.Success(201, new
        {
            application_id = request.ApplicationId,
            file_number = household.FileNumber,
            // The login: the NIR the caller sent (not repeated here), or the new provisional identifier.
            login = person.ProvisionalId is not null ? "provisional_id" : "nir",
            provisional_id = person.ProvisionalId,
            account_created = isNew,
            password_delivery = delivery,
            letters,
            password_valid_until = validUntil?.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
        });
    }

    private static CivilStatusClaim ClaimOf(ApplicantDetails details) =>
        new(details.BirthName, details.GivenNames, PersonReference.ParseDate(details.BirthDate));

    /// <summary>7 random digits not used by any file (the file-number rule: exactly 7 digits, leading zeros kept).</summary>
    private async Task<string> NewFileNumberAsync(CancellationToken ct)
    {
        for (var attempt = 0; attempt < 32; attempt++)
        {
            var candidate = RandomNumberGenerator.GetInt32(0, 10_000_000).ToString("D7", CultureInfo.InvariantCulture);
            if (!await db.Households.AnyAsync(h => h.FileNumber == candidate, ct))
            {
                return candidate;
            }
        }
        throw new InvalidOperationException("No free file number after 32 attempts.");
    }

    private PersonAccount NewPerson(ApplicantDetails details, string? nir, string? provisionalId) => new()
    {
        Nir = nir,
        ProvisionalId = provisionalId,
        Civility = PersonReference.ParseCivility(details.Civility)!.Value,
        BirthName = details.BirthName!.Trim().ToUpperInvariant(),
        UsageName = details.UsageName?.Trim().ToUpperInvariant(),
        GivenNames = details.GivenNames!.Trim(),
        BirthDate = PersonReference.ParseDate(details.BirthDate),
        BirthCountry = details.BirthCountry?.Trim().ToUpperInvariant(),
        BirthCity = details.BirthCity?.Trim(),
        PostalCode = details.PostalCode,
        CreatedAt = clock.GetUtcNow(),
        CredentialKind = CredentialKind.None,
    };
}
