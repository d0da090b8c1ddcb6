using System.Diagnostics;
using CafConnect.Domain.Accounts;
using CafConnect.Domain.Households;
using CafConnect.Domain.Identity;
using CafConnect.Domain.Imports;
using CafConnect.Domain.Passwords;
using CafConnect.Infrastructure.Persistence;
using CafConnect.Infrastructure.Security;
using Microsoft.EntityFrameworkCore;

namespace CafConnect.Infrastructure.Imports;

public sealed record ImportOptions(bool DryRun = false, int HouseholdsPerBatch = 1000);

public sealed record ImportProgress(long RowsRead, long RowsWritten, long RowsRefused);

public sealed record ImportReport(
    long RowsRead,
    long RowsImported,
    long HouseholdsImported,
    IReadOnlyList<ImportProblem> Problems,
    IReadOnlyList<ImportProblem> Warnings,
    TimeSpan Elapsed,
    bool DryRun)
{
    public double RowsPerSecond => Elapsed.TotalSeconds > 0 ? RowsImported / Elapsed.TotalSeconds : 0;
}

/// <summary>
/// Loads the agency's existing base (persons and files) from CSV. A file (household) is imported whole or not at all:
/// one bad row refuses its file, with the line and the reason. A re-run is idempotent: persons are matched by NIR or
/// provisional id, files by number, memberships by file and person.
/// </summary>
public sealed class AccountImporter(CafConnectDbContext db, ISecretHasher hasher, StorageSettings storage, TimeProvider clock, LegacySecretVerifiers? legacyVerifiers = null)
{
    /// <summary>The registered legacy verifiers (none when built by hand, as the benchmark does).</summary>
    private readonly LegacySecretVerifiers _legacyVerifiers = legacyVerifiers ?? new LegacySecretVerifiers([], hasher);

    public async Task<ImportReport> ImportAsync(TextReader csv, ImportOptions options, IProgress<ImportProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        var watch = Stopwatch.StartNew();
        var problems = new List<ImportProblem>();
        var warnings = new List<ImportProblem>();
        var households = new Dictionary<string, List<HouseholdImportRow>>(StringComparer.Ordinal);
        var refusedFiles = new Dictionary<string, int>(StringComparer.Ordinal);
        long rowsRead = 0;

        var records = new CsvRecordReader(csv).ReadAsync(cancellationToken).GetAsyncEnumerator(cancellationToken);
        if (!await records.MoveNextAsync())
        {
            return new ImportReport(0, 0, 0, [new ImportProblem(1, "fichier vide : l'en-tête manque")], [], watch.Elapsed, options.DryRun);
        }
        var header = records.Current.Fields.Select((h, i) => i == 0 ? h.TrimStart('\uFEFF') : h).ToList();
        if (HouseholdImportFormat.CheckHeader(header) is { } headerProblem)
        {
            return new ImportReport(0, 0, 0, [new ImportProblem(1, headerProblem)], [], watch.Elapsed, options.DryRun);
        }

        var pluggableFormats = _legacyVerifiers.Formats;
        while (await records.MoveNextAsync())
        {
            var (line, fields) = records.Current;
            rowsRead++;
            if (HouseholdImportFormat.TryParse(line, fields, out var row, out var problem, pluggableFormats))
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
            result[row.FileNumber] = row.LegacySecretFormat switch
            {
                LegacySecretFormat.Plain => hasher.Hash(row.LegacySecret!),
                // Kept as given, tagged with its format: verified by its verifier, re-hashed at the first login.
                LegacySecretFormat.Verifier => _legacyVerifiers.Wrap(row.LegacySecretFormatName!, row.LegacySecret!),
                _ => row.LegacySecret!,
            };
        });
        return new Dictionary<string, string>(result, StringComparer.Ordinal);
    }

    private Task WriteBatchAsync(IReadOnlyList<List<HouseholdImportRow>> batch, Dictionary<string, string> legacyHashes, CancellationToken cancellationToken) =>
        storage.Provider == StorageProvider.PostgreSql
            ? new PostgreSqlBulkWriter(db, clock).WriteAsync(batch, legacyHashes, cancellationToken)
            : WriteWithEntityFrameworkAsync(batch, legacyHashes, cancellationToken);

    /// <summary>Portable path (SQLite, SQL Server): one transaction and one round of queries per batch of files.</summary>
    private Task WriteWithEntityFrameworkAsync(IReadOnlyList<List<HouseholdImportRow>> batch, Dictionary<string, string> legacyHashes, CancellationToken cancellationToken) =>
        // SQL Server runs with a retrying execution strategy, which accepts transactions only when opened through it.
        db.Database.CreateExecutionStrategy().ExecuteAsync(ct => WriteBatchWithEntityFrameworkAsync(batch, legacyHashes, ct), cancellationToken);

    private async Task WriteBatchWithEntityFrameworkAsync(IReadOnlyList<List<HouseholdImportRow>> batch, Dictionary<string, string> legacyHashes, CancellationToken cancellationToken)
    {
        db.ChangeTracker.Clear();
        var rows = batch.SelectMany(h => h).ToList();
        var nirs = rows.Where(r => r.Nir is not null).Select(r => r.Nir!).Distinct().ToList();
        var provisionalIds = rows.Where(r => r.ProvisionalId is not null).Select(r => r.ProvisionalId!).Distinct().ToList();
        var fileNumbers = batch.Select(h => h[0].FileNumber).ToList();

        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var persons = (await db.Persons.Where(p => (p.Nir != null && nirs.Contains(p.Nir)) || (p.ProvisionalId != null && provisionalIds.Contains(p.ProvisionalId))).ToListAsync(cancellationToken))
            .ToDictionary(p => p.Nir ?? p.ProvisionalId!, StringComparer.Ordinal);
        var households = (await db.Households.Include(h => h.Members).Where(h => fileNumbers.Contains(h.FileNumber)).ToListAsync(cancellationToken))
            .ToDictionary(h => h.FileNumber, StringComparer.Ordinal);
        var now = clock.GetUtcNow();

        foreach (var row in rows)
        {
            if (!persons.TryGetValue(row.PersonKey, out var person))
            {
                person = new PersonAccount { Nir = row.Nir, ProvisionalId = row.ProvisionalId, CreatedAt = now, CredentialKind = CredentialKind.None };
                persons[row.PersonKey] = person;
                db.Persons.Add(person);
            }
            Apply(person, row);

            if (!households.TryGetValue(row.FileNumber, out var household))
            {
                household = new Household { FileNumber = row.FileNumber, CreatedAt = now };
                households[row.FileNumber] = household;
                db.Households.Add(household);
            }
            if (legacyHashes.TryGetValue(row.FileNumber, out var hash) && row.Role == HouseholdRole.Allocataire)
            {
                household.LegacySecretHash = hash;
            }
            var membership = household.Members.FirstOrDefault(m => m.PersonId == person.Id);
            if (membership is null)
            {
                household.Members.Add(new HouseholdMembership { Person = person, PersonId = person.Id, Role = row.Role, JoinedAt = now });
            }
            else
            {
                membership.Role = row.Role;
            }
        }
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        db.ChangeTracker.Clear();
    }

    /// <summary>What the file says about a person; a changed contact loses its verification (it was verified for the old value).</summary>
    internal static void Apply(PersonAccount person, HouseholdImportRow row)
    {
        person.Civility = row.Civility;
        person.BirthName = row.BirthName;
        person.UsageName = row.UsageName;
        person.GivenNames = row.GivenNames;
        person.BirthDate = row.BirthDate;
        person.BirthCountry = row.BirthCountry;
        person.BirthCity = row.BirthCity;
        person.PostalCode = row.PostalCode;
        if (row.Mobile is not null && row.Mobile != person.MobilePhone)
        {
            person.MobilePhone = row.Mobile;
            person.MobilePhoneVerified = false;
        }
        if (row.Email is not null && !string.Equals(row.Email, person.Email, StringComparison.OrdinalIgnoreCase))
        {
            person.Email = row.Email;
            person.EmailVerified = false;
        }
        person.ConcurrencyStamp = Guid.NewGuid();
    }
}
