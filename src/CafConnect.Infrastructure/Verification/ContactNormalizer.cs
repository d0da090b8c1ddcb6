using CafConnect.Domain.Contacts;

namespace CafConnect.Infrastructure.Verification;

/// <summary>
/// One spelling per contact, so that "06 12 34 56 78", "06.12.34.56.78" and "+33 6 12 34 56 78" share their codes and
/// send counters, and "Jean.Dupont@Exemple.fr " is the same address as "jean.dupont@exemple.fr".
/// </summary>
public static class ContactNormalizer
{
    public static string Normalize(ContactChannel channel, string contact)
    {
        ArgumentNullException.ThrowIfNull(contact);
        return channel == ContactChannel.Email ? NormalizeEmail(contact) : NormalizePhone(contact);
    }

    /// <summary>The channel a contact as typed or stored is reached by: an e-mail address has an @, anything else is a mobile.</summary>
    public static ContactChannel ChannelOf(string contact) => contact.Contains('@', StringComparison.Ordinal) ? ContactChannel.Email : ContactChannel.Sms;

    /// <summary>
    /// Trimmed and lower-cased (French providers treat the local part case-insensitively, as everyone in practice), in
    /// <see cref="EmailAddress.TryNormalise"/>'s spelling when it reads it (no needless quotes, an ASCII domain): one
    /// mailbox compares equal however it was written (docs/decisions.md #49).
    /// </summary>
    public static string NormalizeEmail(string email) =>
        (EmailAddress.TryNormalise(email, out var normalised, out _) ? normalised : email.Trim()).ToLowerInvariant();

    /// <summary>
    /// Digits only (a leading '+' kept as "00"); French numbers in international form (+33 / 0033, with or without
    /// the trunk 0) become the national 10-digit form.
    /// </summary>
    public static string NormalizePhone(string phone)
    {
        var trimmed = phone.Trim();
        var digits = new string(trimmed.Where(char.IsAsciiDigit).ToArray());
        if (trimmed.StartsWith('+'))
        {
            digits = "00" + digits;
        }
        if (digits.StartsWith("0033", StringComparison.Ordinal))
        {
            var national = digits[4..];
            if (national.StartsWith('0'))
            {
                national = national[1..];
            }
            digits = "0" + national;
        }
        return digits;
    }
}
