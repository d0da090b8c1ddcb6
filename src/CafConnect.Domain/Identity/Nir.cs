using System.Diagnostics;

namespace CafConnect.Domain.Identity;

/// <summary>Why a typed NIR (numéro d'inscription au répertoire) was refused.</summary>
public enum NirError
{
    Empty,
    InvalidLength,
    InvalidCharacters,
    /// <summary>First digit not in 1, 2, 3, 4, 7, 8.</summary>
    InvalidSex,
    /// <summary>Month not in 01–12, 20–42, 50–99.</summary>
    InvalidMonth,
    /// <summary>Department 00, or letters other than 2A/2B.</summary>
    InvalidDepartment,
    /// <summary>Commune (or country code for people born abroad) is 000.</summary>
    InvalidCommune,
    /// <summary>Order number is 000.</summary>
    InvalidOrder,
    /// <summary>A 15-character input whose last 2 digits are not the key of the first 13.</summary>
    KeyMismatch,
}

/// <summary>The sex a NIR's first digit encodes: 1, 3 or 7 a man; 2, 4 or 8 a woman.</summary>
public enum NirSex
{
    Male,
    Female,
}

/// <summary>
/// A French social-security number, normalised to its 13 characters (no key, no separators).
/// Layout: sex (1) · year (2) · month (2) · department (2, or 2A/2B) · commune (3) · order (3) [· key (2)].
/// <see cref="ToString"/> is masked so that a NIR interpolated into a log line never appears in clear.
/// </summary>
[DebuggerDisplay("{ToMaskedString(),nq}")]
public readonly record struct Nir
{
    public const int Length = 13;
    public const int LengthWithKey = 15;

    private Nir(string value) => Value = value;

    /// <summary>The 13 normalised characters (digits, or 2A/2B for Corsica at positions 6–7).</summary>
    public string Value { get; }

    /// <summary>Born abroad: department 99, the "commune" is the INSEE country code.</summary>
    public bool IsForeignBorn => Value is not null && Value[5..7] == "99";

    /// <summary>Temporary or foreign-born registration numbers (first digit 3, 4, 7 or 8).</summary>
    public bool IsTemporaryRegistration => Value is not null && Value[0] is '3' or '4' or '7' or '8';

    /// <summary>The first digit: 1, 3, 7 (men) or 2, 4, 8 (women); 3, 4, 7, 8 are temporary registrations.</summary>
    public NirSex Sex => Value[0] is '1' or '3' or '7' ? NirSex.Male : NirSex.Female;

    /// <summary>
    /// Characters 6 to 10: the INSEE code of the birth commune (département + commune, <c>2A</c>/<c>2B</c> or, before
    /// Corsica's split in 1976, <c>20</c>), or <c>99</c> + the INSEE country code for a birth abroad.
    /// </summary>
    public string BirthPlaceCode => Value.Substring(5, 5);

    /// <summary>
    /// Whether an INSEE commune code (5 characters, as FranceConnect certifies a birth in France) is the birth commune
    /// this NIR encodes. A NIR of département 20 was given before Corsica's split: its commune is the same in 2A or 2B.
    /// Always false for a birth abroad (compare <see cref="BirthPlaceCode"/> with the country code instead).
    /// </summary>
    public bool IsBirthCommune(string? inseeCommuneCode)
    {
        var place = (inseeCommuneCode ?? string.Empty).Trim().ToUpperInvariant();
        if (IsForeignBorn || place.Length != 5)
        {
            return false;
        }
        var nirPlace = BirthPlaceCode;
        return nirPlace.StartsWith("20", StringComparison.Ordinal) && (place.StartsWith("2A", StringComparison.Ordinal) || place.StartsWith("2B", StringComparison.Ordinal))
            ? nirPlace[2..] == place[2..]
            : nirPlace == place;
    }

    public static bool TryParse(string? input, out Nir nir, out NirError error)
    {
        nir = default;
        var s = IdentifierInput.Compact(input);
        if (s.Length == 0) return Fail(NirError.Empty, out error);

        // Character set first: "abc" is a wrong kind of input, not a wrong length.
        foreach (var c in s)
            if (!char.IsAsciiDigit(c) && !char.IsAsciiLetterUpper(c)) return Fail(NirError.InvalidCharacters, out error);

        if (s.Length is not (Length or LengthWithKey)) return Fail(NirError.InvalidLength, out error);

        // Letters are only meaningful in the department (2A/2B); anywhere else they are a typo.
        for (var i = 0; i < s.Length; i++)
            if (!char.IsAsciiDigit(s[i]) && i is not (5 or 6)) return Fail(NirError.InvalidCharacters, out error);

        if (s[0] is not ('1' or '2' or '3' or '4' or '7' or '8')) return Fail(NirError.InvalidSex, out error);

        var month = (s[3] - '0') * 10 + (s[4] - '0');
        // 20–42 and 50–99 are pseudo-months given when the birth month is unknown (INSEE practice).
        if (!(month is >= 1 and <= 12 or >= 20 and <= 42 or >= 50 and <= 99)) return Fail(NirError.InvalidMonth, out error);

        var department = s.Substring(5, 2);
        var corsica = department is "2A" or "2B";
        if (!corsica && (!IdentifierInput.AllAsciiDigits(department) || department == "00"))
            return Fail(NirError.InvalidDepartment, out error);

        if (s.AsSpan(7, 3) is "000") return Fail(NirError.InvalidCommune, out error);
        if (s.AsSpan(10, 3) is "000") return Fail(NirError.InvalidOrder, out error);

        var value = s[..Length];
        if (s.Length == LengthWithKey)
        {
            var typedKey = (s[13] - '0') * 10 + (s[14] - '0');
            if (typedKey != ComputeKeyFor(value)) return Fail(NirError.KeyMismatch, out error);
        }

        nir = new Nir(value);
        error = default;
        return true;
    }

    /// <summary>The 2-digit control key (1–97) of this NIR.</summary>
    public int ComputeKey() => ComputeKeyFor(Value);

    /// <summary>
    /// Key of 13 normalised characters: 97 − (number mod 97), where Corsican departments
    /// 2A and 2B are read as 19 and 18 (INSEE convention).
    /// </summary>
    public static int ComputeKeyFor(string thirteen)
    {
        ArgumentNullException.ThrowIfNull(thirteen);
        if (thirteen.Length != Length) throw new ArgumentException("A NIR has 13 characters.", nameof(thirteen));
        var numeric = thirteen.Substring(5, 2) switch
        {
            "2A" => string.Concat(thirteen.AsSpan(0, 5), "19", thirteen.AsSpan(7)),
            "2B" => string.Concat(thirteen.AsSpan(0, 5), "18", thirteen.AsSpan(7)),
            _ => thirteen,
        };
        if (!IdentifierInput.AllAsciiDigits(numeric)) throw new ArgumentException("Not a normalised NIR.", nameof(thirteen));
        return 97 - (int)(long.Parse(numeric, System.Globalization.CultureInfo.InvariantCulture) % 97);
    }

    /// <summary>Grouped as printed on the carte Vitale: <c>1 97 06 78 646 489</c>.</summary>
    public string ToDisplayString() => Value is null ? string.Empty : $"{Value[..1]} {Value[1..3]} {Value[3..5]} {Value[5..7]} {Value[7..10]} {Value[10..13]}";

    /// <summary>Grouped, optionally followed by the key: <c>1 97 06 78 646 489 45</c>.</summary>
    public string ToDisplayString(bool includeKey) =>
        includeKey ? $"{ToDisplayString()} {ComputeKey():00}" : ToDisplayString();

    /// <summary>Safe for logs: all but the last 3 characters hidden.</summary>
    public string ToMaskedString() => Value is null ? string.Empty : new string('*', 10) + Value[10..];

    public override string ToString() => ToMaskedString();

    /// <summary>
    /// The digit strings a person might reuse from the first 8 characters of the NIR (for password rules).
    /// For Corsica, the letters cannot be typed in a numeric code, so both 20 (pre-1976 form) and 19/18 (key form) are given.
    /// </summary>
    internal IReadOnlyList<string> First8DigitVariants()
    {
        if (Value is null) return [];
        var first8 = Value[..8];
        return Value.Substring(5, 2) switch
        {
            "2A" => [first8, first8.Replace("2A", "20"), first8.Replace("2A", "19")],
            "2B" => [first8, first8.Replace("2B", "20"), first8.Replace("2B", "18")],
            _ => [first8],
        };
    }

    /// <summary>The French message shown next to the field.</summary>
    public static string MessageFor(NirError error) => error switch
    {
        NirError.Empty => "Saisissez votre numéro de Sécurité sociale.",
        NirError.InvalidLength => "Le numéro de Sécurité sociale doit comporter 13 caractères.",
        NirError.InvalidCharacters => "Le numéro de Sécurité sociale ne doit contenir que des chiffres (ou 2A, 2B pour la Corse).",
        NirError.InvalidSex => "Le numéro de Sécurité sociale n'est pas valide : le premier chiffre doit être 1, 2, 3, 4, 7 ou 8.",
        NirError.InvalidMonth => "Le numéro de Sécurité sociale n'est pas valide : le mois de naissance (4e et 5e chiffres) est incorrect.",
        NirError.InvalidDepartment => "Le numéro de Sécurité sociale n'est pas valide : le département de naissance (6e et 7e caractères) est incorrect.",
        NirError.InvalidCommune => "Le numéro de Sécurité sociale n'est pas valide : le code de la commune ou du pays de naissance ne peut pas être 000.",
        NirError.InvalidOrder => "Le numéro de Sécurité sociale n'est pas valide : le numéro d'ordre (11e à 13e chiffres) ne peut pas être 000.",
        NirError.KeyMismatch => "Le numéro de Sécurité sociale n'est pas valide : la clé ne correspond pas.",
        _ => "Le numéro de Sécurité sociale n'est pas valide.",
    };

    private static bool Fail(NirError e, out NirError error)
    {
        error = e;
        return false;
    }
}
