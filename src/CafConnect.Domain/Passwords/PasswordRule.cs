namespace CafConnect.Domain.Passwords;

/// <summary>Every rule a password or legacy code can break. Each has its own French message (<see cref="PasswordRules.MessageFor"/>).</summary>
public enum PasswordRule
{
    /// <summary>Nothing typed.</summary>
    Required,

    // Personal password: the 5 composition rules of the live checklist, in the order the page shows them.
    Length,
    Digit,
    Lowercase,
    Uppercase,
    AllowedCharacters,

    // Personal password: beyond the leaflet, data an attacker may know about the person.
    ContainsNir,
    ContainsFileNumber,
    ContainsBirthDate,
    ContainsPhoneNumber,
    CommonPassword,

    // Legacy 8-digit code (phone channel, provisional passwords).
    LegacyFormat,
    LegacyIdenticalDigits,
    LegacySequentialDigits,
    LegacyBirthDate,
    LegacyPhoneNumber,
    LegacyNirPrefix,
    LegacyFileNumber,
}

/// <summary>The French texts people read.</summary>
public static class PasswordRules
{
    /// <summary>Shown by the form when the confirmation field differs (form-level, not a policy rule).</summary>
    public const string ConfirmationMismatchMessage = "Les deux mots de passe saisis ne sont pas identiques.";

    public static string MessageFor(PasswordRule rule) => rule switch
    {
        PasswordRule.Required => "Saisissez un mot de passe.",
        PasswordRule.Length => "Le mot de passe doit comporter entre 8 et 24 caractères.",
        PasswordRule.Digit => "Le mot de passe doit contenir au moins 1 chiffre.",
        PasswordRule.Lowercase => "Le mot de passe doit contenir au moins 1 lettre minuscule.",
        PasswordRule.Uppercase => "Le mot de passe doit contenir au moins 1 lettre majuscule.",
        PasswordRule.AllowedCharacters => "Le mot de passe ne doit contenir que des chiffres et des lettres, sans caractères spéciaux, ni lettres accentuées, ni espaces (exemples : ! ? é ù @).",
        PasswordRule.ContainsNir => "Le mot de passe ne doit pas contenir votre numéro de Sécurité sociale, même en partie.",
        PasswordRule.ContainsFileNumber => "Le mot de passe ne doit pas contenir votre numéro allocataire.",
        PasswordRule.ContainsBirthDate => "Le mot de passe ne doit pas contenir une date de naissance connue de votre dossier.",
        PasswordRule.ContainsPhoneNumber => "Le mot de passe ne doit pas contenir un numéro de téléphone connu de votre dossier.",
        PasswordRule.CommonPassword => "Ce mot de passe est trop courant et facile à deviner. Choisissez-en un autre.",
        PasswordRule.LegacyFormat => "Le mot de passe doit comporter exactement 8 chiffres.",
        PasswordRule.LegacyIdenticalDigits => "Le mot de passe ne peut pas être composé de 8 chiffres identiques.",
        PasswordRule.LegacySequentialDigits => "Le mot de passe ne peut pas être composé de 8 chiffres successifs.",
        PasswordRule.LegacyBirthDate => "Le mot de passe ne peut pas correspondre à une date de naissance connue du dossier.",
        PasswordRule.LegacyPhoneNumber => "Le mot de passe ne peut pas correspondre à un numéro de téléphone connu du dossier.",
        PasswordRule.LegacyNirPrefix => "Le mot de passe ne peut pas correspondre aux 8 premiers chiffres de votre numéro de Sécurité sociale.",
        PasswordRule.LegacyFileNumber => "Le mot de passe ne peut pas contenir votre numéro allocataire.",
        _ => throw new ArgumentOutOfRangeException(nameof(rule), rule, null),
    };
}

/// <summary>One broken rule, with the message to show.</summary>
public sealed record PasswordRuleViolation(PasswordRule Rule, string Message)
{
    public PasswordRuleViolation(PasswordRule rule) : this(rule, PasswordRules.MessageFor(rule)) { }
}

/// <summary>Outcome of a password check: accepted, or the list of every rule that failed (in a stable order).</summary>
public sealed class PasswordCheckResult
{
    public static PasswordCheckResult Accepted { get; } = new([]);

    public PasswordCheckResult(IReadOnlyList<PasswordRuleViolation> violations) => Violations = violations;

    public bool IsAccepted => Violations.Count == 0;

    public IReadOnlyList<PasswordRuleViolation> Violations { get; }

    public bool Violates(PasswordRule rule) => Violations.Any(v => v.Rule == rule);

    internal static PasswordCheckResult From(List<PasswordRule> rules) =>
        rules.Count == 0 ? Accepted : new PasswordCheckResult(rules.Select(r => new PasswordRuleViolation(r)).ToArray());

    /// <summary>Rules only, never the password: safe to log.</summary>
    public override string ToString() => IsAccepted ? "Accepted" : "Refused: " + string.Join(", ", Violations.Select(v => v.Rule));
}
