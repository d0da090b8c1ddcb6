using CafConnect.Domain.Accounts;
using CafConnect.Domain.Households;

namespace CafConnect.Domain.Imports;

/// <summary>What the store already holds about a person an import row names (by NIR or provisional identifier).</summary>
public sealed record StoredPerson(
    string Key, string BirthName, string GivenNames, DateOnly? BirthDate,
    string? MobilePhone, bool MobilePhoneVerified, string? Email, bool EmailVerified,
    IReadOnlyList<string> FileNumbers);

/// <summary>A member of a file the store already holds: their identifier (NIR or provisional id) and role.</summary>
public sealed record StoredMember(string? PersonKey, HouseholdRole Role);

/// <summary>What the store already holds about a file an import names.</summary>
public sealed record StoredFile(string FileNumber, IReadOnlyList<StoredMember> Members);

/// <summary>
/// The import never lowers what the store knows better (the export may be older than the events applied since): one
/// rule for both write paths. A file is refused (line and reason) when a row names an existing person with another
/// civil status, moves an existing person onto a file of another export, or gives an existing file a second
/// allocataire or partner; otherwise it is written with what the store knows better kept: a verified contact, the
/// roles of existing members, and an existing file's legacy code (erased, upgraded or replaced since).
/// </summary>
public static class ImportReconciliation
{
    public const string CivilStatusConflict =
        "la personne existe déjà avec un autre état civil (nom de naissance, prénoms ou date de naissance) : un agent doit vérifier son identité";
    public const string PersonOnAnotherFile =
        "la personne figure déjà sur un autre dossier : un changement de dossier passe par les événements du dossier (séparation, personne ajoutée ou retirée)";
    public const string FileHasAllocataire = "le dossier a déjà un allocataire : un changement passe par les événements du dossier";
    public const string FileHasPartner = "le dossier a déjà un conjoint : un changement passe par les événements du dossier";
    public const string VerifiedMobileKept = "mobile non remplacé : celui du compte a été vérifié par la personne";
    public const string VerifiedEmailKept = "adresse mail non remplacée : celle du compte a été vérifiée par la personne";
    public const string LegacyCodeKept = "code du dossier ignoré : le dossier existe déjà, seuls ses événements (séparation, mutation, première connexion) le changent";

    /// <summary>
    /// The rows to write (contacts the store verified left out, an existing file's legacy code left out), or null when
    /// the file is refused; <paramref name="problems"/> and <paramref name="warnings"/> receive the reasons.
    /// </summary>
    /// <param name="isFileOfThisImport">Whether a file number appears in the CSV being imported (a person may be on two of its files).</param>
    public static IReadOnlyList<HouseholdImportRow>? Reconcile(
        IReadOnlyList<HouseholdImportRow> rows, StoredFile? storedFile, IReadOnlyDictionary<string, StoredPerson> storedPersons,
        Func<string, bool> isFileOfThisImport, ICollection<ImportProblem> problems, ICollection<ImportProblem> warnings)
    {
        var fileNumber = rows[0].FileNumber;
        var refusals = new List<ImportProblem>();
        var kept = new List<ImportProblem>();
        var result = new List<HouseholdImportRow>(rows.Count);
        foreach (var row in rows)
        {
            var adjusted = row;
            var member = storedFile?.Members.FirstOrDefault(m => m.PersonKey == row.PersonKey);
            if (storedPersons.TryGetValue(row.PersonKey, out var stored))
            {
                var record = new PersonAccount { BirthName = stored.BirthName, GivenNames = stored.GivenNames, BirthDate = stored.BirthDate };
                if (!CivilStatusMatching.IsSamePerson(record, new CivilStatusClaim(row.BirthName, row.GivenNames, row.BirthDate)))
                {
                    refusals.Add(new ImportProblem(row.Line, CivilStatusConflict));
                }
                else if (member is null && stored.FileNumbers.Any(f => f != fileNumber && !isFileOfThisImport(f)))
                {
                    refusals.Add(new ImportProblem(row.Line, PersonOnAnotherFile));
                }
                if (stored.MobilePhoneVerified && row.Mobile is not null && row.Mobile != stored.MobilePhone)
                {
                    adjusted = adjusted with { Mobile = null };
                    kept.Add(new ImportProblem(row.Line, VerifiedMobileKept));
                }
                if (stored.EmailVerified && row.Email is not null && !string.Equals(row.Email, stored.Email, StringComparison.OrdinalIgnoreCase))
                {
                    adjusted = adjusted with { Email = null };
                    kept.Add(new ImportProblem(row.Line, VerifiedEmailKept));
                }
            }
            if (storedFile is not null && member is null)
            {
                if (Household.HasHolderAlreadyFor(row.Role, storedFile.Members.Where(m => m.PersonKey != row.PersonKey).Select(m => m.Role)))
                {
                    refusals.Add(new ImportProblem(row.Line, FileHasAllocataire));
                }
                // The person is not a member (member is null): any partner of the stored file is someone else.
                if (Household.HasPartnerAlreadyFor(row.Role, storedFile.Members.Select(m => m.Role)))
                {
                    refusals.Add(new ImportProblem(row.Line, FileHasPartner));
                }
            }
            if (storedFile is not null && row.LegacySecretFormat != LegacySecretFormat.None)
            {
                adjusted = adjusted with { LegacySecret = null, LegacySecretFormat = LegacySecretFormat.None, LegacySecretFormatName = null };
                kept.Add(new ImportProblem(row.Line, LegacyCodeKept));
            }
            result.Add(adjusted);
        }
        if (refusals.Count > 0)
        {
            foreach (var refusal in refusals)
            {
                problems.Add(refusal with { Reason = $"dossier {fileNumber} non importé : {refusal.Reason}" });
            }
            return null;
        }
        foreach (var warning in kept)
        {
            warnings.Add(warning);
        }
        return result;
    }
}
