using CafConnect.Domain.Identity;

namespace CafConnect.Domain.Passwords;

/// <summary>
/// What the file (dossier) knows about the person and household, i.e. what someone close to them, or holding one of
/// their letters, could guess. Passwords and codes must not be built from it.
/// </summary>
/// <remarks>
/// Phone numbers are accepted in any written form ("06 12 34 56 78", "+33 6 12 34 56 78", "0033612345678") and compared
/// on their last 8 digits: that part is identical in every national and international form of a French number
/// (mainland and overseas), whereas the 9th digit from the end is the 0/prefix people drop or rewrite.
/// Numbers with fewer than 8 digits (short service numbers) are ignored.
/// File numbers are accepted in any form too; shorter ones are left-padded to 7 digits, since systems that stored
/// them as integers lost their leading zeros.
/// </remarks>
public sealed class PasswordContext
{
    public static PasswordContext Empty { get; } = new();

    /// <summary>The person's NIR, if they have one (provisional-id holders do not).</summary>
    public Nir? Nir { get; init; }

    /// <summary>File numbers (numéros allocataire) the person belongs to.</summary>
    public IReadOnlyCollection<string> FileNumbers { get; init; } = [];

    /// <summary>Birth dates of the person and of every household member.</summary>
    public IReadOnlyCollection<DateOnly> BirthDates { get; init; } = [];

    /// <summary>Phone numbers known to the file, in any written form.</summary>
    public IReadOnlyCollection<string> PhoneNumbers { get; init; } = [];

    internal const int PhoneDigitsCompared = 8;

    internal IEnumerable<string> NirPrefixVariants() => Nir is { } nir ? nir.First8DigitVariants() : [];

    internal IEnumerable<string> NormalisedFileNumbers() =>
        FileNumbers.Select(IdentifierInput.DigitsOnly)
            .Where(d => d.Length > 0 && d.Any(c => c != '0'))
            .Select(d => d.Length < FileNumber.Length ? d.PadLeft(FileNumber.Length, '0') : d.TrimStart('0').PadLeft(FileNumber.Length, '0'))
            .Distinct();

    internal IEnumerable<string> PhoneSuffixes() =>
        PhoneNumbers.Select(IdentifierInput.DigitsOnly)
            .Where(d => d.Length >= PhoneDigitsCompared)
            .Select(d => d[^PhoneDigitsCompared..])
            .Distinct();

    internal static string DdMmYyyy(DateOnly d) => d.ToString("ddMMyyyy", System.Globalization.CultureInfo.InvariantCulture);
    internal static string YyyyMmDd(DateOnly d) => d.ToString("yyyyMMdd", System.Globalization.CultureInfo.InvariantCulture);
    internal static string DdMmYy(DateOnly d) => d.ToString("ddMMyy", System.Globalization.CultureInfo.InvariantCulture);
}
