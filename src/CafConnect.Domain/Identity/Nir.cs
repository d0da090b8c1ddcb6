namespace CafConnect.Domain.Identity;

/// <summary>Why a typed NIR (numéro d'inscription au répertoire) was refused.</summary>
public enum NirError
{
    Empty,
    InvalidLength,
    InvalidCharacters,
}

/// <summary>
/// A French social-security number, normalised to its 13 characters (no key, no separators).
/// PROVISIONAL skeleton: the identity-rules work replaces the body with the full rules, keeping this public surface.
/// </summary>
public readonly record struct Nir
{
    private Nir(string value) => Value = value;

    /// <summary>The 13 normalised characters (digits, or 2A/2B for Corsica at positions 6–7).</summary>
    public string Value { get; }

    public static bool TryParse(string? input, out Nir nir, out NirError error)
    {
        nir = default;
        var compact = new string((input ?? string.Empty).Where(c => c is not (' ' or '.' or '\u00A0')).ToArray());
        if (compact.Length == 0) { error = NirError.Empty; return false; }
        if (compact.Length != 13) { error = NirError.InvalidLength; return false; }
        if (!compact.All(char.IsAsciiDigit)) { error = NirError.InvalidCharacters; return false; }
        nir = new Nir(compact);
        error = default;
        return true;
    }

    /// <summary>Grouped as printed on the carte Vitale: <c>1 97 06 78 646 489</c>.</summary>
    public string ToDisplayString() => $"{Value[..1]} {Value[1..3]} {Value[3..5]} {Value[5..7]} {Value[7..10]} {Value[10..13]}";

    /// <summary>Safe for logs: all but the last 3 characters hidden.</summary>
    public string ToMaskedString() => new string('*', 10) + Value[10..];

    public override string ToString() => ToMaskedString();

    /// <summary>The French message shown next to the field.</summary>
    public static string MessageFor(NirError error) => error switch
    {
        NirError.Empty => "Saisissez votre numéro de Sécurité sociale.",
        NirError.InvalidLength => "Le numéro de Sécurité sociale doit comporter 13 caractères.",
        NirError.InvalidCharacters => "Le numéro de Sécurité sociale ne doit contenir que des chiffres (ou 2A, 2B pour la Corse).",
        _ => "Le numéro de Sécurité sociale n'est pas valide.",
    };
}
