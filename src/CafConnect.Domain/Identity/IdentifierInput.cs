namespace CafConnect.Domain.Identity;

/// <summary>Shared clean-up of what people type (or paste) into identifier fields.</summary>
internal static class IdentifierInput
{
    /// <summary>
    /// Removes the separators people naturally type or paste: any white space (including the
    /// non-breaking and narrow non-breaking spaces that come with copy-paste from PDFs/letters) and dots.
    /// Upper-cases ASCII letters so "2a" and "p1234…" are accepted.
    /// </summary>
    public static string Compact(string? input)
    {
        if (string.IsNullOrEmpty(input)) return string.Empty;
        return string.Create(input.Length - CountSeparators(input), input, static (span, source) =>
        {
            var i = 0;
            foreach (var c in source)
            {
                if (IsSeparator(c)) continue;
                span[i++] = char.IsAsciiLetterLower(c) ? char.ToUpperInvariant(c) : c;
            }
        });
    }

    private static bool IsSeparator(char c) => c == '.' || char.IsWhiteSpace(c);

    private static int CountSeparators(string s)
    {
        var n = 0;
        foreach (var c in s) if (IsSeparator(c)) n++;
        return n;
    }

    public static bool AllAsciiDigits(ReadOnlySpan<char> s)
    {
        foreach (var c in s) if (!char.IsAsciiDigit(c)) return false;
        return true;
    }

    /// <summary>Keeps only the ASCII digits (phone numbers, file numbers typed in any form).</summary>
    public static string DigitsOnly(string? input)
    {
        if (string.IsNullOrEmpty(input)) return string.Empty;
        var buffer = new char[input.Length];
        var n = 0;
        foreach (var c in input) if (char.IsAsciiDigit(c)) buffer[n++] = c;
        return new string(buffer, 0, n);
    }
}
