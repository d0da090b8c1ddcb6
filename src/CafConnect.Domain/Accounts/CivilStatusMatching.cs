using System.Globalization;
using System.Text;

namespace CafConnect.Domain.Accounts;

/// <summary>
/// How a civil status typed by a person is compared with the agency's records (account creation, « Identifiant
/// provisoire oublié ? », invitations): names without accents, case, hyphens or apostrophes; all the given names or
/// the first one alone; the birth date exactly.
/// </summary>
public static class CivilStatusMatching
{
    /// <summary>Household members over 15 may have their own account (seed 004): 16 years old or more.</summary>
    public const int MinimumAge = 16;

    /// <summary>Upper case, no accents, hyphens and apostrophes as spaces, single spaces: "Élodie-Marie" = "ELODIE MARIE".</summary>
    public static string NormaliseName(string? name)
    {
        // Controls, unassigned code points (U+FFFF…) and surrogates are never part of a name, and string.Normalize
        // throws on some of them: drop them first (a hostile form value was a 500).
        var cleaned = new string((name ?? string.Empty).Where(c => CharUnicodeInfo.GetUnicodeCategory(c)
            is not (UnicodeCategory.Control or UnicodeCategory.OtherNotAssigned or UnicodeCategory.Surrogate or UnicodeCategory.PrivateUse)).ToArray());
        var decomposed = cleaned.Trim().Normalize(NormalizationForm.FormD);
        var builder = new StringBuilder(decomposed.Length);
        foreach (var c in decomposed)
        {
            if (CharUnicodeInfo.GetUnicodeCategory(c) == UnicodeCategory.NonSpacingMark)
            {
                continue;
            }
            builder.Append(c is '-' or '\'' or '’' or ',' ? ' ' : char.ToUpperInvariant(c));
        }
        return string.Join(' ', builder.ToString().Split(' ', StringSplitOptions.RemoveEmptyEntries));
    }

    /// <summary>All the given names, or the first one alone (people often type only their usual first name).</summary>
    public static bool GivenNamesMatch(string? stored, string? typed)
    {
        var normalisedStored = NormaliseName(stored);
        var normalisedTyped = NormaliseName(typed);
        return normalisedTyped.Length > 0 && (normalisedStored == normalisedTyped || normalisedStored.Split(' ')[0] == normalisedTyped);
    }

    /// <summary>
    /// Birth name (or usage name, which people also call their name), given names and birth date all match.
    /// Every comparison runs whatever the outcome of the others, so a partial match costs the same as a full one.
    /// </summary>
    public static bool Matches(PersonAccount person, string? birthName, string? givenNames, DateOnly birthDate)
    {
        var typedName = NormaliseName(birthName);
        var nameMatches = typedName.Length > 0 & NormaliseName(person.BirthName) == typedName;
        var givenMatches = GivenNamesMatch(person.GivenNames, givenNames);
        var dateMatches = person.BirthDate == birthDate;
        return nameMatches & givenMatches & dateMatches;
    }

    /// <summary>
    /// Whether a record found by an identifier (a NIR, a provisional identifier) is the person a civil status describes:
    /// the agency's systems (applications, file events, the import) name people by NIR, and a NIR alone is not proof
    /// of identity (it can be mistyped, or claimed by whoever applied first). The same comparison as « Créer Mon
    /// Compte » (<see cref="Matches"/>), so every door that attaches a record to an account decides the same way.
    /// </summary>
    /// <remarks>
    /// Both sides are records here (not a person typing from memory), so the given names compare both ways: one record
    /// may hold all of them and the other only the first.
    /// </remarks>
    public static bool IsSamePerson(PersonAccount found, CivilStatusClaim claim)
    {
        if (claim.BirthDate is not { } birthDate)
        {
            return false;
        }
        var claimedName = NormaliseName(claim.BirthName);
        var nameMatches = claimedName.Length > 0 & NormaliseName(found.BirthName) == claimedName;
        var givenMatches = GivenNamesMatch(found.GivenNames, claim.GivenNames) | GivenNamesMatch(claim.GivenNames, found.GivenNames);
        var dateMatches = found.BirthDate == birthDate;
        return nameMatches & givenMatches & dateMatches;
    }

    /// <summary>Age in whole years on <paramref name="today"/> (a person born on 29 February turns a year older on 1 March).</summary>
    public static int AgeOn(DateOnly birthDate, DateOnly today)
    {
        var age = today.Year - birthDate.Year;
        return birthDate.AddYears(age) > today ? age - 1 : age;
    }

    public static bool IsOldEnough(DateOnly birthDate, DateOnly today) => AgeOn(birthDate, today) >= MinimumAge;

    /// <summary>
    /// Born in France: the agency writes the country FRANCE or its INSEE code 99100; anything else is a birth abroad,
    /// for which the parents' birth names and first names are asked (seed 003).
    /// </summary>
    public static bool IsBornInFrance(string? birthCountry)
    {
        var country = NormaliseName(birthCountry);
        return country is "FRANCE" or "99100";
    }
}

/// <summary>A civil status as another system states it (an application, a file event, an import row), to compare with a record.</summary>
public sealed record CivilStatusClaim(string? BirthName, string? GivenNames, DateOnly? BirthDate);
