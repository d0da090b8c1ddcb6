using System.Diagnostics;

namespace CafConnect.Domain.Identity;

/// <summary>Why a typed provisional identifier was refused.</summary>
public enum ProvisionalIdError
{
    Empty,
    /// <summary>Does not start with the letter P.</summary>
    MissingPrefix,
    /// <summary>The P is not followed by exactly 8 characters.</summary>
    InvalidLength,
    /// <summary>Something other than digits after the P.</summary>
    InvalidCharacters,
}

/// <summary>
/// Identifier given to a person who has no NIR (yet): the letter P followed by exactly 8 digits, e.g. <c>P33392250</c>.
/// Input is case-insensitive and tolerates spaces; the value is always upper-case.
/// </summary>
[DebuggerDisplay("{Value,nq}")]
public readonly record struct ProvisionalId
{
    public const char Prefix = 'P';
    public const int DigitCount = 8;

    private ProvisionalId(string value) => Value = value;

    /// <summary>"P" followed by 8 digits, upper-case.</summary>
    public string Value { get; }

    public static bool TryParse(string? input, out ProvisionalId id, out ProvisionalIdError error)
    {
        id = default;
        var s = IdentifierInput.Compact(input);
        if (s.Length == 0) return Fail(ProvisionalIdError.Empty, out error);
        if (s[0] != Prefix) return Fail(ProvisionalIdError.MissingPrefix, out error);
        var digits = s.AsSpan(1);
        foreach (var c in digits)
            if (!char.IsAsciiDigit(c)) return Fail(ProvisionalIdError.InvalidCharacters, out error);
        if (digits.Length != DigitCount) return Fail(ProvisionalIdError.InvalidLength, out error);
        id = new ProvisionalId(s);
        error = default;
        return true;
    }

    /// <summary>Builds the identifier from its 8-digit number (used by the generator).</summary>
    internal static ProvisionalId FromNumber(int number)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(number);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(number, 100_000_000);
        return new ProvisionalId(Prefix + number.ToString("D8", System.Globalization.CultureInfo.InvariantCulture));
    }

    public override string ToString() => Value ?? string.Empty;

    public static string MessageFor(ProvisionalIdError error) => error switch
    {
        ProvisionalIdError.Empty => "Saisissez votre identifiant provisoire.",
        ProvisionalIdError.MissingPrefix => "L'identifiant provisoire commence par la lettre P.",
        ProvisionalIdError.InvalidLength => "L'identifiant provisoire comporte la lettre P suivie de 8 chiffres.",
        ProvisionalIdError.InvalidCharacters => "L'identifiant provisoire ne doit contenir que des chiffres après la lettre P.",
        _ => "L'identifiant provisoire n'est pas valide.",
    };

    private static bool Fail(ProvisionalIdError e, out ProvisionalIdError error)
    {
        error = e;
        return false;
    }
}
