using System.Diagnostics;
using CafConnect.Domain.Accounts;
using CafConnect.Domain.Households;
using CafConnect.Domain.Identity;
using CafConnect.Domain.Imports;
using CafConnect.Domain.Passwords;
using CafConnect.Infrastructure.Persistence;
using CafConnect.Infrastructure.Security;
using Microsoft.EntityFrameworkCore;

using CafConnect.Infrastructure.Imports;

namespace CafConnect.Bench.Previous;

/// <summary>
/// Loads the agency's existing base (persons and files) from CSV. A file (household) is imported whole or not at all:
/// one bad row refuses its file, with the line and the reason. A re-run is idempotent: persons are matched by NIR or
/// provisional id, files by number, memberships by file and person.
/// </summary>
/// <remarks>Kept verbatim from main (d53c771) as the benchmark's peer; PostgreSQL path only.</remarks>
internal sealed class PreviousAccountImporter(CafConnectDbContext db, ISecretHasher hasher, StorageSettings storage, TimeProvider clock)
{
    public async Task<ImportReport> ImportAsync(TextReader csv, ImportOptions options, IProgress<ImportProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        var watch = Stopwatch.StartNew();
        var problems = new List<ImportProblem>();
        var warnings = new List<ImportProblem>();
        var households = new Dictionary<string, List<HouseholdImportRow>>(StringComparer.Ordinal);
        var refusedFiles = new Dictionary<string, int>(StringComparer.Ordinal);
        long rowsRead = 0;

        var records = new PreviousCsvRecordReader(csv).ReadAsync(cancellationToken).GetAsyncEnumerator(cancellationToken);
        if (!await records.MoveNextAsync())
        {
            return new ImportReport(0, 0, 0, [new ImportProblem(1, "fichier vide : l'en-tête manque")], [], watch.Elapsed, options.DryRun);
        }
        var header = records.Current.Fields.Select((h, i) => i == 0 ? h.TrimStart('\uFEFF') : h).ToList();
        if (HouseholdImportFormat.CheckHeader(header) is { } headerProblem)
        {
            return new ImportReport(0, 0, 0, [new ImportProblem(1, headerProblem)], [], watch.Elapsed, options.DryRun);
        }

        while (await records.MoveNextAsync())
        {
            var (line, fields) = records.Current;
            rowsRead++;
            if (HouseholdImportFormat.TryParse(line, fields, out var row, out var problem))
            {
                if (!households.TryGetValue(row!.FileNumber, out var rows))
                {
                    households[row.FileNumber] = rows = [];
                }
                rows.Add(row);
            }
            else
            {
                problems.Add(problem!);
                // A bad row refuses its whole file when the file number itself can be read.
                var rawFile = fields.Count > 0 ? fields[0].Trim() : string.Empty;
                if (FileNumber.TryParse(rawFile, out var file, out _))
                {
                    refusedFiles.TryAdd(file.Value, line);
                }
            }
            if (rowsRead % 10_000 == 0)
            {
                progress?.Report(new ImportProgress(rowsRead, 0, problems.Count));
            }
        }

        var accepted = new List<List<HouseholdImportRow>>(households.Count);
        foreach (var (fileNumber, rows) in households)
        {
            if (refusedFiles.TryGetValue(fileNumber, out var badLine))
            {
                problems.Add(new ImportProblem(rows[0].Line, $"dossier {fileNumber} non importé : sa ligne {badLine} est invalide"));
                continue;
            }
            var householdProblems = HouseholdImportFormat.CheckHousehold(rows);
            if (householdProblems.Count > 0)
            {
                problems.AddRange(householdProblems);
                continue;
            }
            warnings.AddRange(LegacyCodeWarnings(rows));
            accepted.Add(rows);
        }

        // A person may appear on two files (after a separation): the same civil status must come with them.
        var seen = new Dictionary<string, HouseholdImportRow>(StringComparer.Ordinal);
        foreach (var row in accepted.SelectMany(r => r))
        {
            if (seen.TryGetValue(row.PersonKey, out var first) && (first.BirthDate != row.BirthDate || first.BirthName != row.BirthName))
            {
                warnings.Add(new ImportProblem(row.Line, $"la même personne (ligne {first.Line}) apparaît avec un état civil différent : la dernière ligne l'emporte"));
            }
            seen[row.PersonKey] = row;
        }

        long written = 0;
        if (!options.DryRun)
        {
            foreach (var batch in accepted.Chunk(options.HouseholdsPerBatch))
            {
                var hashes = HashLegacySecrets(batch);
                await WriteBatchAsync(batch, hashes, cancellationToken);
                written += batch.Sum(h => h.Count);
                progress?.Report(new ImportProgress(rowsRead, written, problems.Count));
            }
        }

        problems.Sort((a, b) => a.Line.CompareTo(b.Line));
        return new ImportReport(rowsRead, options.DryRun ? accepted.Sum(h => h.Count) : written, accepted.Count, problems, warnings, watch.Elapsed, options.DryRun);
    }

    /// <summary>
    /// Existing codes that today's rules would refuse (a birth date, a phone…) are imported all the same — refusing them
    /// would lock the family out — but reported, so agents can ask for a change.
    /// </summary>
    private static IEnumerable<ImportProblem> LegacyCodeWarnings(IReadOnlyList<HouseholdImportRow> rows)
    {
        var holder = rows.FirstOrDefault(r => r.LegacySecretFormat == LegacySecretFormat.Plain);
        if (holder is null)
        {
            yield break;
        }
        var context = new PasswordContext
        {
            Nir = holder.Nir is not null && Nir.TryParse(holder.Nir, out var nir, out _) ? nir : null,
            FileNumbers = [holder.FileNumber],
            BirthDates = rows.Select(r => r.BirthDate).ToList(),
            PhoneNumbers = rows.Where(r => r.Mobile is not null).Select(r => r.Mobile!).ToList(),
        };
        var check = LegacyCodePolicy.Check(holder.LegacySecret, context);
        if (!check.IsAccepted)
        {
            yield return new ImportProblem(holder.Line, $"mot de passe dossier importé mais contraire aux règles : {string.Join(" ", check.Violations.Select(v => v.Message))}");
        }
    }

    /// <summary>Plain legacy codes are hashed here, in parallel (Argon2id is the slow part of an import that has them).</summary>
    private Dictionary<string, string> HashLegacySecrets(IReadOnlyList<List<HouseholdImportRow>> batch)
    {
        var result = new System.Collections.Concurrent.ConcurrentDictionary<string, string>(StringComparer.Ordinal);
        Parallel.ForEach(batch.SelectMany(h => h).Where(r => r.LegacySecret is not null), row =>
        {
            result[row.FileNumber] = row.LegacySecretFormat == LegacySecretFormat.Plain ? hasher.Hash(row.LegacySecret!) : row.LegacySecret!;
        });
        return new Dictionary<string, string>(result, StringComparer.Ordinal);
    }

    private Task WriteBatchAsync(IReadOnlyList<List<HouseholdImportRow>> batch, Dictionary<string, string> legacyHashes, CancellationToken cancellationToken) =>
        storage.Provider == StorageProvider.PostgreSql
            ? new PreviousPostgreSqlBulkWriter(db, clock).WriteAsync(batch, legacyHashes, cancellationToken)
            : throw new NotSupportedException("the peer measures the PostgreSQL path only");
}
