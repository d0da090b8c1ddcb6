using System.Diagnostics;

namespace CafConnect.Domain.Identity;

/// <summary>Why a typed file number was refused.</summary>
public enum FileNumberError
{
    Empty,
    InvalidLength,
    InvalidCharacters,
}

/// <summary>
/// The household's file number (numéro allocataire): exactly 7 digits, leading zeros significant
/// (<c>0260311</c> is not <c>260311</c>), so it is kept as a string, never as a number.
/// </summary>
[DebuggerDisplay("{Value,nq}")]
public readonly record struct FileNumber
{
    public const int Length = 7;

    private FileNumber(string value) => Value = value;

    public string Value { get; }

    public static bool TryParse(string? input, out FileNumber fileNumber, out FileNumberError error)
    {
        fileNumber = default;
        var s = IdentifierInput.Compact(input);
        if (s.Length == 0) return Fail(FileNumberError.Empty, out error);
        if (!IdentifierInput.AllAsciiDigits(s)) return Fail(FileNumberError.InvalidCharacters, out error);
        // No zero-padding of shorter input: a missing leading zero is a typing mistake we must not guess.
        if (s.Length != Length) return Fail(FileNumberError.InvalidLength, out error);
        fileNumber = new FileNumber(s);
        error = default;
        return true;
    }

    public override string ToString() => Value ?? string.Empty;

    public static string MessageFor(FileNumberError error) => error switch
    {
        FileNumberError.Empty => "Saisissez votre numéro allocataire.",
        FileNumberError.InvalidLength => "Le numéro allocataire doit comporter 7 chiffres (y compris les zéros du début).",
        FileNumberError.InvalidCharacters => "Le numéro allocataire ne doit contenir que des chiffres.",
        _ => "Le numéro allocataire n'est pas valide.",
    };

    private static bool Fail(FileNumberError e, out FileNumberError error)
    {
        error = e;
        return false;
    }
}
