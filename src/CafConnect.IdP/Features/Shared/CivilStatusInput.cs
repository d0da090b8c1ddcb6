using System.Globalization;
using CafConnect.Domain.Accounts;
using CafConnect.Domain.Contacts;
using CafConnect.Infrastructure.Verification;

namespace CafConnect.IdP.Features;

/// <summary>
/// Checks of what people type for a civil status and a contact, with the French messages of the forms; shared by
/// « Créer Mon Compte » and the holder's invitation (« Mon foyer »).
/// </summary>
public static class CivilStatusInput
{
    public const int MaxNameLength = 100;

    public const string UnderAgeMessage =
        "Vous devez avoir au moins 16 ans pour créer votre compte Caf. Les démarches des enfants de moins de 16 ans sont faites par le responsable du dossier.";

    public const string InviteeUnderAgeMessage =
        "La personne invitée doit avoir au moins 16 ans pour créer son compte Caf. Vérifiez la date de naissance saisie.";

    /// <summary>A name as it will be kept: trimmed, single spaces, upper case (accents kept); empty when nothing usable was typed.</summary>
    public static string CleanName(string? input)
    {
        var cleaned = new string((input ?? string.Empty).Where(c => !char.IsControl(c) && CharUnicodeInfo.GetUnicodeCategory(c)
            is not (UnicodeCategory.OtherNotAssigned or UnicodeCategory.Surrogate or UnicodeCategory.PrivateUse)).ToArray());
        return string.Join(' ', cleaned.Split(' ', StringSplitOptions.RemoveEmptyEntries)).ToUpperInvariant();
    }

    /// <summary>A required name: letters (any script), spaces, hyphens and apostrophes; the message names the field.</summary>
    public static bool TryName(string? input, string emptyMessage, string what, out string name, out string error)
    {
        name = CleanName(input);
        error = string.Empty;
        if (CivilStatusMatching.NormaliseName(name).Length == 0)
        {
            error = emptyMessage;
            return false;
        }
        if (name.Length > MaxNameLength)
        {
            error = $"{what} ne doit pas dépasser {MaxNameLength} caractères.";
            return false;
        }
        if (!name.All(c => char.IsLetter(c) || c is ' ' or '-' or '\'' or '’' || CharUnicodeInfo.GetUnicodeCategory(c) == UnicodeCategory.NonSpacingMark))
        {
            error = $"{what} ne doit contenir que des lettres, des espaces, des tirets et des apostrophes.";
            return false;
        }
        return true;
    }

    public static bool TryBirthDate(string? input, DateOnly today, out DateOnly date, out string error)
    {
        var valid = BirthDateInput.TryParse(input, today, out date, out var reason);
        error = valid ? string.Empty : BirthDateInput.MessageFor(reason);
        return valid;
    }

    /// <summary>An e-mail address (it has an @) or a French mobile number, normalised.</summary>
    public static bool TryContact(string? input, out ContactChannel channel, out string contact, out string error)
    {
        var text = (input ?? string.Empty).Trim();
        channel = ContactNormalizer.ChannelOf(text);
        if (text.Length == 0)
        {
            contact = string.Empty;
            error = "Saisissez une adresse mail ou un numéro de téléphone portable.";
            return false;
        }
        return channel == ContactChannel.Email
            ? EmailAddress.TryNormalise(text, out contact, out error)
            : FrenchMobile.TryNormalise(text, out contact, out error);
    }

    public static string Display(ContactChannel channel, string contact) => channel == ContactChannel.Sms ? FrenchMobile.Display(contact) : contact;
}
