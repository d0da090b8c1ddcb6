using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Threading.Channels;
using CafConnect.Domain.Accounts;
using CafConnect.Domain.Households;
using CafConnect.Domain.Identity;
using CafConnect.Domain.Imports;
using CafConnect.Domain.Passwords;
using CafConnect.Infrastructure.Persistence;
using CafConnect.Infrastructure.Security;
using Microsoft.EntityFrameworkCore;

namespace CafConnect.Infrastructure.Imports;

/// <param name="HouseholdsPerBatch">Files per write transaction (a file never spans two).</param>
public sealed record ImportOptions(bool DryRun = false, int HouseholdsPerBatch = 5000);

/// <param name="RowsTotal">Rows in the file (known after the first, quick pass).</param>
public sealed record ImportProgress(long RowsRead, long RowsWritten, long RowsRefused, long RowsTotal = 0);

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
/// <remarks>
/// Two passes over the file. The first, quick one only cuts records and notes the row where each file number appears
/// last: that is when the file is complete, wherever its rows are. The second parses and checks the rows and hands
/// each complete, valid file to a writer running at the same time (a bounded channel of batches): checking batch N+1
/// overlaps writing batch N, and each batch is one transaction, so a file is never half-written.
/// </remarks>
public sealed class AccountImporter(CafConnectDbContext db, ISecretHasher hasher, StorageSettings storage, TimeProvider clock, LegacySecretVerifiers? legacyVerifiers = null)
{
    /// <summary>The registered legacy verifiers (none when built by hand, as the benchmark does).</summary>
    private readonly LegacySecretVerifiers _legacyVerifiers = legacyVerifiers ?? new LegacySecretVerifiers([], hasher);

    /// <summary>Batches checked ahead of the writer: enough to keep it busy, few enough to bound memory.</summary>
    private const int BatchesAhead = 2;

    private const int ProgressEveryRows = 10_000;

    /// <summary>
    /// Imports from a reader that can be read only once: its text is kept in memory for the two passes. Prefer
    /// <see cref="ImportAsync(Func{TextReader}, ImportOptions, IProgress{ImportProgress}?, CancellationToken)"/> for a file.
    /// </summary>
    public async Task<ImportReport> ImportAsync(TextReader csv, ImportOptions options, IProgress<ImportProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        var text = await csv.ReadToEndAsync(cancellationToken);
        return await ImportAsync(() => new StringReader(text), options, progress, cancellationToken);
    }

    /// <summary>Imports from a CSV that <paramref name="openCsv"/> opens from its start each time (twice).</summary>
    public async Task<ImportReport> ImportAsync(Func<TextReader> openCsv, ImportOptions options, IProgress<ImportProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(options.HouseholdsPerBatch, 1);
        var watch = Stopwatch.StartNew();
        var (lastRowOfFile, rowsTotal) = await FindWhereFilesEndAsync(openCsv, cancellationToken);

        using var reader = openCsv();
        var records = new CsvRecordReader(reader).ReadAsync(cancellationToken).GetAsyncEnumerator(cancellationToken);
        await using var _ = records;
        if (!await records.MoveNextAsync())
        {
            return new ImportReport(0, 0, 0, [new ImportProblem(1, "fichier vide : l'en-tête manque")], [], watch.Elapsed, options.DryRun);
        }
        var header = records.Current.Fields.Select((h, i) => i == 0 ? h.TrimStart('\uFEFF') : h).ToList();
        if (HouseholdImportFormat.CheckHeader(header) is { } headerProblem)
        {
            return new ImportReport(0, 0, 0, [new ImportProblem(1, headerProblem)], [], watch.Elapsed, options.DryRun);
        }

        var run = new ImportRun(progress, rowsTotal);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var batches = Channel.CreateBounded<List<List<HouseholdImportRow>>>(new BoundedChannelOptions(BatchesAhead)
        {
            SingleReader = true,
            SingleWriter = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        var checking = Task.Run(() => CheckRowsAsync(records, lastRowOfFile, _legacyVerifiers.Formats, options, run, batches.Writer, stop.Token), CancellationToken.None);
        var writing = Task.Run(() => WriteBatchesAsync(batches.Reader, lastRowOfFile, options, run, stop), CancellationToken.None);
        await ThrowRootCauseAsync(checking, writing, cancellationToken);

        var problems = run.Problems.OrderBy(p => p.Line).ToList();
        var warnings = run.Warnings.OrderBy(w => w.Line).ToList();
        return new ImportReport(run.RowsRead, run.RowsWritten, run.HouseholdsWritten, problems, warnings, watch.Elapsed, options.DryRun);
    }

    /// <summary>First pass: the data row (counted from 1 after the header) where each readable file number appears last.</summary>
    private static async Task<(Dictionary<string, int> LastRowOfFile, int Rows)> FindWhereFilesEndAsync(Func<TextReader> openCsv, CancellationToken cancellationToken)
    {
        var lastRowOfFile = new Dictionary<string, int>(StringComparer.Ordinal);
        var row = -1;
        using var reader = openCsv();
        await foreach (var (_, fields) in new CsvRecordReader(reader).ReadFirstFieldsAsync(cancellationToken))
        {
            if (++row > 0 && FileNumber.TryParse(fields[0].Trim(), out var file, out _))
            {
                lastRowOfFile[file.Value] = row;
            }
        }
        return (lastRowOfFile, Math.Max(row, 0));
    }

    /// <summary>Second pass, producer: parses and checks every row; each file is judged when its last row is read.</summary>
    private static async Task CheckRowsAsync(IAsyncEnumerator<(int Line, List<string> Fields)> records, Dictionary<string, int> lastRowOfFile,
        IReadOnlyDictionary<string, Func<string, bool>> pluggableFormats,
        ImportOptions options, ImportRun run, ChannelWriter<List<List<HouseholdImportRow>>> batches, CancellationToken cancellationToken)
    {
        try
        {
            var open = new Dictionary<string, OpenHousehold>(StringComparer.Ordinal);
            // A person may appear on two files (after a separation): the same civil status must come with them.
            var persons = new Dictionary<string, (int Line, DateOnly BirthDate, string BirthName)>(StringComparer.Ordinal);
            var batch = new List<List<HouseholdImportRow>>(options.HouseholdsPerBatch);
            var row = 0;
            while (await records.MoveNextAsync())
            {
                cancellationToken.ThrowIfCancellationRequested();
                var (line, fields) = records.Current;
                row++;
                string? fileNumber;
                if (HouseholdImportFormat.TryParse(line, fields, out var parsed, out var problem, pluggableFormats))
                {
                    fileNumber = parsed!.FileNumber;
                    OpenHousehold.Of(open, fileNumber).Rows.Add(parsed);
                }
                else
                {
                    run.Refuse(problem!);
                    // A bad row refuses its whole file when the file number itself can be read.
                    fileNumber = fields.Count > 0 && FileNumber.TryParse(fields[0].Trim(), out var file, out _) ? file.Value : null;
                    if (fileNumber is not null)
                    {
                        OpenHousehold.Of(open, fileNumber).FirstBadLine ??= line;
                    }
                }
                run.RowRead();

                if (fileNumber is not null)
                {
                    if (!lastRowOfFile.TryGetValue(fileNumber, out var lastRow) || lastRow < row)
                    {
                        throw new InvalidOperationException("le fichier a changé pendant l'import (ses deux lectures diffèrent) : relancez l'import");
                    }
                    if (lastRow == row && Judge(fileNumber, open, persons, run) is { } accepted)
                    {
                        batch.Add(accepted);
                        if (batch.Count == options.HouseholdsPerBatch)
                        {
                            await batches.WriteAsync(batch, cancellationToken);
                            batch = new List<List<HouseholdImportRow>>(options.HouseholdsPerBatch);
                        }
                    }
                }
                if (row % ProgressEveryRows == 0)
                {
                    run.Report();
                }
            }
            if (open.Count > 0)
            {
                throw new InvalidOperationException("le fichier a changé pendant l'import (ses deux lectures diffèrent) : relancez l'import");
            }
            if (batch.Count > 0)
            {
                await batches.WriteAsync(batch, cancellationToken);
            }
            batches.Complete();
        }
        catch (Exception exception)
        {
            batches.TryComplete(exception);
            throw;
        }
    }

    /// <summary>A complete file: its rows when they may be written, null (with the reasons recorded) when it is refused.</summary>
    private static List<HouseholdImportRow>? Judge(string fileNumber, Dictionary<string, OpenHousehold> open, Dictionary<string, (int Line, DateOnly BirthDate, string BirthName)> persons, ImportRun run)
    {
        open.Remove(fileNumber, out var household);
        var rows = household!.Rows;
        if (household.FirstBadLine is { } badLine)
        {
            if (rows.Count > 0)
            {
                run.Refuse(new ImportProblem(rows[0].Line, $"dossier {fileNumber} non importé : sa ligne {badLine} est invalide"));
            }
            return null;
        }
        var householdProblems = HouseholdImportFormat.CheckHousehold(rows);
        if (householdProblems.Count > 0)
        {
            foreach (var problem in householdProblems)
            {
                run.Refuse(problem);
            }
            return null;
        }
        foreach (var warning in LegacyCodeWarnings(rows))
        {
            run.Warn(warning);
        }
        foreach (var row in rows)
        {
            if (persons.TryGetValue(row.PersonKey, out var previous) && (previous.BirthDate != row.BirthDate || previous.BirthName != row.BirthName))
            {
                run.Warn(new ImportProblem(row.Line, $"la même personne (ligne {previous.Line}) apparaît avec un état civil différent : la dernière ligne l'emporte"));
            }
            persons[row.PersonKey] = (row.Line, row.BirthDate, row.BirthName);
        }
        return rows;
    }

    /// <summary>
    /// Second pass, consumer: checks each batch against what the store holds (<see cref="ImportReconciliation"/>: the
    /// import never lowers what the store knows better), then writes it in its own transaction (nothing in a dry run),
    /// where the check is made again under the lock of the batch's existing files (docs/decisions.md #57).
    /// </summary>
    private async Task WriteBatchesAsync(ChannelReader<List<List<HouseholdImportRow>>> batches, Dictionary<string, int> filesOfThisImport, ImportOptions options, ImportRun run, CancellationTokenSource stop)
    {
        try
        {
            await foreach (var checkedBatch in batches.ReadAllAsync(stop.Token))
            {
                // Checked once before the transaction: the slow hashing below is spent only on files still to write, and
                // never while the batch's transaction holds its locks.
                var batch = await ReconcileWithStoreAsync(checkedBatch, filesOfThisImport, run, stop.Token);
                if (!options.DryRun && batch.Count > 0)
                {
                    var hashes = HashLegacySecrets(batch);
                    batch = await WriteBatchAsync(batch, hashes, filesOfThisImport, run, stop.Token);
                }
                run.Written(batch);
                run.Report();
            }
        }
        catch
        {
            // The checker must not read on for a writer that has stopped.
            await stop.CancelAsync();
            throw;
        }
    }

    /// <summary>
    /// Waits for both sides and throws what stopped the import: the writer's or the checker's own error rather than the
    /// cancellation it caused on the other side.
    /// </summary>
    private static async Task ThrowRootCauseAsync(Task checking, Task writing, CancellationToken cancellationToken)
    {
        try
        {
            await Task.WhenAll(checking, writing);
            return;
        }
        catch
        {
            // Either side failing makes the other one stop: find which failed first, below.
        }
        cancellationToken.ThrowIfCancellationRequested();
        foreach (var task in new[] { writing, checking })
        {
            if (task.Exception?.InnerException is { } error and not OperationCanceledException)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(error);
            }
        }
        await writing;
        await checking;
    }

    /// <summary>
    /// The batch's files as the store allows them (<see cref="ImportReconciliation"/>): what the store holds about their
    /// persons and files is read in two indexed queries (by identifier, by file number), so a first import into an
    /// empty store pays two empty lookups per batch.
    /// </summary>
    private async Task<List<List<HouseholdImportRow>>> ReconcileWithStoreAsync(List<List<HouseholdImportRow>> batch, Dictionary<string, int> filesOfThisImport, ImportRun run, CancellationToken cancellationToken)
    {
        var problems = new List<ImportProblem>();
        var warnings = new List<ImportProblem>();
        var accepted = await ReconcileAsync(batch, filesOfThisImport, problems, warnings, cancellationToken);
        run.Report(problems, warnings);
        return accepted;
    }

    /// <summary>
    /// In the batch's write transaction, before anything is written (docs/decisions.md #57): the batch's files that exist
    /// are locked (<see cref="RowLocks.LockEachAsync{T}"/>, <c>FOR UPDATE</c> in file-number order on PostgreSQL; SQLite's
    /// transaction already holds the write lock), then the batch is checked again (<see cref="ReconcileAsync"/>, the
    /// same rule) against the store as it is now. An invitation accepted or a file event applied since the first check
    /// committed its member before this read, or waits for this transaction (it locks the same file row): the one-partner
    /// and one-holder rules see it. A batch of files none of which exists yet (a first import) costs the one statement.
    /// </summary>
    /// <remarks>
    /// Every existing file of the batch is locked, not only those that gain a member: the merge updates each of them
    /// anyway (its legacy code, kept), which locks it until the commit, so locking them first adds no wait for anyone,
    /// and in one order, where the merge's own locks came in the CSV's order (two imports of overlapping files could
    /// deadlock). The rows come already reconciled: the second check only drops files, or more of what the store knows
    /// better (its problems and warnings are the ones that are new).
    /// </remarks>
    private async Task<List<List<HouseholdImportRow>>> LockFilesAndCheckAgainAsync(List<List<HouseholdImportRow>> batch, Dictionary<string, int> filesOfThisImport,
        List<ImportProblem> problems, List<ImportProblem> warnings, CancellationToken cancellationToken)
    {
        var existing = await RowLocks.LockEachAsync(db, typeof(Household), nameof(Household.FileNumber), batch.Select(h => h[0].FileNumber).ToList(),
            RowLockMode.Update, cancellationToken);
        return existing == 0 ? batch : await ReconcileAsync(batch, filesOfThisImport, problems, warnings, cancellationToken);
    }

    /// <summary>The rows of <paramref name="batch"/> that <see cref="ImportReconciliation"/> lets through, against the store as read now.</summary>
    private async Task<List<List<HouseholdImportRow>>> ReconcileAsync(List<List<HouseholdImportRow>> batch, Dictionary<string, int> filesOfThisImport,
        List<ImportProblem> problems, List<ImportProblem> warnings, CancellationToken cancellationToken)
    {
        var rows = batch.SelectMany(h => h).ToList();
        var nirs = rows.Where(r => r.Nir is not null).Select(r => r.Nir!).Distinct().ToList();
        var provisionalIds = rows.Where(r => r.ProvisionalId is not null).Select(r => r.ProvisionalId!).Distinct().ToList();
        var fileNumbers = batch.Select(h => h[0].FileNumber).ToList();

        var persons = (await db.Persons.AsNoTracking()
                .Where(p => (p.Nir != null && nirs.Contains(p.Nir)) || (p.ProvisionalId != null && provisionalIds.Contains(p.ProvisionalId)))
                .Select(p => new
                {
                    p.Nir, p.ProvisionalId, p.BirthName, p.GivenNames, p.BirthDate, p.MobilePhone, p.MobilePhoneVerified, p.Email, p.EmailVerified,
                    Files = p.Memberships.Select(m => m.Household!.FileNumber).ToList(),
                })
                .ToListAsync(cancellationToken))
            .Select(p => new StoredPerson(p.Nir ?? p.ProvisionalId!, p.BirthName, p.GivenNames, p.BirthDate, p.MobilePhone, p.MobilePhoneVerified, p.Email, p.EmailVerified, p.Files))
            .ToDictionary(p => p.Key, StringComparer.Ordinal);
        var files = (await db.Households.AsNoTracking()
                .Where(h => fileNumbers.Contains(h.FileNumber))
                .Select(h => new { h.FileNumber, Members = h.Members.Select(m => new { m.Person!.Nir, m.Person.ProvisionalId, m.Role }).ToList() })
                .ToListAsync(cancellationToken))
            .ToDictionary(h => h.FileNumber, h => new StoredFile(h.FileNumber, h.Members.Select(m => new StoredMember(m.Nir ?? m.ProvisionalId, m.Role)).ToList()), StringComparer.Ordinal);
        if (persons.Count == 0 && files.Count == 0)
        {
            return batch;
        }

        var accepted = new List<List<HouseholdImportRow>>(batch.Count);
        foreach (var household in batch)
        {
            if (ImportReconciliation.Reconcile(household, files.GetValueOrDefault(household[0].FileNumber), persons, filesOfThisImport.ContainsKey, problems, warnings) is { } rowsToWrite)
            {
                accepted.Add([.. rowsToWrite]);
            }
        }
        return accepted;
    }

    /// <summary>What one import has done so far, shared by the checker and the writer.</summary>
    private sealed class ImportRun(IProgress<ImportProgress>? progress, long rowsTotal)
    {
        private readonly Lock _progressLock = new();
        private readonly Lock _reportLock = new();
        private long _rowsRead;
        private long _rowsWritten;
        private long _refused;

        private readonly List<ImportProblem> _problems = [];
        private readonly List<ImportProblem> _warnings = [];

        /// <summary>Read once both sides are done.</summary>
        public IReadOnlyList<ImportProblem> Problems => _problems;

        /// <summary>Read once both sides are done.</summary>
        public IReadOnlyList<ImportProblem> Warnings => _warnings;

        public long RowsRead => Interlocked.Read(ref _rowsRead);

        public long RowsWritten => Interlocked.Read(ref _rowsWritten);

        public long HouseholdsWritten { get; private set; }

        public void RowRead() => Interlocked.Increment(ref _rowsRead);

        /// <summary>From both sides: the checker (rows, files) and the writer (what the store knows better).</summary>
        public void Refuse(ImportProblem problem)
        {
            lock (_reportLock)
            {
                _problems.Add(problem);
            }
            Interlocked.Increment(ref _refused);
        }

        public void Warn(ImportProblem warning)
        {
            lock (_reportLock)
            {
                _warnings.Add(warning);
            }
        }

        /// <summary>What a check against the store refused and kept.</summary>
        public void Report(IEnumerable<ImportProblem> problems, IEnumerable<ImportProblem> warnings)
        {
            foreach (var problem in problems)
            {
                Refuse(problem);
            }
            foreach (var warning in warnings)
            {
                Warn(warning);
            }
        }

        public void Written(IReadOnlyList<List<HouseholdImportRow>> batch)
        {
            HouseholdsWritten += batch.Count;
            Interlocked.Add(ref _rowsWritten, batch.Sum(h => h.Count));
        }

        /// <summary>Called from both sides: the callback never runs twice at once.</summary>
        public void Report()
        {
            if (progress is null)
            {
                return;
            }
            lock (_progressLock)
            {
                progress.Report(new ImportProgress(RowsRead, RowsWritten, Interlocked.Read(ref _refused), rowsTotal));
            }
        }
    }

    /// <summary>A file whose last row has not been read yet.</summary>
    private sealed class OpenHousehold
    {
        public List<HouseholdImportRow> Rows { get; } = new(4);

        public int? FirstBadLine { get; set; }

        public static OpenHousehold Of(Dictionary<string, OpenHousehold> open, string fileNumber)
        {
            ref var household = ref CollectionsMarshal.GetValueRefOrAddDefault(open, fileNumber, out _);
            return household ??= new OpenHousehold();
        }
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

    /// <summary>Writes the batch in one transaction, checked again there (<see cref="LockFilesAndCheckAgainAsync"/>); returns what was written.</summary>
    private async Task<List<List<HouseholdImportRow>>> WriteBatchAsync(List<List<HouseholdImportRow>> batch, Dictionary<string, string> legacyHashes,
        Dictionary<string, int> filesOfThisImport, ImportRun run, CancellationToken cancellationToken)
    {
        var problems = new List<ImportProblem>();
        var warnings = new List<ImportProblem>();
        Task<List<List<HouseholdImportRow>>> CheckAgainAsync(CancellationToken ct)
        {
            // A retried transaction checks again from the start: only the attempt that commits reports.
            problems.Clear();
            warnings.Clear();
            return LockFilesAndCheckAgainAsync(batch, filesOfThisImport, problems, warnings, ct);
        }
        var written = storage.Provider == StorageProvider.PostgreSql
            ? await new PostgreSqlBulkWriter(db, clock).WriteAsync(CheckAgainAsync, legacyHashes, cancellationToken)
            : await WriteWithEntityFrameworkAsync(CheckAgainAsync, legacyHashes, cancellationToken);
        run.Report(problems, warnings);
        return written;
    }

    /// <summary>Portable path (SQLite, SQL Server): one transaction and one round of queries per batch of files.</summary>
    private async Task<List<List<HouseholdImportRow>>> WriteWithEntityFrameworkAsync(Func<CancellationToken, Task<List<List<HouseholdImportRow>>>> checkAgain,
        Dictionary<string, string> legacyHashes, CancellationToken cancellationToken)
    {
        // One transaction through the execution strategy (StoreTransactions); each attempt starts from a clean change tracker.
        var written = await db.InTransactionAsync(async ct =>
        {
            db.ChangeTracker.Clear();
            var batch = await checkAgain(ct);
            await ReadAndApplyBatchAsync(batch, legacyHashes, ct);
            return batch;
        }, cancellationToken);
        db.ChangeTracker.Clear();
        return written;
    }

    private async Task ReadAndApplyBatchAsync(IReadOnlyList<List<HouseholdImportRow>> batch, Dictionary<string, string> legacyHashes, CancellationToken cancellationToken)
    {
        var rows = batch.SelectMany(h => h).ToList();
        var nirs = rows.Where(r => r.Nir is not null).Select(r => r.Nir!).Distinct().ToList();
        var provisionalIds = rows.Where(r => r.ProvisionalId is not null).Select(r => r.ProvisionalId!).Distinct().ToList();
        var fileNumbers = batch.Select(h => h[0].FileNumber).ToList();

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
            // A code the check under the lock left out (the file exists by now) is not set, though hashed before.
            if (row.LegacySecret is not null && legacyHashes.TryGetValue(row.FileNumber, out var hash) && row.Role == HouseholdRole.Allocataire)
            {
                household.LegacySecretHash = hash;
            }
            // An existing membership keeps its role: roles change through file events. A new one is added to the set
            // itself: reached through a tracked file's collection, a membership whose key is already set is taken for
            // an existing row (an UPDATE of nothing: DbUpdateConcurrencyException, the whole batch lost).
            if (household.Members.All(m => m.PersonId != person.Id))
            {
                var membership = new HouseholdMembership { HouseholdId = household.Id, Household = household, Person = person, PersonId = person.Id, Role = row.Role, JoinedAt = now };
                db.Memberships.Add(membership);
                if (!household.Members.Contains(membership))
                {
                    household.Members.Add(membership);
                }
            }
        }
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
