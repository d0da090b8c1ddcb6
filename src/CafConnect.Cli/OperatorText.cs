using System.Globalization;
using System.Text;

namespace CafConnect.Cli;

/// <summary>What the CLI prints of values it did not write itself (audit rows hold what callers sent).</summary>
public static class OperatorText
{
    /// <summary>
    /// The value with every control character (C0 including tab, CR and LF, DEL, C1 including CSI) and every invisible
    /// format character (bidirectional overrides and isolates, zero-width characters) shown as <c>\u{XXXX}</c>: an
    /// audit value can neither send an escape sequence to the operator's terminal nor hide or reorder what it shows.
    /// </summary>
    public static string Printable(string value)
    {
        if (value.All(c => !IsHidden(c)))
        {
            return value;
        }
        var builder = new StringBuilder(value.Length + 16);
        foreach (var c in value)
        {
            if (IsHidden(c))
            {
                builder.Append(CultureInfo.InvariantCulture, $"\\u{{{(int)c:X4}}}");
            }
            else
            {
                builder.Append(c);
            }
        }
        return builder.ToString();
    }

    private static bool IsHidden(char c) =>
        char.IsControl(c) || CharUnicodeInfo.GetUnicodeCategory(c) is UnicodeCategory.Format or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator;
}
