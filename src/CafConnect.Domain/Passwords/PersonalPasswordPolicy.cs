namespace CafConnect.Domain.Passwords;

/// <summary>
/// One line of the live checklist shown under the "new password" field ("Votre mot de passe comporte : ✓ 8 à 24 caractères…").
/// </summary>
public sealed class ChecklistRule
{
    private readonly Func<string, bool> _isSatisfied;

    internal ChecklistRule(PasswordRule rule, string label, string clientPattern, Func<string, bool> isSatisfied)
    {
        Rule = rule;
        Label = label;
        ClientPattern = clientPattern;
        _isSatisfied = isSatisfied;
    }

    public PasswordRule Rule { get; }

    /// <summary>The checklist wording of the tutorial, e.g. "1 lettre majuscule".</summary>
    public string Label { get; }

    /// <summary>Equivalent JavaScript regular expression, so the page can tick the line as the person types.</summary>
    public string ClientPattern { get; }

    /// <summary>The message shown when the rule fails on submission.</summary>
    public string Message => PasswordRules.MessageFor(Rule);

    /// <summary>✓ or ✗ for this line. A null password is treated as empty.</summary>
    public bool IsSatisfiedBy(string? password) => _isSatisfied(password ?? string.Empty);
}

/// <summary>
/// Rules for the personal password (web, app, kiosk): the 5 composition rules of the leaflet, then refusals of
/// passwords built from data known to the file and of the most common passwords.
/// </summary>
public static class PersonalPasswordPolicy
{
    public const int MinLength = 8;
    public const int MaxLength = 24;

    /// <summary>The 5 composition rules, with the tutorial's checklist labels, in display order.</summary>
    public static IReadOnlyList<ChecklistRule> ChecklistRules { get; } =
    [
        // Length counts UTF-16 code units, like JavaScript's String.length, so server and page agree.
        new(PasswordRule.Length, "8 à 24 caractères", "^[\\s\\S]{8,24}$", p => p.Length is >= MinLength and <= MaxLength),
        new(PasswordRule.Digit, "1 chiffre", "[0-9]", p => p.Any(char.IsAsciiDigit)),
        // Only unaccented letters count: "é" is refused anyway, so it must not tick "1 lettre minuscule".
        new(PasswordRule.Lowercase, "1 lettre minuscule", "[a-z]", p => p.Any(char.IsAsciiLetterLower)),
        new(PasswordRule.Uppercase, "1 lettre majuscule", "[A-Z]", p => p.Any(char.IsAsciiLetterUpper)),
        new(PasswordRule.AllowedCharacters, "chiffres et lettres uniquement", "^[A-Za-z0-9]*$", p => p.All(char.IsAsciiLetterOrDigit)),
    ];

    /// <summary>Checks every rule and returns all the failures (composition first, then personal data, then blocklist).</summary>
    public static PasswordCheckResult Check(string? password, PasswordContext? context = null)
    {
        if (string.IsNullOrEmpty(password)) return PasswordCheckResult.From([PasswordRule.Required]);
        context ??= PasswordContext.Empty;

        var failed = new List<PasswordRule>();
        foreach (var rule in ChecklistRules)
            if (!rule.IsSatisfiedBy(password)) failed.Add(rule.Rule);

        // Personal data is checked even when composition fails, so the person learns everything at once.
        // OrdinalIgnoreCase: the Corsican NIR prefix contains the letters 2A/2B, which may be typed in any case.
        if (context.NirPrefixVariants().Any(v => password.Contains(v, StringComparison.OrdinalIgnoreCase)))
            failed.Add(PasswordRule.ContainsNir);
        if (context.NormalisedFileNumbers().Any(f => password.Contains(f, StringComparison.Ordinal)))
            failed.Add(PasswordRule.ContainsFileNumber);
        if (context.BirthDates.Any(d => ContainsAny(password, PasswordContext.DdMmYyyy(d), PasswordContext.YyyyMmDd(d), PasswordContext.DdMmYy(d))))
            failed.Add(PasswordRule.ContainsBirthDate);
        if (context.PhoneSuffixes().Any(p => password.Contains(p, StringComparison.Ordinal)))
            failed.Add(PasswordRule.ContainsPhoneNumber);

        if (CommonPasswords.Contains(password)) failed.Add(PasswordRule.CommonPassword);

        return PasswordCheckResult.From(failed);
    }

    private static bool ContainsAny(string password, params string[] parts) =>
        parts.Any(p => password.Contains(p, StringComparison.Ordinal));
}
