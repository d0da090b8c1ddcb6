using System.Globalization;
using System.Security.Claims;
using CafConnect.Domain.Accounts;
using CafConnect.Domain.Identity;
using CafConnect.Infrastructure.Geography;

namespace CafConnect.IdP.Features.FranceConnect;

/// <summary>
/// FranceConnect's "identité pivot": the civil status it certifies (birth name, every given name, birth date, gender,
/// INSEE code of the birth commune — empty for a birth abroad — and of the birth country, <c>99100</c> for France).
/// </summary>
public sealed record PivotIdentity(
    string Subject, string GivenNames, string FamilyName, DateOnly? BirthDate, string? Gender, string? BirthPlace, string? BirthCountry)
{
    public const string FranceCountryCode = "99100";

    public static PivotIdentity? From(ClaimsPrincipal principal)
    {
        var subject = principal.FindFirst("sub")?.Value ?? principal.FindFirst(ClaimTypes.NameIdentifier)?.Value;
        if (string.IsNullOrWhiteSpace(subject) || subject.Length > 255)
        {
            return null;
        }
        var birthDate = BirthDateInput.ParseIso(principal.FindFirst("birthdate")?.Value);
        return new PivotIdentity(subject,
            principal.FindFirst("given_name")?.Value ?? string.Empty,
            principal.FindFirst("family_name")?.Value ?? string.Empty,
            birthDate,
            principal.FindFirst("gender")?.Value,
            principal.FindFirst("birthplace")?.Value,
            principal.FindFirst("birthcountry")?.Value);
    }
}

/// <summary>
/// The rule that decides whether a FranceConnect identity is a given CafConnect person (docs/decisions.md, "FranceConnect
/// matching", and #27 for a birth commune held as a name). Every element of the pivot must agree with what the agency
/// holds, and the place of birth must be confirmed by the NIR's place digits, an INSEE code held, or a commune name that
/// designated exactly the certified commune on the date of birth: one wrong match would open a person's file to someone
/// else, so anything uncertain is no match, and the person signs in with their Caf identifiers instead.
/// </summary>
public static partial class PivotIdentityMatching
{
    public static bool Matches(PersonAccount person, PivotIdentity pivot) => Matches(person, pivot, []);

    /// <param name="filesJoinedByInvitation">
    /// The files <paramref name="person"/> is on because they answered a holder's « Mon foyer » invitation: a membership
    /// the person (and whoever invited them) made, not the agency, so it never makes a birth commune they typed count.
    /// </param>
    public static bool Matches(PersonAccount person, PivotIdentity pivot, IReadOnlyCollection<Guid> filesJoinedByInvitation) =>
        !person.IsClosed
        && person.BirthDate is { } birthDate && pivot.BirthDate == birthDate
        && Same(person.BirthName, pivot.FamilyName)
        && GivenNamesAgree(person.GivenNames, pivot.GivenNames)
        && GenderAgrees(person, pivot.Gender)
        && BirthPlaceAgrees(person, pivot, filesJoinedByInvitation, InseeCommunes.Official);

    private static bool Same(string? stored, string? certified)
    {
        var a = CivilStatusMatching.NormaliseName(stored);
        return a.Length > 0 && a == CivilStatusMatching.NormaliseName(certified);
    }

    /// <summary>
    /// FranceConnect gives every given name of the civil status; the agency may hold all of them or only the first ones
    /// ("Jeanne" for "Jeanne Marie Claire"). The names held must be the certified ones, in order, from the first.
    /// </summary>
    internal static bool GivenNamesAgree(string? stored, string? certified)
    {
        var held = CivilStatusMatching.NormaliseName(stored).Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var given = CivilStatusMatching.NormaliseName(certified).Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return held.Length > 0 && held.Length <= given.Length && held.SequenceEqual(given.Take(held.Length));
    }

    /// <summary>The civility held, else the NIR's first digit; unknown on both sides is no match.</summary>
    internal static bool GenderAgrees(PersonAccount person, string? gender)
    {
        var held = person.Civility switch
        {
            Civility.Madame => "female",
            Civility.Monsieur => "male",
            _ => Nir.TryParse(person.Nir, out var nir, out _) ? (nir.Sex == NirSex.Male ? "male" : "female") : null,
        };
        return held is not null && string.Equals(held, gender, StringComparison.Ordinal);
    }

    /// <summary>
    /// With a NIR, the birth place it encodes (<see cref="Nir.BirthPlaceCode"/>, <see cref="Nir.IsBirthCommune"/>). Without a NIR, the birth country
    /// held must be the INSEE country code (or FRANCE); a birth commune in France held as an INSEE code must be the one
    /// certified, and one held as a name must designate, on the date of birth, exactly one commune: the certified one
    /// (<see cref="BirthCommuneNameAgrees"/>).
    /// </summary>
    internal static bool BirthPlaceAgrees(PersonAccount person, PivotIdentity pivot, IReadOnlyCollection<Guid> filesJoinedByInvitation, InseeCommunes communes)
    {
        var country = (pivot.BirthCountry ?? string.Empty).Trim();
        var place = (pivot.BirthPlace ?? string.Empty).Trim().ToUpperInvariant();
        if (country.Length != 5 || !country.StartsWith("99", StringComparison.Ordinal))
        {
            return false;
        }

        if (person.Nir is not null)
        {
            // A NIR held but unreadable is uncertain: no match (never a fall back on the names of places).
            if (!Nir.TryParse(person.Nir, out var nir, out _))
            {
                return false;
            }
            return nir.IsForeignBorn
                ? country == nir.BirthPlaceCode
                : country == PivotIdentity.FranceCountryCode && nir.IsBirthCommune(place);
        }

        var heldCountry = (person.BirthCountry ?? string.Empty).Trim().ToUpperInvariant();
        if (heldCountry == "FRANCE")
        {
            heldCountry = PivotIdentity.FranceCountryCode;
        }
        if (heldCountry != country)
        {
            return false;
        }
        if (country != PivotIdentity.FranceCountryCode)
        {
            return true;
        }
        var heldCity = (person.BirthCity ?? string.Empty).Trim().ToUpperInvariant();
        if (place.Length != 5 || person.BirthDate is not { } birthDate)
        {
            return false;
        }
        if (InseeCode().IsMatch(heldCity))
        {
            return InseeCommunes.SameCode(heldCity, place);
        }
        // A name is compared only when the agency's systems gave it (a person on a file: import, application, file
        // events). « Créer Mon Compte » without a NIR lets anyone declare a civil status and a birth commune; compared,
        // it would let a squatter who knows someone's civil status pre-create the account that person's first
        // FranceConnect login then opens (pre-account hijack, docs/security.md). A file the person joined by answering a
        // holder's invitation is not the agency's word either: any holder could invite the squatter's account onto their
        // own file (adversarial review, 5 December 2026, fourth session).
        return person.Memberships.Any(m => !filesJoinedByInvitation.Contains(m.HouseholdId))
            && BirthCommuneNameAgrees(person.BirthCity, place, birthDate, communes);
    }

    /// <summary>
    /// A birth commune held as a name (« SAINT-DENIS », « Saint-Denis (93) », « PARIS 12E ») against the code
    /// FranceConnect certifies, which is INSEE's code of the commune <em>on the date of birth</em> (docs/decisions.md #27):
    /// the name, read in the official geographic code as it stood that day (and in the département when one is given
    /// in brackets), must designate exactly one commune, and that commune must be the certified one — or, for Paris,
    /// Lyon and Marseille held without their arrondissement, the city of the certified arrondissement. A name that
    /// several communes bore that day (homonyms in different départements), or none, is uncertain: no match.
    /// </summary>
    internal static bool BirthCommuneNameAgrees(string? heldName, string certifiedCode, DateOnly birthDate, InseeCommunes communes)
    {
        var held = (heldName ?? string.Empty).Trim();
        string? department = null;
        if (DepartmentSuffix().Match(held) is { Success: true } suffix)
        {
            held = suffix.Groups[1].Value;
            department = suffix.Groups[2].Value.ToUpperInvariant();
        }
        var codes = communes.CodesNamed(held, birthDate, department);
        if (codes.Count != 1)
        {
            return false;
        }
        var code = codes[0];
        return InseeCommunes.SameCode(code, certifiedCode) || communes.IsArrondissementOf(certifiedCode, code, birthDate);
    }

    [System.Text.RegularExpressions.GeneratedRegex("^[0-9][0-9AB][0-9]{3}$")]
    private static partial System.Text.RegularExpressions.Regex InseeCode();

    [System.Text.RegularExpressions.GeneratedRegex(@"^(.+?)\s*\(\s*(97[1-6]|[0-9]{2}|2[AaBb])\s*\)$")]
    private static partial System.Text.RegularExpressions.Regex DepartmentSuffix();
}
