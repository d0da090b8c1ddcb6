using CafConnect.Application.Identity;
using CafConnect.Domain.Contacts;
using CafConnect.Infrastructure.Notifications;
using CafConnect.Infrastructure.Verification;

namespace CafConnect.IdP.Features;

/// <summary>
/// A contact as a page may show it to someone who may not be its owner: masked with the one mask of the logs
/// (<see cref="RecipientMask"/>: « 06******04 », « j***@exemple.fr »). Every page that shows a records' or verified
/// contact before the person proved it (first login, account creation with a NIR, « Changer mon mot de passe ») uses
/// this, so that no page tells a stranger more of a contact than another.
/// </summary>
public static class MaskedContact
{
    /// <summary>« 06******04 » for a mobile (E.164 or as displayed), « j***@exemple.fr » for an e-mail.</summary>
    public static string Of(ContactChannel channel, string contact) => channel == ContactChannel.Sms
        ? RecipientMask.Mask(NotificationChannel.Sms, FrenchMobile.Display(contact))
        : RecipientMask.Mask(NotificationChannel.Email, contact);

    /// <summary>« par SMS au 06******04 » / « par mail à j***@exemple.fr »: how a code would reach this contact.</summary>
    public static string Way(OwnContact contact) => Way(contact.Channel, contact.Value);

    public static string Way(ContactChannel channel, string contact) =>
        (channel == ContactChannel.Sms ? "par SMS au " : "par mail à ") + Of(channel, contact);
}
