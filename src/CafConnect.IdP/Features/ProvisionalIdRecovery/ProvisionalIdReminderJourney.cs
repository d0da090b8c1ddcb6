using CafConnect.Application.RateLimiting;
using CafConnect.Application.Persistence;
using CafConnect.Application.Identity;
using CafConnect.Domain.Accounts;
using CafConnect.Domain.Contacts;
using CafConnect.IdP.Sessions;
using CafConnect.Infrastructure.Accounts;
using CafConnect.Infrastructure.Audit;
using CafConnect.Infrastructure.Flows;
using CafConnect.Infrastructure.Notifications;
using CafConnect.Infrastructure.Verification;

namespace CafConnect.IdP.Features.ProvisionalIdRecovery;

public static class ProvisionalIdReminderStates
{
    public const string FlowType = "provisional-id-reminder";
    public const string Sent = "sent";
    public const string StartPath = "/identifiant-provisoire-oublie";
    public const string SentPath = "/identifiant-provisoire-oublie/envoye";
}

/// <summary>What the form asks: civil status and a contact. Everything as typed; the journey normalises it.</summary>
public sealed record ProvisionalIdRequest(string? BirthName, string? GivenNames, string? BirthDate, string? Contact);

/// <summary>The flow of a request: nothing but the fact it was answered (the page after it is the same for everyone).</summary>
public sealed class ProvisionalIdReminderContext
{
    public bool ByEmail { get; set; }
}

/// <summary>
/// "Identifiant provisoire oublié ?": when the civil status matches a person holding a provisional identifier and the
/// contact typed is one of their verified contacts, the identifier is sent to that contact (seed 003's wording), never
/// shown. Every request gets the same answer and is limited per IP and per contact.
/// </summary>
public sealed class ProvisionalIdReminderJourney(
    FlowStore flows, PersonDirectory persons, INotificationOutbox outbox, MessageCap messageCap, AuditTrail audit, FlowBrowserBinding binding,
    IJourneyRateLimiter limiter, JourneyRateLimitOptions limits, IUnitOfWork unitOfWork, TimeProvider clock)
{
    public static readonly TimeSpan FlowLifetime = FlowLifetimes.ProvisionalIdReminder;

    public const string BirthNameField = "BirthName";
    public const string GivenNamesField = "GivenNames";
    public const string BirthDateField = "BirthDate";
    public const string ContactField = "Contact";
    public const string FormField = StepResult.FormField;

    public async Task<(StepResult Result, bool Limited)> RequestAsync(HttpContext http, ProvisionalIdRequest request, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string>();
        var birthName = NormaliseName(request.BirthName);
        var givenNames = NormaliseName(request.GivenNames);
        if (birthName.Length == 0)
        {
            errors[BirthNameField] = "Saisissez votre nom de naissance.";
        }
        if (givenNames.Length == 0)
        {
            errors[GivenNamesField] = "Saisissez votre prénom (ou vos prénoms).";
        }
        if (!TryParseBirthDate(request.BirthDate, out var birthDate, out var dateError))
        {
            errors[BirthDateField] = dateError;
        }
        var (channel, contact, contactError) = ParseContact(request.Contact);
        if (contactError is not null)
        {
            errors[ContactField] = contactError;
        }
        if (errors.Count > 0)
        {
            return (StepResult.Stay(errors), false);
        }

        if (!await limiter.AllowAsync(limits, "provisional-id", http.Connection.RemoteIpAddress, contact!, cancellationToken))
        {
            audit.Append(new AuditEntry(AuditEventTypes.RecoveryRateLimited, "provisional_id"));
            await unitOfWork.CommitAsync(cancellationToken);
            return (StepResult.Stay(FormField, JourneyRateLimits.TooManyRequestsMessage), true);
        }

        var candidates = await persons.ProvisionalHoldersBornOnAsync(birthDate, cancellationToken);
        var match = candidates.FirstOrDefault(p => NormaliseName(p.BirthName) == birthName && GivenNamesMatch(p.GivenNames, givenNames) && ContactProof.IsOwn(p, channel, contact!));

        var flow = flows.Add(ProvisionalIdReminderStates.FlowType, ProvisionalIdReminderStates.Sent, null, null,
            ProvisionalIdReminderStates.StartPath, FlowLifetime, binding.GetOrCreate(http),
            new ProvisionalIdReminderContext { ByEmail = channel == ContactChannel.Email });
        // The page after the request is the same for everyone: a spent ceiling withholds the reminder, never tells.
        var withheld = match is not null && await messageCap.CountAsync(MessageCap.Journeys.ProvisionalIdReminder,
            new MessageRecipient(match.Id, channel, contact), answersAlike: true, cancellationToken) != MessageCapOutcome.Allowed;
        if (match is not null && !withheld)
        {
            outbox.Enqueue(new NotificationRequest(NotificationKind.ProvisionalIdReminder,
                channel == ContactChannel.Email ? NotificationChannel.Email : NotificationChannel.Sms, contact!,
                new Dictionary<string, string> { ["identifier"] = match.ProvisionalId! }, match.Id, $"provisional-id-reminder:{flow.Id}"));
        }
        // The person only when matched: an unmatched request names nobody.
        audit.Append(new AuditEntry(AuditEventTypes.ProvisionalIdReminderRequested, match is null ? "no_match" : withheld ? "capped" : "sent", match?.Id,
            Details: $"channel={channel}"));
        await unitOfWork.CommitAsync(cancellationToken);
        return (StepResult.Go($"{ProvisionalIdReminderStates.SentPath}?flow={Uri.EscapeDataString(flow.Id)}"), false);
    }

    public async Task<(FlowLookup Lookup, ProvisionalIdReminderContext? Context)> LoadAsync(HttpContext http, string? flowId, CancellationToken cancellationToken)
    {
        var (lookup, flow) = await flows.FindAsync(flowId, ProvisionalIdReminderStates.FlowType, binding.Read(http), cancellationToken);
        return lookup == FlowLookup.Found ? (lookup, FlowStore.ReadContext<ProvisionalIdReminderContext>(flow!)) : (lookup, null);
    }

    /// <summary>Upper case, no accents, hyphens and apostrophes as spaces, single spaces (see <see cref="CivilStatusMatching"/>).</summary>
    public static string NormaliseName(string? name) => CivilStatusMatching.NormaliseName(name);

    private static bool GivenNamesMatch(string stored, string typed) => CivilStatusMatching.GivenNamesMatch(stored, typed);

    private static (ContactChannel Channel, string? Contact, string? Error) ParseContact(string? input)
    {
        var text = (input ?? string.Empty).Trim();
        if (text.Length == 0)
        {
            return (ContactChannel.Email, null, "Saisissez votre adresse mail ou votre numéro de téléphone portable.");
        }
        if (ContactNormalizer.ChannelOf(text) == ContactChannel.Email)
        {
            return EmailAddress.TryNormalise(text, out var email, out var emailError) ? (ContactChannel.Email, email, null) : (ContactChannel.Email, null, emailError);
        }
        return FrenchMobile.TryNormalise(text, out var mobile, out var mobileError) ? (ContactChannel.Sms, mobile, null) : (ContactChannel.Sms, null, mobileError);
    }

    private bool TryParseBirthDate(string? input, out DateOnly date, out string error)
    {
        var valid = BirthDateInput.TryParse(input, DateOnly.FromDateTime(clock.GetUtcNow().UtcDateTime), out date, out var reason);
        error = valid ? string.Empty : BirthDateInput.MessageFor(reason, ownBirthDate: true);
        return valid;
    }
}
