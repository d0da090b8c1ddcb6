using System.Globalization;

namespace CafConnect.Domain.Accounts;

/// <summary>Why a typed birth date was refused.</summary>
public enum BirthDateError
{
    Empty,
    InvalidFormat,
    /// <summary>In the future, or before 1900.</summary>
    OutOfRange,
}

/// <summary>
/// A birth date as a person types it on a form (« Créer Mon Compte », « Identifiant provisoire oublié ? », an
/// invitation): JJ/MM/AAAA, also with dashes or dots, single-digit day and month, or the ISO form a date picker sends;
/// never in the future, never before 1900.
/// </summary>
public static class BirthDateInput
{
    private static readonly string[] Formats = ["dd/MM/yyyy", "d/M/yyyy", "dd-MM-yyyy", "dd.MM.yyyy", "yyyy-MM-dd"];

    public static bool TryParse(string? input, DateOnly today, out DateOnly date, out BirthDateError error)
    {
        var text = (input ?? string.Empty).Trim();
        date = default;
        error = default;
        if (text.Length == 0)
        {
            error = BirthDateError.Empty;
            return false;
        }
        if (!DateOnly.TryParseExact(text, Formats, CultureInfo.InvariantCulture, DateTimeStyles.None, out date))
        {
            error = BirthDateError.InvalidFormat;
            return false;
        }
        if (date > today || date.Year < 1900)
        {
            error = BirthDateError.OutOfRange;
            return false;
        }
        return true;
    }

    /// <summary>
    /// A birth date as systems exchange it (FranceConnect's <c>birthdate</c> claim, the admin API, the import file): ISO
    /// 8601 <c>AAAA-MM-JJ</c> exactly; null otherwise. Its range is the caller's rule (a pivot identity is compared, a
    /// record is checked).
    /// </summary>
    public static DateOnly? ParseIso(string? value) =>
        DateOnly.TryParseExact(value, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date) ? date : null;

    /// <summary>
    /// The French message shown next to the field. <paramref name="ownBirthDate"/>: the form asks for the person's own
    /// date (« votre date de naissance »), not someone's (« la date de naissance »).
    /// </summary>
    public static string MessageFor(BirthDateError error, bool ownBirthDate = false) => error switch
    {
        BirthDateError.Empty => ownBirthDate ? "Saisissez votre date de naissance." : "Saisissez la date de naissance.",
        BirthDateError.InvalidFormat => "Saisissez une date de naissance valide au format JJ/MM/AAAA, par exemple 09/05/1990.",
        _ => "La date de naissance doit être passée et postérieure à 1900.",
    };
}
