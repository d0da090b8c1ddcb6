using System.Diagnostics.CodeAnalysis;

namespace CafConnect.Domain.Passwords;

/// <summary>
/// Rules for the legacy 8-digit code (phone channel, provisional passwords), from the 2016 leaflet:
/// not 8 identical digits, not 8 successive digits, not a birth date or phone number known to the file,
/// not the first 8 digits of the NIR, not the file number.
/// </summary>
public static class LegacyCodePolicy
{
    public const int Length = 8;

    /// <summary>
    /// The shape of a legacy code, the one test every reader of such a code applies first (the login, the phone
    /// channel, the import): exactly 8 ASCII digits, nothing trimmed (a code is typed on a keypad).
    /// </summary>
    public static bool IsWellFormed([NotNullWhen(true)] string? code) => code is { Length: Length } && code.All(char.IsAsciiDigit);

    public static PasswordCheckResult Check(string? code, PasswordContext? context = null)
    {
        if (string.IsNullOrEmpty(code)) return PasswordCheckResult.From([PasswordRule.Required]);
        // Nothing else is meaningful on something that is not 8 digits; no trimming: a code is typed on a keypad.
        if (!IsWellFormed(code)) return PasswordCheckResult.From([PasswordRule.LegacyFormat]);
        context ??= PasswordContext.Empty;

        var failed = new List<PasswordRule>();
        if (code.All(c => c == code[0])) failed.Add(PasswordRule.LegacyIdenticalDigits);
        if (IsRun(code, +1) || IsRun(code, -1)) failed.Add(PasswordRule.LegacySequentialDigits);
        if (context.BirthDates.Any(d => code == PasswordContext.DdMmYyyy(d) || code == PasswordContext.YyyyMmDd(d)))
            failed.Add(PasswordRule.LegacyBirthDate);
        if (context.PhoneSuffixes().Contains(code)) failed.Add(PasswordRule.LegacyPhoneNumber);
        if (context.NirPrefixVariants().Contains(code)) failed.Add(PasswordRule.LegacyNirPrefix);
        // The 7-digit number anywhere in the 8 digits: "0" + number (00260311, the "leading 0" form),
        // or the number followed by one more digit. Both are what people type when asked for "8 digits".
        if (context.NormalisedFileNumbers().Any(f => code.Contains(f, StringComparison.Ordinal)))
            failed.Add(PasswordRule.LegacyFileNumber);
        return PasswordCheckResult.From(failed);
    }

    /// <summary>
    /// True when every digit is the previous one ±1, wrapping 9→0 (ascending) and 0→9 (descending):
    /// "90123456" is as guessable as "12345678", and it is what the keypad's circular order suggests.
    /// </summary>
    internal static bool IsRun(string digits, int step)
    {
        for (var i = 1; i < digits.Length; i++)
            if ((digits[i] - digits[i - 1] - step + 20) % 10 != 0) return false;
        return true;
    }
}
