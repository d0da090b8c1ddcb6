using System.Data.Common;
using CafConnect.Domain.Accounts;
using CafConnect.Domain.Households;
using CafConnect.Domain.Imports;
using CafConnect.Infrastructure.Households;
using CafConnect.Infrastructure.Imports;
using CafConnect.Infrastructure.Persistence;
using CafConnect.Infrastructure.Security;
using CafConnect.Infrastructure.Tests.Support;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.EntityFrameworkCore;

namespace CafConnect.Infrastructure.Tests.Imports;

[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
public sealed class AccountImporterTests(StoreKind kind)
{
    private const string Header = "file_number,role,nir,provisional_id,civility,birth_name,usage_name,given_names,birth_date,birth_country,birth_city,postal_code,mobile,email,legacy_secret,legacy_secret_format";

    private static readonly Argon2idSecretHasher Hasher = new(new Argon2idOptions { MemoryKiB = 8192, Iterations = 1 });
    private TestDatabase _database = null!;

    [SetUp]
    public async Task CreateStore() => _database = await TestDatabase.CreateAsync(kind);

    [TearDown]
    public async Task DropStore() => await _database.DisposeAsync();

    private async Task<ImportReport> ImportAsync(string csv, bool dryRun = false, int householdsPerBatch = 1000)
    {
        await using var db = _database.NewContext();
        var importer = new AccountImporter(db, Hasher, new StorageSettings(_database.Provider, _database.ConnectionString), TimeProvider.System);
        return await importer.ImportAsync(new StringReader(csv), new ImportOptions(dryRun, householdsPerBatch));
    }

    private const string GoodAndBad = Header + "\n" +
        "0260311,allocataire,2 85 03 75 112 048,,MME,DUPONT,,Jeanne,1985-03-14,FRANCE,PARIS,75011,06 15 00 00 01,jeanne.dupont@example.fr,58231947,plain\n" +
        "0260311,conjoint,1831175115230,,M,DUPONT,,Marc,1983-11-02,FRANCE,LYON,75011,,,,none\n" +
        "0260311,enfant,2 05 01 75 101 002,,MME,DUPONT,,\"Léa, Marie\",2005-01-01,FRANCE,PARIS,75011,,,,none\n" +
        "0999999,allocataire,,p12345678,MME,MORVAN,,Anne,1962-09-09,ALGERIE,ORAN,06000,,anne@example.fr,,none\n" +
        "0888888,allocataire,1 70 01 75 101 001,,M,MARTIN,,Paul,1970-13-45,FRANCE,,,,,,none\n" +
        "0888888,enfant,2 05 01 75 101 003,,MME,MARTIN,,Lou,2005-01-01,FRANCE,,,,,,none\n" +
        "0777777,conjoint,1 70 01 75 101 004,,M,SEUL,,Jean,1970-01-01,FRANCE,,,,,,none\n" +
        "12345,allocataire,1 70 01 75 101 005,,M,COURT,,Numéro,1970-01-01,FRANCE,,,,,,none\n";

    [Test]
    public async Task Good_files_are_imported_and_bad_rows_refuse_their_whole_file_with_line_and_reason()
    {
        var report = await ImportAsync(GoodAndBad);

        await using var db = _database.NewContext();
        var files = await db.Households.Include(h => h.Members).ThenInclude(m => m.Person).OrderBy(h => h.FileNumber).ToListAsync();
        Assert.Multiple(() =>
        {
            Assert.That(report.RowsRead, Is.EqualTo(8));
            Assert.That(report.RowsImported, Is.EqualTo(4));
            Assert.That(files.Select(f => f.FileNumber), Is.EqualTo(new[] { "0260311", "0999999" }));
            Assert.That(files[0].Members.Select(m => m.Role), Is.EquivalentTo(new[] { HouseholdRole.Allocataire, HouseholdRole.Conjoint, HouseholdRole.Enfant }));
            Assert.That(files[0].Members.Single(m => m.Role == HouseholdRole.Enfant).Person!.GivenNames, Is.EqualTo("Léa, Marie"));
            Assert.That(files[1].Members.Single().Person!.ProvisionalId, Is.EqualTo("P12345678"));
            Assert.That(files[0].Members.Single(m => m.Role == HouseholdRole.Allocataire).Person!.MobilePhone, Is.EqualTo("+33615000001"));

            var reasons = report.Problems.Select(p => $"{p.Line}: {p.Reason}").ToList();
            Assert.That(reasons, Has.Some.StartsWith("6: birth_date"), "the bad row, with its line");
            Assert.That(reasons, Has.Some.StartsWith("7: dossier 0888888 non importé"), "its file's other row, refused with it");
            Assert.That(reasons, Has.Some.StartsWith("8: dossier 0777777 : 0 allocataire"), "a file without a holder");
            Assert.That(reasons, Has.Some.StartsWith("9: file_number"), "a bad file number");
        });
    }

    [Test]
    public async Task A_plain_legacy_code_is_stored_only_as_an_Argon2id_hash_that_verifies()
    {
        await ImportAsync(GoodAndBad);

        await using var db = _database.NewContext();
        var hash = await db.Households.Where(h => h.FileNumber == "0260311").Select(h => h.LegacySecretHash).SingleAsync();
        Assert.That(hash, Does.StartWith("$argon2id$").And.Not.Contain("58231947"));
        Assert.That(Hasher.Verify("58231947", hash!), Is.Not.EqualTo(SecretVerification.Failed));
    }

    [Test]
    public async Task A_rerun_changes_nothing_and_creates_no_duplicate()
    {
        await ImportAsync(GoodAndBad);
        await using (var before = _database.NewContext())
        {
            var ids = await before.Persons.OrderBy(p => p.Nir).Select(p => new { p.Id, p.Subject }).ToListAsync();
            await ImportAsync(GoodAndBad, householdsPerBatch: 1);

            await using var after = _database.NewContext();
            Assert.That(await after.Persons.OrderBy(p => p.Nir).Select(p => new { p.Id, p.Subject }).ToListAsync(), Is.EqualTo(ids), "same persons, same subjects");
            Assert.That(await after.Households.CountAsync(), Is.EqualTo(2));
            Assert.That(await after.Memberships.CountAsync(), Is.EqualTo(4));
        }
    }

    [Test]
    public async Task A_rerun_updates_civil_status_and_a_changed_contact_loses_its_verification_but_never_replaces_a_verified_one()
    {
        await ImportAsync(GoodAndBad);
        await using (var db = _database.NewContext())
        {
            var jeanne = await db.Persons.SingleAsync(p => p.Nir == "2850375112048");
            jeanne.MobilePhoneVerified = true;
            await db.SaveChangesAsync();
        }

        var changed = GoodAndBad.Replace("06 15 00 00 01,jeanne.dupont@example.fr", "06 15 00 00 01,jeanne.nouvelle@example.fr").Replace(",DUPONT,,Jeanne,", ",DUPONT,MARTIN,Jeanne,");
        await ImportAsync(changed);
        await using (var db = _database.NewContext())
        {
            var jeanne = await db.Persons.SingleAsync(p => p.Nir == "2850375112048");
            Assert.Multiple(() =>
            {
                Assert.That(jeanne.UsageName, Is.EqualTo("MARTIN"));
                Assert.That(jeanne.MobilePhoneVerified, Is.True, "same mobile: still verified");
                Assert.That(jeanne.Email, Is.EqualTo("jeanne.nouvelle@example.fr"));
                Assert.That(jeanne.EmailVerified, Is.False, "a new e-mail must be verified again");
            });
            jeanne.EmailVerified = true;
            await db.SaveChangesAsync();
        }

        // Once the person proved it, an export's other address never replaces it.
        var report = await ImportAsync(changed.Replace("jeanne.nouvelle@example.fr", "jeanne.ancienne@example.fr"));
        await using var check = _database.NewContext();
        var updated = await check.Persons.SingleAsync(p => p.Nir == "2850375112048");
        Assert.That((updated.Email, updated.EmailVerified), Is.EqualTo(("jeanne.nouvelle@example.fr", true)));
        Assert.That(report.Warnings.Select(w => w.Reason), Does.Contain(CafConnect.Domain.Imports.ImportReconciliation.VerifiedEmailKept));
    }

    [Test]
    public async Task A_dry_run_reports_and_writes_nothing()
    {
        var report = await ImportAsync(GoodAndBad, dryRun: true);

        await using var db = _database.NewContext();
        Assert.That(report.RowsImported, Is.EqualTo(4), "rows that would be imported");
        Assert.That(report.Problems, Has.Count.EqualTo(4));
        Assert.That(await db.Persons.CountAsync(), Is.Zero);
    }

    [Test]
    public async Task A_wrong_header_is_refused_before_any_row()
    {
        var report = await ImportAsync("file_number,role,nir\n0260311,allocataire,2850375112048\n");

        Assert.That(report.Problems.Single().Reason, Does.StartWith("l'en-tête doit être exactement"));
        Assert.That(report.RowsRead, Is.Zero);
    }

    [Test]
    public async Task An_existing_legacy_code_against_today_s_rules_is_imported_with_a_warning()
    {
        // 14031985 is the holder's birth date (DDMMYYYY): refused for a new code, kept for an existing one.
        var report = await ImportAsync(GoodAndBad.Replace("58231947,plain", "14031985,plain"));

        Assert.That(report.Warnings.Single().Line, Is.EqualTo(2));
        Assert.That(report.Warnings.Single().Reason, Does.Contain("contraire aux règles"));
    }

    // --- Two passes and a writer running alongside the checker (households per batch kept small to get many batches) ---

    /// <summary>A file of <paramref name="files"/> households of two valid persons each (holder and partner).</summary>
    private static string Households(int files, int firstFile = 1_000_001)
    {
        var text = new System.Text.StringBuilder(Header).Append('\n');
        for (var i = 0; i < files; i++)
        {
            text.Append(HouseholdRows(firstFile + i));
        }
        return text.ToString();
    }

    private static string HouseholdRows(int file) =>
        $"{file % 10_000_000:D7},allocataire,{PersonNir(file, 1)},,M,NOM,,PAUL,1970-01-01,FRANCE,,,,,,none\n" +
        $"{file % 10_000_000:D7},conjoint,{PersonNir(file, 2)},,MME,NOM,,LUCIE,1972-02-02,FRANCE,,,,,,none\n";

    /// <summary>A valid NIR (13 characters), distinct for each file below 999 and each sex.</summary>
    private static string PersonNir(int file, int sex) => $"{sex}700175101{file % 999 + 1:D3}";

    private async Task<List<(string File, int Members)>> FilesInStoreAsync()
    {
        await using var db = _database.NewContext();
        return (await db.Households.Select(h => new { h.FileNumber, Members = h.Members.Count }).ToListAsync())
            .Select(h => (h.FileNumber, h.Members)).OrderBy(h => h.FileNumber).ToList();
    }

    [Test]
    public async Task A_file_whose_rows_are_apart_is_imported_whole_when_it_is_complete()
    {
        // File 0000001's partner comes after two other files; one file per batch, so the writer runs meanwhile.
        var rows = HouseholdRows(1).Split('\n');
        var csv = Header + "\n" + rows[0] + "\n" + HouseholdRows(2) + HouseholdRows(3) + rows[1] + "\n";

        var report = await ImportAsync(csv, householdsPerBatch: 1);

        Assert.That(report.Problems, Is.Empty);
        Assert.That(await FilesInStoreAsync(), Is.EqualTo(new[] { ("0000001", 2), ("0000002", 2), ("0000003", 2) }));
    }

    [Test]
    public async Task A_bad_last_row_refuses_its_file_although_its_first_row_came_batches_before()
    {
        var rows = HouseholdRows(1).Split('\n');
        var badPartner = rows[1].Replace("1972-02-02", "1972-02-31");
        var csv = Header + "\n" + rows[0] + "\n" + Households(40, firstFile: 2)[(Header.Length + 1)..] + badPartner + "\n";

        var report = await ImportAsync(csv, householdsPerBatch: 1);

        var files = await FilesInStoreAsync();
        Assert.Multiple(() =>
        {
            Assert.That(files.Select(f => f.File), Does.Not.Contain("0000001"), "nothing of the refused file, not even its good first row");
            Assert.That(files, Has.Count.EqualTo(40).And.All.Matches<(string File, int Members)>(f => f.Members == 2));
            Assert.That(report.Problems.Select(p => $"{p.Line}: {p.Reason}"), Is.EqualTo(new[]
            {
                "2: dossier 0000001 non importé : sa ligne 83 est invalide",
                "83: birth_date : date attendue au format AAAA-MM-JJ, entre 1900 et aujourd'hui",
            }));
        });
    }

    [Test]
    public async Task When_writing_fails_the_import_stops_with_the_writer_s_error_and_leaves_only_whole_files()
    {
        await using var db = _database.NewContext();
        var importer = new AccountImporter(db, Hasher, new StorageSettings(_database.Provider, _database.ConnectionString), TimeProvider.System);
        // The progress callback runs on the writing side after each batch: failing there is a failing writer.
        var failingWriter = new SynchronousProgress(p =>
        {
            if (p.RowsWritten >= 20)
            {
                throw new InvalidOperationException("the store went away");
            }
        });

        var failure = Assert.ThrowsAsync<InvalidOperationException>(() =>
            importer.ImportAsync(new StringReader(Households(300)), new ImportOptions(HouseholdsPerBatch: 2), failingWriter));

        Assert.That(failure!.Message, Is.EqualTo("the store went away"), "the writer's own error, not the cancellation it caused");
        var files = await FilesInStoreAsync();
        Assert.That(files, Has.Count.InRange(10, 299).And.All.Matches<(string File, int Members)>(f => f.Members == 2));
    }

    [Test]
    public async Task When_reading_fails_midway_the_import_stops_with_the_reader_s_error_and_leaves_only_whole_files()
    {
        var csv = Households(300);
        var opened = 0;
        await using var db = _database.NewContext();
        var importer = new AccountImporter(db, Hasher, new StorageSettings(_database.Provider, _database.ConnectionString), TimeProvider.System);

        // The first, quick pass reads the whole file; the disk fails halfway through the second.
        var failure = Assert.ThrowsAsync<IOException>(() => importer.ImportAsync(
            () => ++opened == 1 ? new StringReader(csv) : new FailingReader(csv, failAt: csv.Length / 2),
            new ImportOptions(HouseholdsPerBatch: 2)));

        Assert.That(failure!.Message, Is.EqualTo("disk read error"));
        var files = await FilesInStoreAsync();
        Assert.That(files, Has.Count.LessThan(300).And.All.Matches<(string File, int Members)>(f => f.Members == 2));
    }

    [Test]
    public async Task A_file_that_changes_between_the_two_passes_stops_the_import()
    {
        var first = Households(3);
        var changed = first + HouseholdRows(1).Split('\n')[1] + "\n";
        var opened = 0;
        await using var db = _database.NewContext();
        var importer = new AccountImporter(db, Hasher, new StorageSettings(_database.Provider, _database.ConnectionString), TimeProvider.System);

        var failure = Assert.ThrowsAsync<InvalidOperationException>(() => importer.ImportAsync(
            () => new StringReader(++opened == 1 ? first : changed), new ImportOptions(HouseholdsPerBatch: 1)));

        Assert.That(failure!.Message, Does.StartWith("le fichier a changé pendant l'import"));
    }

    [Test]
    public async Task A_cancelled_import_stops_between_batches_and_leaves_only_whole_files()
    {
        using var cancellation = new CancellationTokenSource();
        await using var db = _database.NewContext();
        var importer = new AccountImporter(db, Hasher, new StorageSettings(_database.Provider, _database.ConnectionString), TimeProvider.System);
        var cancelAfterFirstBatch = new SynchronousProgress(p =>
        {
            if (p.RowsWritten > 0)
            {
                cancellation.Cancel();
            }
        });

        Assert.That(() => importer.ImportAsync(new StringReader(Households(300)), new ImportOptions(HouseholdsPerBatch: 5), cancelAfterFirstBatch, cancellation.Token),
            Throws.InstanceOf<OperationCanceledException>());

        var files = await FilesInStoreAsync();
        Assert.That(files, Has.Count.InRange(5, 299).And.All.Matches<(string File, int Members)>(f => f.Members == 2));
    }

    [Test]
    public async Task Progress_counts_the_rows_of_the_file_read_and_written()
    {
        await using var db = _database.NewContext();
        var importer = new AccountImporter(db, Hasher, new StorageSettings(_database.Provider, _database.ConnectionString), TimeProvider.System);
        var reports = new List<ImportProgress>();

        var report = await importer.ImportAsync(new StringReader(GoodAndBad), new ImportOptions(HouseholdsPerBatch: 1), new SynchronousProgress(reports.Add));

        Assert.That(report.RowsImported, Is.EqualTo(4));
        Assert.That(reports, Has.All.Matches<ImportProgress>(p => p.RowsTotal == 8));
        Assert.That(reports.Last().RowsWritten, Is.EqualTo(4));
        Assert.That(reports.Select(p => p.RowsWritten), Is.Ordered);
    }

    private const string Holder = "0260311,allocataire,2 85 03 75 112 048,,MME,DUPONT,,Jeanne,1985-03-14,FRANCE,PARIS,75011,,,,none";
    private const string Partner = "0260311,conjoint,1831175115230,,M,DUPONT,,Marc,1983-11-02,FRANCE,LYON,75011,,,,none";

    /// <summary>
    /// The import adds a partner to an existing file while a partner invitation of that file is being accepted
    /// (docs/decisions.md #57). The import checked the one-partner rule against the store before its batch's transaction,
    /// without a lock, and wrote whatever had committed since: the file ended with two partners. It now checks again in
    /// the transaction, after locking the batch's existing files.
    /// </summary>
    /// <param name="inFlight">
    /// False: the acceptance commits when the import's batch transaction is about to start (after the import's first
    /// check). True: it commits half a second later, while the batch's transaction waits (PostgreSQL: the file's row
    /// lock; SQLite: the write lock).
    /// </param>
    [TestCase(false)]
    [TestCase(true)]
    public async Task A_partner_imported_while_a_partner_invitation_of_the_file_is_accepted_leaves_the_file_one_partner(bool inFlight)
    {
        Assert.That((await ImportAsync(Header + "\n" + Holder + "\n")).Problems, Is.Empty, "set-up: the file and its holder imported");
        Guid invitee;
        Guid invitationId;
        await using (var db = _database.NewContext())
        {
            var file = await db.Households.Include(h => h.Members).SingleAsync(h => h.FileNumber == "0260311");
            var person = new PersonAccount { BirthName = "MARTIN", GivenNames = "Hugo", BirthDate = new DateOnly(1988, 3, 4), ProvisionalId = "P98765432" };
            var invited = new HouseholdInvitation
            {
                HouseholdId = file.Id, Role = HouseholdRole.Conjoint, BirthName = "Martin", GivenNames = "Hugo", BirthDate = new DateOnly(1988, 3, 4),
                Contact = "hugo.martin@example.fr", InvitedByPersonId = file.Members.Single().PersonId, CreatedAt = DateTimeOffset.UtcNow,
                ExpiresAt = DateTimeOffset.UtcNow + HouseholdInvitation.Lifetime,
            };
            db.Persons.Add(person);
            db.HouseholdInvitations.Add(invited);
            await db.SaveChangesAsync();
            (invitee, invitationId) = (person.Id, invited.Id);
        }

        // The acceptance, as its answer's transaction makes it (decision 54): the file's row locked, the invitation
        // accepted, the partner's membership written — not committed before the import has made its first check.
        await using var answer = _database.NewContext();
        IDbContextTransaction? transaction = null;
        await answer.Database.CreateExecutionStrategy().ExecuteAsync(async () =>
        {
            transaction = await answer.Database.BeginTransactionAsync();
            var now = DateTimeOffset.UtcNow;
            var invitation = InvitationAsRead.Of(await answer.HouseholdInvitations.AsNoTracking().SingleAsync(i => i.Id == invitationId));
            Assert.That(await HouseholdInvitationAnswers.TryAcceptAsync(answer, invitation, invitee, now, default), Is.True, "set-up: the invitation is accepted");
            answer.Memberships.Add(new HouseholdMembership { HouseholdId = invitation.HouseholdId, PersonId = invitee, Role = HouseholdRole.Conjoint, JoinedAt = now });
            await answer.SaveChangesAsync();
        });
        var answerCommitted = Task.CompletedTask;
        var hook = new BeforeTheBatchTransaction(async () =>
        {
            answerCommitted = inFlight ? Task.Run(async () => { await Task.Delay(500); await transaction!.CommitAsync(); }) : transaction!.CommitAsync();
            await (inFlight ? Task.CompletedTask : answerCommitted);
        });

        ImportReport report;
        await using (var db = _database.NewContext(hook))
        {
            var importer = new AccountImporter(db, Hasher, new StorageSettings(_database.Provider, _database.ConnectionString), TimeProvider.System);
            report = await importer.ImportAsync(new StringReader(Header + "\n" + Holder + "\n" + Partner + "\n"), new ImportOptions());
        }
        await answerCommitted;
        await transaction!.DisposeAsync();

        Assert.That(hook.Fired, Is.True, "set-up: the acceptance committed between the import's first check and its write");
        await using var check = _database.NewContext();
        Assert.Multiple(async () =>
        {
            Assert.That(await check.Memberships.Where(m => m.Household!.FileNumber == "0260311" && m.Role == HouseholdRole.Conjoint).Select(m => m.PersonId).ToListAsync(),
                Is.EqualTo(new[] { invitee }), "one partner: the invitation's");
            Assert.That(await check.Persons.AnyAsync(p => p.Nir == "1831175115230"), Is.False, "nothing of the refused file is written");
            Assert.That(report.Problems.Select(p => $"{p.Line}: {p.Reason}"),
                Does.Contain($"3: dossier 0260311 non importé : {ImportReconciliation.FileHasPartner}"), "refused, with its line and reason");
            Assert.That(report.RowsImported, Is.Zero);
        });
    }

    /// <summary>Runs an action once, when the import is about to start a batch's write transaction (after its first check).</summary>
    private sealed class BeforeTheBatchTransaction(Func<Task> action) : DbTransactionInterceptor
    {
        private Func<Task>? _action = action;

        public bool Fired { get; private set; }

        public override async ValueTask<InterceptionResult<DbTransaction>> TransactionStartingAsync(DbConnection connection, TransactionStartingEventData eventData,
            InterceptionResult<DbTransaction> result, CancellationToken cancellationToken = default)
        {
            if (Interlocked.Exchange(ref _action, null) is { } armed)
            {
                await armed();
                Fired = true;
            }
            return result;
        }
    }

    private sealed class SynchronousProgress(Action<ImportProgress> report) : IProgress<ImportProgress>
    {
        public void Report(ImportProgress value) => report(value);
    }

    /// <summary>Serves <paramref name="text"/> a little at a time and fails at <paramref name="failAt"/>.</summary>
    private sealed class FailingReader(string text, int failAt) : TextReader
    {
        private int _position;

        public override int Read(char[] buffer, int index, int count) => Read(buffer.AsSpan(index, count));

        public override int Read(Span<char> buffer)
        {
            if (_position >= failAt)
            {
                throw new IOException("disk read error");
            }
            var count = Math.Min(Math.Min(buffer.Length, 1000), text.Length - _position);
            text.AsSpan(_position, count).CopyTo(buffer);
            _position += count;
            return count;
        }

        public override ValueTask<int> ReadAsync(Memory<char> buffer, CancellationToken cancellationToken = default) => ValueTask.FromResult(Read(buffer.Span));
    }
}
