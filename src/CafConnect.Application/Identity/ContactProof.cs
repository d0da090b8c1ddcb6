using CafConnect.Domain.Accounts;
using CafConnect.Domain.Contacts;
using CafConnect.Infrastructure.Accounts;
using CafConnect.Infrastructure.Verification;

namespace CafConnect.Application.Identity;

/// <summary>Where a contact held on a person comes from.</summary>
public enum ContactOrigin
{
    /// <summary>The agency's records (import, file events, the benefits system's application): the agency's own data.</summary>
    Records,
    /// <summary>Proven by this person with a code (first login, account creation).</summary>
    Verified,
}

/// <summary>A contact that may receive a secret meant for the person: normalised (e-mail as stored, mobile in E.164).</summary>
public sealed record OwnContact(ContactChannel Channel, string Value, ContactOrigin Origin);

/// <summary>
/// The one rule deciding which contact may receive a code, or a provisional password, for which person
/// (docs/decisions.md #16): a contact the agency's records hold, or one this person already verified, is the person's
/// own; a contact typed in a form never proves an identity — it is only ever proven <em>after</em> the identity was,
/// by something the agency or the State vouches for (a letter, FranceConnect, the legacy code, the person's password).
/// Every journey asks here: the first login, account creation with a NIR, recovery, invitations, FranceConnect.
/// </summary>
/// <remarks>
/// Only two things ever store a contact on a person: the agency's systems (import, file events, applications — never
/// marked verified) and a successful code check (marked verified). A contact typed in a form is never stored before its
/// code is checked. So a stored contact is either the records' or verified, and <see cref="OwnContacts"/> is exact.
/// </remarks>
public sealed class ContactProof(PersonDirectory persons)
{
    /// <summary>At most one letter carrying a provisional password (recovery, activation) a day: no letter bombing.</summary>
    public static readonly TimeSpan LetterInterval = TimeSpan.FromDays(1);

    /// <summary>Seeds 003 and 004: each person proves a contact of their own, not a partner's or a parent's.</summary>
    public const string NotPersonalMessage =
        "Indiquez une adresse mail et un numéro de téléphone personnels, différents de ceux de votre conjoint ou de vos parents.";

    /// <summary>The person's own contacts, verified first then the records', the mobile before the e-mail (seed 003).</summary>
    public static IReadOnlyList<OwnContact> OwnContacts(PersonAccount person)
    {
        var contacts = new List<OwnContact>(2);
        if (person.MobilePhone is { Length: > 0 } mobile && FrenchMobile.TryNormalise(mobile, out var e164, out _))
        {
            contacts.Add(new OwnContact(ContactChannel.Sms, e164, person.MobilePhoneVerified ? ContactOrigin.Verified : ContactOrigin.Records));
        }
        if (person.Email is { Length: > 0 } email)
        {
            contacts.Add(new OwnContact(ContactChannel.Email, email, person.EmailVerified ? ContactOrigin.Verified : ContactOrigin.Records));
        }
        return [.. contacts.OrderBy(c => c.Origin == ContactOrigin.Verified ? 0 : 1).ThenBy(c => c.Channel == ContactChannel.Sms ? 0 : 1)];
    }

    public static bool HasOwnContact(PersonAccount person) => OwnContacts(person).Count > 0;

    /// <summary>
    /// Where a code or a provisional password for the person goes: the channel asked for when the person has one of that
    /// kind, else the first of <see cref="OwnContacts"/> (« par SMS si un numéro de portable figure au dossier, sinon par
    /// courrier », seed 000); null means by letter.
    /// </summary>
    public static OwnContact? Destination(PersonAccount person, ContactChannel? preferred = null)
    {
        var own = OwnContacts(person);
        return (preferred is { } channel ? own.FirstOrDefault(c => c.Channel == channel) : null) ?? own.FirstOrDefault();
    }

    /// <summary>
    /// Where a provisional password (or an activation secret sent with it) for the person goes: their own mobile —
    /// verified, or held by the records — by SMS, else null: by letter (« par SMS si un numéro de portable figure au
    /// dossier, sinon par courrier », seed 000). Never by e-mail: a provisional password is a secret that opens the
    /// account, and the seed names only these two channels.
    /// </summary>
    public static OwnContact? ProvisionalPasswordDestination(PersonAccount person) =>
        OwnContacts(person).FirstOrDefault(c => c.Channel == ContactChannel.Sms);

    /// <summary>Whether <paramref name="contact"/> (as typed or normalised) is one of the person's own contacts.</summary>
    public static bool IsOwn(PersonAccount person, ContactChannel channel, string contact) =>
        OwnContacts(person).Any(c => c.Channel == channel && Same(channel, c.Value, contact));

    /// <summary>
    /// Account creation with a NIR, after a full civil-status match: the contacts the person may choose to receive the
    /// 6-digit code at — the records' own, shown masked, never one typed in the form (adversarial review of
    /// 4 December 2026: a typed contact compared with the records' confirmed them one guess at a time). Empty means the
    /// records hold none: the activation code goes by letter.
    /// </summary>
    public static IReadOnlyList<OwnContact> ActivationContacts(PersonAccount person) => OwnContacts(person);

    /// <summary>The contact of <paramref name="channel"/> among <see cref="ActivationContacts"/>, or null when there is none.</summary>
    public static OwnContact? ActivationContact(PersonAccount person, ContactChannel channel) =>
        ActivationContacts(person).FirstOrDefault(c => c.Channel == channel);

    /// <summary>
    /// The contact the first-login contact step must prove first: the records' contact when the person has not verified
    /// any (whoever knows the file's shared code and a NIR must not take the account with a contact of their own).
    /// Null when the records hold none, or a contact is already verified: any personal contact may then be added.
    /// </summary>
    public static OwnContact? ContactToProveFirst(PersonAccount person, ContactChannel? preferred = null)
    {
        if (OwnContacts(person).Any(c => c.Origin == ContactOrigin.Verified))
        {
            return null;
        }
        return Destination(person, preferred);
    }

    /// <summary>
    /// A contact about to become this person's verified one must be personal: not verified already by another member of
    /// one of their households. Returns <see cref="NotPersonalMessage"/> when it is, else null.
    /// </summary>
    public async Task<string?> RefuseIfNotPersonalAsync(PersonAccount person, ContactChannel channel, string contact, CancellationToken cancellationToken)
    {
        if (person.Memberships.Count == 0)
        {
            return null;
        }
        var members = await persons.HouseholdMembersOfAsync(person, cancellationToken);
        return members.Any(m => m.Id != person.Id && HasVerified(m, channel, contact)) ? NotPersonalMessage : null;
    }

    /// <summary>The holder's invitation form: the invitee's contact must be their own, not one of the file's members'.</summary>
    public const string NotPersonalForInviteeMessage =
        "Indiquez une adresse mail ou un numéro de portable personnels de la personne invitée, différents de ceux des membres de votre foyer.";

    /// <summary>
    /// The same rule for someone about to join file <paramref name="householdId"/> (an invitation sent, an invitation
    /// answered): the contact that will be theirs — the one the invitation is sent to and they prove — must not be one
    /// another member of that file (the holder included) verified. Otherwise the holder, or a member, would receive the
    /// codes and recovery of the invitee's account. True when it is personal.
    /// </summary>
    public async Task<bool> IsPersonalOnFileAsync(Guid householdId, ContactChannel channel, string contact, Guid? joiningPersonId, CancellationToken cancellationToken)
    {
        var members = await persons.MembersOfFileAsync(householdId, cancellationToken);
        return !members.Any(m => m.Id != joiningPersonId && HasVerified(m, channel, contact));
    }

    private static bool HasVerified(PersonAccount member, ContactChannel channel, string contact) => channel == ContactChannel.Sms
        ? member.MobilePhoneVerified && member.MobilePhone is not null && Same(channel, member.MobilePhone, contact)
        : member.EmailVerified && member.Email is not null && Same(channel, member.Email, contact);

    private static bool Same(ContactChannel channel, string left, string right) =>
        string.Equals(ContactNormalizer.Normalize(channel, left), ContactNormalizer.Normalize(channel, right), StringComparison.Ordinal);
}
