using CafConnect.Domain.Accounts;

namespace CafConnect.Domain.Households;

/// <summary>
/// The file holder's invitation to a household member over 15 (partner, child, other person) to create their own
/// account (seed 001: « directement depuis l'espace Mon Compte pour les conjoints, enfants et autres personnes de plus
/// de 15 ans »). The invitee proves who they are when they create their account: the same civil status, and a code
/// sent to the contact the holder gave. Then they join the file with <see cref="Role"/>.
/// </summary>
public sealed class HouseholdInvitation
{
    public static readonly TimeSpan Lifetime = TimeSpan.FromDays(30);

    public Guid Id { get; set; } = Guid.NewGuid();
    public Guid HouseholdId { get; set; }
    public Household? Household { get; set; }
    public HouseholdRole Role { get; set; }

    public string BirthName { get; set; } = string.Empty;
    public string GivenNames { get; set; } = string.Empty;
    public DateOnly BirthDate { get; set; }

    /// <summary>Normalised: an e-mail address in lower case, or a mobile number in E.164.</summary>
    public string Contact { get; set; } = string.Empty;

    public Guid InvitedByPersonId { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset ExpiresAt { get; set; }
    public DateTimeOffset? AcceptedAt { get; set; }
    public Guid? AcceptedByPersonId { get; set; }

    /// <summary>
    /// Whether the invitation may still be shown, counted and answered: not answered, not expired, and its sender still
    /// the holder (allocataire) of <see cref="Household"/> with an open account. An invitation speaks for the holder who
    /// sent it: once they leave the file (a separation gives it to the ex-partner), or their account is closed, it would
    /// let them place someone of their choosing — a civil status they made up and a contact of their own — on a file that
    /// is no longer theirs (adversarial review, 5 December 2026, fourth session). The one rule every journey asks.
    /// </summary>
    /// <remarks>
    /// Reads <see cref="Household"/>'s members and their accounts: load them (<c>Include(i => i.Household).ThenInclude(h =>
    /// h.Members).ThenInclude(m => m.Person)</c>). Anything not loaded reads as closed — never as open.
    /// </remarks>
    public bool IsOpenAt(DateTimeOffset now) =>
        AcceptedAt is null && now < ExpiresAt
        && Household is { } household && household.Id == HouseholdId
        && household.Members.Any(m => m.PersonId == InvitedByPersonId && m.Role == HouseholdRole.Allocataire && m.Person is { IsClosed: false });

    /// <summary>The invitee's civil status as the holder typed it, compared like every civil status.</summary>
    public bool Invites(string? birthName, string? givenNames, DateOnly birthDate) =>
        CivilStatusMatching.Matches(new PersonAccount { BirthName = BirthName, GivenNames = GivenNames, BirthDate = BirthDate }, birthName, givenNames, birthDate);
}
