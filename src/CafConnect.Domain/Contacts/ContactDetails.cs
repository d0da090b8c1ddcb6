using System.Globalization;
using System.Net.Mail;

namespace CafConnect.Domain.Contacts;

/// <summary>A French mobile number (metropolitan and overseas mobiles all start with 06 or 07), stored as E.164.</summary>
public static class FrenchMobile
{
    /// <summary>Accepts the usual ways people type it: 06 12 34 56 78, 06.12.34.56.78, +33 6 12 34 56 78, 0033612345678.</summary>
    public static bool TryNormalise(string? input, out string e164, out string error)
    {
        e164 = string.Empty;
        var text = (input ?? string.Empty).Trim();
        if (text.Length == 0)
        {
            error = "Saisissez votre numéro de téléphone portable.";
            return false;
        }
        if (text.Any(c => !(char.IsAsciiDigit(c) || c is ' ' or '.' or '-' or '+' or '(' or ')' or '\u00A0')) || text.Length > 25)
        {
            error = "Le numéro de téléphone portable ne doit contenir que des chiffres (par exemple 06 12 34 56 78).";
            return false;
        }
        var digits = new string(text.Where(char.IsAsciiDigit).ToArray());
        var national = text.TrimStart().StartsWith('+') && digits.StartsWith("33", StringComparison.Ordinal) ? "0" + digits[2..]
            : digits.StartsWith("0033", StringComparison.Ordinal) ? "0" + digits[4..]
            : digits;
        if (national.Length != 10 || !(national.StartsWith("06", StringComparison.Ordinal) || national.StartsWith("07", StringComparison.Ordinal)))
        {
            error = "Saisissez un numéro de téléphone portable français à 10 chiffres commençant par 06 ou 07.";
            return false;
        }
        e164 = "+33" + national[1..];
        error = string.Empty;
        return true;
    }

    /// <summary>As people read it: <c>06 12 34 56 78</c>.</summary>
    public static string Display(string e164)
    {
        var national = e164.StartsWith("+33", StringComparison.Ordinal) ? "0" + e164[3..] : e164;
        return national.Length == 10 ? string.Join(' ', Enumerable.Range(0, 5).Select(i => national.Substring(i * 2, 2))) : national;
    }
}

/// <summary>An e-mail address as people type it, normalised (trimmed, domain in lower case).</summary>
public static class EmailAddress
{
    public static bool TryNormalise(string? input, out string normalised, out string error)
    {
        normalised = string.Empty;
        var text = (input ?? string.Empty).Trim();
        if (text.Length == 0)
        {
            error = "Saisissez votre adresse mail.";
            return false;
        }
        var at = text.LastIndexOf('@');
        if (text.Length > 254 || at <= 0 || at == text.Length - 1 || text.Contains(' ') || !text[(at + 1)..].Contains('.')
            || text.EndsWith('.') || !MailAddress.TryCreate(text, out var parsed) || parsed.Address != text)
        {
            error = "Saisissez une adresse mail valide, par exemple prenom.nom@exemple.fr.";
            return false;
        }
        // One mailbox, one spelling (adversarial review, 5 December 2026, fifth session; docs/decisions.md #49): a quoted
        // local part that needs no quotes ("jean.dupont"@…) and an internationalised domain (…@exämple.fr) reach the same
        // mailbox as jean.dupont@… and …@xn--exmple-cua.fr, so they are stored that way; otherwise the personal-contact
        // rule (ContactProof), which compares spellings, let a member's own address through written differently.
        var localPart = text[..at];
        if (localPart.Contains('"'))
        {
            if (localPart.Length < 3 || localPart[0] != '"' || localPart[^1] != '"' || !IsDotAtom(localPart[1..^1]))
            {
                error = "Saisissez une adresse mail valide, par exemple prenom.nom@exemple.fr.";
                return false;
            }
            localPart = localPart[1..^1];
        }
        if (AsciiDomain(text[(at + 1)..]) is not { } domain)
        {
            error = "Saisissez une adresse mail valide, par exemple prenom.nom@exemple.fr.";
            return false;
        }
        normalised = localPart + "@" + domain;
        error = string.Empty;
        return true;
    }

    /// <summary>The domain in lower-case ASCII (IDNA: <c>exämple.fr</c> is <c>xn--exmple-cua.fr</c>), or null when it is not a valid one.</summary>
    public static string? AsciiDomain(string domain)
    {
        try
        {
            return new IdnMapping().GetAscii(domain).ToLowerInvariant();
        }
        catch (ArgumentException)
        {
            return null;
        }
    }

    // RFC 5322's dot-atom: what a local part may be without quotes.
    private static bool IsDotAtom(string text) =>
        text.Length > 0 && !text.StartsWith('.') && !text.EndsWith('.') && !text.Contains("..", StringComparison.Ordinal)
        && text.All(c => char.IsAsciiLetterOrDigit(c) || "!#$%&'*+-/=?^_`{|}~.".Contains(c));

    /// <summary>Two addresses are the same person's when they match ignoring case.</summary>
    public static bool SameAddress(string? left, string? right) =>
        left is not null && right is not null && string.Equals(left, right, StringComparison.OrdinalIgnoreCase);
}
