using System.Globalization;
using CafConnect.Domain.Accounts;
using CafConnect.Domain.Contacts;
using CafConnect.Domain.Households;
using CafConnect.Domain.Identity;
using CafConnect.Domain.Passwords;

namespace CafConnect.Domain.Imports;

/// <summary>How the file's shared legacy code is given in an import.</summary>
public enum LegacySecretFormat
{
    None,
    /// <summary>The 8 digits in clear: hashed (Argon2id) at import, never stored as given.</summary>
    Plain,
    /// <summary>An Argon2id PHC string, kept as it is.</summary>
    Argon2id,
    /// <summary>A value in a format a registered legacy verifier knows (<see cref="HouseholdImportRow.LegacySecretFormatName"/>), kept as it is.</summary>
    Verifier,
}

/// <summary>One valid row of the agency's export: a person on a file.</summary>
public sealed record HouseholdImportRow(
    int Line,
    string FileNumber,
    HouseholdRole Role,
    string? Nir,
    string? ProvisionalId,
    Civility Civility,
    string BirthName,
    string? UsageName,
    string GivenNames,
    DateOnly BirthDate,
    string? BirthCountry,
    string? BirthCity,
    string? PostalCode,
    string? Mobile,
    string? Email,
    string? LegacySecret,
    LegacySecretFormat LegacySecretFormat,
    string? LegacySecretFormatName = null)
{
    /// <summary>The person's identity key: the NIR, else the provisional id.</summary>
    public string PersonKey => Nir ?? ProvisionalId!;
}

/// <summary>A refused row or household: the line and the reason, in French like every rule message.</summary>
public sealed record ImportProblem(int Line, string Reason);

/// <summary>
/// The import format (issue "account lifecycle"): a CSV header and one row per person on a file. Every field is checked
/// with the same identity rules as the pages; a row is refused with its line number and the first rule it breaks.
/// </summary>
public static class HouseholdImportFormat
{
    public static readonly IReadOnlyList<string> Columns =
    [
        "file_number", "role", "nir", "provisional_id", "civility", "birth_name", "usage_name", "given_names", "birth_date",
        "birth_country", "birth_city", "postal_code", "mobile", "email", "legacy_secret", "legacy_secret_format",
    ];

    /// <summary>Checks the header: the exact columns, in order.</summary>
    public static string? CheckHeader(IReadOnlyList<string> header) =>
        header.Count == Columns.Count && header.Select(h => h.Trim()).SequenceEqual(Columns)
            ? null
            : $"l'en-tête doit être exactement : {string.Join(',', Columns)}";

    /// <param name="pluggableFormats">
    /// Extra <c>legacy_secret_format</c> names (registered legacy verifiers) and, for each, the check that a value is
    /// well formed for it.
    /// </param>
    public static bool TryParse(int line, IReadOnlyList<string> fields, out HouseholdImportRow? row, out ImportProblem? problem,
        IReadOnlyDictionary<string, Func<string, bool>>? pluggableFormats = null)
    {
        row = null;
        problem = null;
        string Field(int index) => fields[index].Trim();
        string? Optional(int index) => fields[index].Trim() is { Length: > 0 } value ? value : null;
        bool Fail(string column, string reason, out ImportProblem? p)
        {
            p = new ImportProblem(line, $"{column} : {reason}");
            return false;
        }

        if (fields.Count != Columns.Count)
        {
            return Fail("ligne", $"{fields.Count} colonnes au lieu de {Columns.Count}", out problem);
        }
        if (!FileNumber.TryParse(Field(0), out var fileNumber, out var fileError))
        {
            return Fail("file_number", FileNumber.MessageFor(fileError), out problem);
        }
        if (!HouseholdRoleNames.TryParse(Field(1), out var role))
        {
            return Fail("role", "valeur attendue : allocataire, conjoint, conjoint_allocataire, enfant ou autre", out problem);
        }

        string? nir = null, provisionalId = null;
        if (Optional(2) is { } nirText)
        {
            if (!Nir.TryParse(nirText, out var parsed, out var nirError))
            {
                return Fail("nir", Nir.MessageFor(nirError), out problem);
            }
            nir = parsed.Value;
        }
        if (Optional(3) is { } provisionalText)
        {
            if (!ProvisionalId.TryParse(provisionalText, out var parsed, out var provisionalError))
            {
                return Fail("provisional_id", ProvisionalId.MessageFor(provisionalError), out problem);
            }
            provisionalId = parsed.Value;
        }
        if (nir is null == provisionalId is null)
        {
            return Fail("nir", "une personne a soit un NIR, soit un identifiant provisoire (un seul des deux)", out problem);
        }

        var civility = Field(4) switch { "M" => Civility.Monsieur, "MME" => Civility.Madame, _ => Civility.Unknown };
        if (civility == Civility.Unknown)
        {
            return Fail("civility", "valeur attendue : M ou MME", out problem);
        }
        if (!IsName(Field(5), 100))
        {
            return Fail("birth_name", "nom de naissance obligatoire (lettres, espaces, tirets, apostrophes ; 100 caractères au plus)", out problem);
        }
        if (Optional(6) is { } usage && !IsName(usage, 100))
        {
            return Fail("usage_name", "nom d'usage invalide (lettres, espaces, tirets, apostrophes ; 100 caractères au plus)", out problem);
        }
        if (!IsName(Field(7).Replace(',', ' '), 200))
        {
            return Fail("given_names", "prénom(s) obligatoire(s) (lettres, espaces, virgules, tirets, apostrophes ; 200 caractères au plus)", out problem);
        }
        if (BirthDateInput.ParseIso(Field(8)) is not { } birthDate
            || birthDate.Year < 1900 || birthDate > DateOnly.FromDateTime(DateTime.UtcNow))
        {
            return Fail("birth_date", "date attendue au format AAAA-MM-JJ, entre 1900 et aujourd'hui", out problem);
        }

        var country = Optional(9)?.ToUpperInvariant();
        if (country is not null && !IsCountry(country))
        {
            return Fail("birth_country", "nom du pays en capitales (FRANCE, ALGERIE) ou code INSEE à 5 chiffres commençant par 99", out problem);
        }
        if (Optional(10) is { } city && !IsName(city, 100))
        {
            return Fail("birth_city", "ville de naissance invalide", out problem);
        }
        var postalCode = Optional(11);
        if (postalCode is not null && (postalCode.Length != 5 || !postalCode.All(char.IsAsciiDigit)))
        {
            return Fail("postal_code", "code postal à 5 chiffres", out problem);
        }

        string? mobile = null, email = null;
        if (Optional(12) is { } mobileText)
        {
            if (!FrenchMobile.TryNormalise(mobileText, out var normalisedMobile, out var mobileError))
            {
                return Fail("mobile", mobileError, out problem);
            }
            mobile = normalisedMobile;
        }
        if (Optional(13) is { } emailText)
        {
            if (!EmailAddress.TryNormalise(emailText, out var normalisedEmail, out var emailError))
            {
                return Fail("email", emailError, out problem);
            }
            email = normalisedEmail;
        }

        var secret = Optional(14);
        var format = Field(15) switch
        {
            "plain" => LegacySecretFormat.Plain,
            "argon2id" => LegacySecretFormat.Argon2id,
            "none" or "" => LegacySecretFormat.None,
            var name when pluggableFormats?.ContainsKey(name) == true => LegacySecretFormat.Verifier,
            _ => (LegacySecretFormat?)null,
        };
        if (format is null)
        {
            var known = string.Join(", ", new[] { "plain", "argon2id" }.Concat(pluggableFormats?.Keys.Order(StringComparer.Ordinal) ?? Enumerable.Empty<string>()));
            return Fail("legacy_secret_format", $"valeur attendue : {known} ou none", out problem);
        }
        if (format == LegacySecretFormat.None && secret is not null || format != LegacySecretFormat.None && secret is null)
        {
            return Fail("legacy_secret", "le secret et son format vont ensemble (format none : pas de secret)", out problem);
        }
        if (format == LegacySecretFormat.Plain && !LegacyCodePolicy.IsWellFormed(secret))
        {
            return Fail("legacy_secret", "le mot de passe dossier comporte exactement 8 chiffres", out problem);
        }
        if (format == LegacySecretFormat.Argon2id && !secret!.StartsWith("$argon2id$", StringComparison.Ordinal))
        {
            return Fail("legacy_secret", "chaîne PHC Argon2id attendue ($argon2id$v=19$…)", out problem);
        }
        if (format == LegacySecretFormat.Verifier && !pluggableFormats![Field(15)](secret!))
        {
            return Fail("legacy_secret", $"valeur illisible pour le format {Field(15)}", out problem);
        }
        if (secret is not null && role != HouseholdRole.Allocataire)
        {
            return Fail("legacy_secret", "le mot de passe dossier figure sur la ligne de l'allocataire seulement", out problem);
        }

        row = new HouseholdImportRow(line, fileNumber.Value, role, nir, provisionalId, civility, Field(5).ToUpperInvariant(), Optional(6)?.ToUpperInvariant(),
            Field(7), birthDate, country, Optional(10), postalCode, mobile, email, secret, format.Value,
            format == LegacySecretFormat.Verifier ? Field(15) : null);
        return true;
    }

    /// <summary>
    /// The rules that span a file's rows: one allocataire, at most one partner, each person once.
    /// Returns the problems; a file with any problem is imported not at all.
    /// </summary>
    public static IReadOnlyList<ImportProblem> CheckHousehold(IReadOnlyList<HouseholdImportRow> rows)
    {
        var problems = new List<ImportProblem>();
        var holders = rows.Where(r => r.Role == HouseholdRole.Allocataire).ToList();
        if (holders.Count != 1)
        {
            problems.Add(new ImportProblem(rows[0].Line, $"dossier {rows[0].FileNumber} : {holders.Count} allocataire(s) au lieu d'un seul"));
        }
        var partners = rows.Where(r => r.Role is HouseholdRole.Conjoint or HouseholdRole.ConjointAllocataire).ToList();
        if (partners.Count > 1)
        {
            problems.Add(new ImportProblem(partners[1].Line, $"dossier {rows[0].FileNumber} : plus d'un conjoint"));
        }
        foreach (var duplicate in rows.GroupBy(r => r.PersonKey).Where(g => g.Count() > 1))
        {
            problems.Add(new ImportProblem(duplicate.Skip(1).First().Line, $"dossier {rows[0].FileNumber} : la même personne figure deux fois"));
        }
        return problems;
    }

    private static bool IsName(string value, int maxLength) =>
        value.Length is > 0 && value.Length <= maxLength && value.All(c => char.IsLetter(c) || c is ' ' or '-' or '\'' or '’');

    private static bool IsCountry(string value) =>
        (value.Length == 5 && value.StartsWith("99", StringComparison.Ordinal) && value.All(char.IsAsciiDigit))
        || (value.Length <= 60 && value.All(c => c is >= 'A' and <= 'Z' or ' ' or '-' or '\'' || char.IsLetter(c) && char.IsUpper(c)));
}
