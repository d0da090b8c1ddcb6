using CafConnect.Domain.Households;
using CafConnect.Domain.Passwords;

namespace CafConnect.Domain.Accounts;

/// <summary>A step a person must go through before being signed in, in the order they are asked.</summary>
public enum RequiredAction
{
    /// <summary>"Conditions générales d'utilisation": first login, or a newer terms version.</summary>
    AcceptTerms = 1,
    /// <summary>"Choisir son mot de passe": legacy code, provisional or expired password, or set by an agent/incident.</summary>
    ChooseNewPassword = 2,
    /// <summary>"Coordonnées de contact": no verified contact (optional: may be skipped, asked again later).</summary>
    VerifyContact = 3,
    /// <summary>
    /// "Mes autorisations": a holder living as a couple who never answered whether the partner may act on the file
    /// (optional: « Passer » asks again after the reminder interval). Last, as seed 003 puts it at the end of the first login.
    /// </summary>
    DelegationChoice = 4,
}

/// <summary>An action stored on the account by someone else (an agent, an incident response), done at the next login.</summary>
public sealed class PendingRequiredAction
{
    public Guid Id { get; set; } = Guid.NewGuid();
    public Guid PersonId { get; set; }
    public RequiredAction Action { get; set; }

    /// <summary>Why it was set, for operators (no personal data).</summary>
    public string Reason { get; set; } = string.Empty;
    public DateTimeOffset CreatedAt { get; set; }
}

/// <summary>What the login knows when it evaluates the triggers.</summary>
public sealed record RequiredActionContext(
    int CurrentTermsVersion,
    DateTimeOffset Now,
    PasswordKind SignedInWith,
    PasswordExpiryOptions PasswordExpiry,
    TimeSpan ContactReminderInterval)
{
    /// <summary>How long « Passer » on the delegation step keeps it from being asked again.</summary>
    public TimeSpan DelegationReminderInterval { get; init; } = RequiredActionTriggers.DefaultDelegationReminderInterval;
}

/// <summary>
/// Decides, at every login, which steps stand between the person and their session. One place, so the login page,
/// the FranceConnect return and the tests all ask the same question.
/// </summary>
public static class RequiredActionTriggers
{
    public static readonly TimeSpan DefaultContactReminderInterval = TimeSpan.FromDays(30);
    public static readonly TimeSpan DefaultDelegationReminderInterval = TimeSpan.FromDays(30);

    /// <summary>
    /// The steps a person cannot skip (terms, a new password); the contact and the delegation question have « Passer ».
    /// A channel without a browser (the kiosk grant) is held back by these only.
    /// </summary>
    public static bool CannotBeSkipped(RequiredAction action) => action is RequiredAction.AcceptTerms or RequiredAction.ChooseNewPassword;

    public static IReadOnlyList<RequiredAction> Evaluate(PersonAccount person, RequiredActionContext context)
    {
        var actions = new SortedSet<RequiredAction>(person.RequiredActions.Select(a => a.Action));

        if (person.AcceptedTermsVersion is not { } accepted || accepted < context.CurrentTermsVersion)
        {
            actions.Add(RequiredAction.AcceptTerms);
        }

        var passwordSetAt = person.PasswordSetAt ?? person.CreatedAt;
        if (!PasswordExpiryPolicy.Evaluate(context.SignedInWith, passwordSetAt, context.Now, context.PasswordExpiry).IsValid)
        {
            actions.Add(RequiredAction.ChooseNewPassword);
        }

        // Optional step: asked while no contact is verified, but not more than once per reminder interval.
        var hasVerifiedContact = (person.EmailVerified && person.Email is not null) || (person.MobilePhoneVerified && person.MobilePhone is not null);
        var recentlySkipped = person.ContactStepSkippedAt is { } skipped && context.Now - skipped < context.ContactReminderInterval;
        if (!hasVerifiedContact && !recentlySkipped)
        {
            actions.Add(RequiredAction.VerifyContact);
        }

        if (HouseholdDelegation.ChoicePending(person, context.Now, context.DelegationReminderInterval))
        {
            actions.Add(RequiredAction.DelegationChoice);
        }

        return actions.ToList();
    }
}
