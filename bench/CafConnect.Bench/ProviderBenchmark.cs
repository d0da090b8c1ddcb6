using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using CafConnect.Domain.Accounts;
using CafConnect.Domain.Households;
using CafConnect.Infrastructure.Persistence;
using CafConnect.Infrastructure.Security;
using Microsoft.EntityFrameworkCore;
using Npgsql;

/// <summary>
/// The provider benchmark's C# parts (bench/run.sh runs them; issue #14): seeding persons straight into PostgreSQL,
/// signing them in through the real pages (logins/s, server CPU per login, memory and storage per session, one
/// refresh token per session for the refresh grant runs), and the report (JSON, README table, plots).
/// </summary>
public static partial class ProviderBenchmark
{
    public const string Password = "Vacances9Bretagne";

    /// <summary>
    /// Adds persons <paramref name="from"/>..<paramref name="from"/>+<paramref name="count"/>-1, each the holder of a file of their own
    /// with nothing pending at login (terms accepted, e-mail verified, delegation answered), with one binary COPY per
    /// table (persons, files, memberships; as the import's PostgreSQL path). One Argon2id hash serves every person (it
    /// carries its own salt): the login still verifies it at full cost, seeding does not pay it a million times.
    /// With <paramref name="tokens"/> &gt; 0, also that many token rows spread over the new persons, as sign-ins leave
    /// them (<see cref="SeedTokensAsync"/>).
    /// </summary>
    public static async Task SeedAsync(string connectionString, int from, int count, long tokens = 0)
    {
        var watch = Stopwatch.StartNew();
        var hash = new Argon2idSecretHasher(new Argon2idOptions()).Hash(Password);
        var now = DateTimeOffset.UtcNow;
        var subjects = new string[count];
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        int terms;
        await using (var latest = new NpgsqlCommand("SELECT MAX(\"Version\") FROM \"TermsOfUse\"", connection))
        {
            terms = await latest.ExecuteScalarAsync() is int version ? version : 1;
        }
        const int Chunk = 50_000;
        for (var chunkStart = 0; chunkStart < count; chunkStart += Chunk)
        {
            var size = Math.Min(Chunk, count - chunkStart);
            var personIds = new Guid[size];
            var fileIds = new Guid[size];
            await using (var persons = await connection.BeginBinaryImportAsync(
                "COPY \"Persons\" (\"Id\", \"Subject\", \"Nir\", \"Civility\", \"BirthName\", \"GivenNames\", \"Email\", \"EmailVerified\", \"MobilePhoneVerified\", " +
                "\"PasswordHash\", \"CredentialKind\", \"PasswordSetAt\", \"CreatedAt\", \"AcceptedTermsVersion\", \"TermsAcceptedAt\", \"ConcurrencyStamp\") FROM STDIN (FORMAT BINARY)"))
            {
                for (var k = 0; k < size; k++)
                {
                    var i = from + chunkStart + k;
                    personIds[k] = Guid.CreateVersion7();
                    subjects[chunkStart + k] = PersonAccount.NewSubject();
                    await persons.StartRowAsync();
                    await persons.WriteAsync(personIds[k], NpgsqlTypes.NpgsqlDbType.Uuid);
                    await persons.WriteAsync(subjects[chunkStart + k], NpgsqlTypes.NpgsqlDbType.Varchar);
                    await persons.WriteAsync(Nir(i), NpgsqlTypes.NpgsqlDbType.Varchar);
                    await persons.WriteAsync((int)Civility.Unknown, NpgsqlTypes.NpgsqlDbType.Integer);
                    await persons.WriteAsync(string.Create(CultureInfo.InvariantCulture, $"BENCH{i:D7}"), NpgsqlTypes.NpgsqlDbType.Varchar);
                    await persons.WriteAsync("Personne", NpgsqlTypes.NpgsqlDbType.Varchar);
                    await persons.WriteAsync(string.Create(CultureInfo.InvariantCulture, $"bench{i}@example.test"), NpgsqlTypes.NpgsqlDbType.Varchar);
                    await persons.WriteAsync(true, NpgsqlTypes.NpgsqlDbType.Boolean);
                    await persons.WriteAsync(false, NpgsqlTypes.NpgsqlDbType.Boolean);
                    await persons.WriteAsync(hash, NpgsqlTypes.NpgsqlDbType.Varchar);
                    await persons.WriteAsync((int)CredentialKind.Personal, NpgsqlTypes.NpgsqlDbType.Integer);
                    await persons.WriteAsync(now, NpgsqlTypes.NpgsqlDbType.TimestampTz);
                    await persons.WriteAsync(now, NpgsqlTypes.NpgsqlDbType.TimestampTz);
                    await persons.WriteAsync(terms, NpgsqlTypes.NpgsqlDbType.Integer);
                    await persons.WriteAsync(now, NpgsqlTypes.NpgsqlDbType.TimestampTz);
                    await persons.WriteAsync(Guid.NewGuid(), NpgsqlTypes.NpgsqlDbType.Uuid);
                }
                await persons.CompleteAsync();
            }
            await using (var files = await connection.BeginBinaryImportAsync(
                "COPY \"Households\" (\"Id\", \"FileNumber\", \"CreatedAt\", \"Pending\") FROM STDIN (FORMAT BINARY)"))
            {
                for (var k = 0; k < size; k++)
                {
                    fileIds[k] = Guid.CreateVersion7();
                    await files.StartRowAsync();
                    await files.WriteAsync(fileIds[k], NpgsqlTypes.NpgsqlDbType.Uuid);
                    await files.WriteAsync((3_000_000 + from + chunkStart + k).ToString(CultureInfo.InvariantCulture), NpgsqlTypes.NpgsqlDbType.Varchar);
                    await files.WriteAsync(now, NpgsqlTypes.NpgsqlDbType.TimestampTz);
                    await files.WriteAsync(false, NpgsqlTypes.NpgsqlDbType.Boolean);
                }
                await files.CompleteAsync();
            }
            await using (var members = await connection.BeginBinaryImportAsync(
                "COPY \"HouseholdMemberships\" (\"Id\", \"HouseholdId\", \"PersonId\", \"Role\", \"Delegated\", \"JoinedAt\", \"DelegationChoiceAt\") FROM STDIN (FORMAT BINARY)"))
            {
                for (var k = 0; k < size; k++)
                {
                    await members.StartRowAsync();
                    await members.WriteAsync(Guid.CreateVersion7(), NpgsqlTypes.NpgsqlDbType.Uuid);
                    await members.WriteAsync(fileIds[k], NpgsqlTypes.NpgsqlDbType.Uuid);
                    await members.WriteAsync(personIds[k], NpgsqlTypes.NpgsqlDbType.Uuid);
                    await members.WriteAsync((int)HouseholdRole.Allocataire, NpgsqlTypes.NpgsqlDbType.Integer);
                    await members.WriteAsync(false, NpgsqlTypes.NpgsqlDbType.Boolean);
                    await members.WriteAsync(now, NpgsqlTypes.NpgsqlDbType.TimestampTz);
                    await members.WriteAsync(now, NpgsqlTypes.NpgsqlDbType.TimestampTz);
                }
                await members.CompleteAsync();
            }
        }
        Console.WriteLine($"seeded {count} persons in {watch.Elapsed.TotalSeconds:F1} s");
        if (tokens > 0)
        {
            await SeedTokensAsync(connection, subjects, tokens);
        }
    }

    /// <summary>
    /// Token rows as sign-ins leave them, spread over <paramref name="subjects"/>: the authorizations of the last real
    /// sign-ins (with their tokens: code, access, identity, refresh) serve as templates; each person gets copies of whole
    /// sign-ins (a new authorization and its tokens, new identifiers, the person's subject) until their share of
    /// <paramref name="tokens"/> is reached. The payloads are the templates' (same sizes); no one can redeem them.
    /// Needs at least one sign-in in the store (run.sh seeds the large store after the sessions' sign-ins).
    /// </summary>
    private static async Task SeedTokensAsync(NpgsqlConnection connection, string[] subjects, long tokens)
    {
        var watch = Stopwatch.StartNew();
        var templates = new List<(object?[] Authorization, List<object?[]> Tokens)>();
        string[] authorizationColumns, tokenColumns;
        await using (var command = new NpgsqlCommand("""
            SELECT a.* FROM "OpenIddictAuthorizations" a
            WHERE EXISTS (SELECT 1 FROM "OpenIddictTokens" t WHERE t."AuthorizationId" = a."Id" AND t."Type" LIKE '%refresh_token')
            ORDER BY a."CreationDate" DESC LIMIT 16
            """, connection))
        await using (var reader = await command.ExecuteReaderAsync())
        {
            authorizationColumns = Enumerable.Range(0, reader.FieldCount).Select(reader.GetName).ToArray();
            while (await reader.ReadAsync())
            {
                var row = new object?[reader.FieldCount];
                for (var c = 0; c < row.Length; c++) row[c] = reader.IsDBNull(c) ? null : reader.GetValue(c);
                templates.Add((row, []));
            }
        }
        if (templates.Count == 0)
        {
            throw new InvalidOperationException("no sign-in in the store to copy tokens from: sign someone in first");
        }
        var authorizationId = Array.IndexOf(authorizationColumns, "Id");
        await using (var command = new NpgsqlCommand("""SELECT * FROM "OpenIddictTokens" WHERE "AuthorizationId" = ANY(@ids) ORDER BY "CreationDate" """, connection))
        {
            command.Parameters.AddWithValue("ids", templates.Select(t => (string)t.Authorization[authorizationId]!).ToArray());
            await using var reader = await command.ExecuteReaderAsync();
            tokenColumns = Enumerable.Range(0, reader.FieldCount).Select(reader.GetName).ToArray();
            while (await reader.ReadAsync())
            {
                var row = new object?[reader.FieldCount];
                for (var c = 0; c < row.Length; c++) row[c] = reader.IsDBNull(c) ? null : reader.GetValue(c);
                templates.First(t => Equals(t.Authorization[authorizationId], row[Array.IndexOf(tokenColumns, "AuthorizationId")])).Tokens.Add(row);
            }
        }
        string Copy(string table, string[] columns) => $"COPY \"{table}\" ({string.Join(", ", columns.Select(c => $"\"{c}\""))}) FROM STDIN (FORMAT BINARY)";
        static async Task WriteRowAsync(NpgsqlBinaryImporter importer, object?[] row)
        {
            await importer.StartRowAsync();
            foreach (var value in row)
            {
                switch (value)
                {
                    case null: await importer.WriteNullAsync(); break;
                    case DateTime instant: await importer.WriteAsync(instant, NpgsqlTypes.NpgsqlDbType.TimestampTz); break;
                    case string text: await importer.WriteAsync(text, NpgsqlTypes.NpgsqlDbType.Text); break;
                    default: throw new InvalidOperationException($"unexpected column type {value.GetType()}");
                }
            }
        }
        int Column(string[] columns, string name) => Array.IndexOf(columns, name);
        var (aSubject, aConcurrency) = (Column(authorizationColumns, "Subject"), Column(authorizationColumns, "ConcurrencyToken"));
        var (tId, tAuthorization, tSubject, tConcurrency, tReference) = (Column(tokenColumns, "Id"), Column(tokenColumns, "AuthorizationId"),
            Column(tokenColumns, "Subject"), Column(tokenColumns, "ConcurrencyToken"), Column(tokenColumns, "ReferenceId"));
        var written = 0L;
        var authorizations = 0L;
        const int Chunk = 20_000;
        for (var chunkStart = 0; chunkStart < subjects.Length && written < tokens; chunkStart += Chunk)
        {
            var authorizationRows = new List<object?[]>();
            var tokenRows = new List<object?[]>();
            for (var p = chunkStart; p < Math.Min(subjects.Length, chunkStart + Chunk); p++)
            {
                // Person p's share: the tokens left divided among the persons left.
                var share = (tokens - written - tokenRows.Count) / (subjects.Length - p);
                var t = p;
                while (share > 0)
                {
                    var (authorization, templateTokens) = templates[t++ % templates.Count];
                    var newAuthorization = (object?[])authorization.Clone();
                    // Time-ordered ids, as the provider gives them (docs/decisions.md #58).
                    newAuthorization[authorizationId] = Guid.CreateVersion7().ToString();
                    newAuthorization[aSubject] = subjects[p];
                    if (aConcurrency >= 0) newAuthorization[aConcurrency] = Guid.NewGuid().ToString();
                    authorizationRows.Add(newAuthorization);
                    foreach (var token in templateTokens.Take((int)Math.Min(share, templateTokens.Count)))
                    {
                        var row = (object?[])token.Clone();
                        row[tId] = Guid.CreateVersion7().ToString();
                        row[tAuthorization] = newAuthorization[authorizationId];
                        row[tSubject] = subjects[p];
                        if (tConcurrency >= 0) row[tConcurrency] = Guid.NewGuid().ToString();
                        if (tReference >= 0 && row[tReference] is not null) row[tReference] = Base64Url(RandomNumberGenerator.GetBytes(32));
                        tokenRows.Add(row);
                        share--;
                    }
                    if (templateTokens.Count == 0) break;
                }
            }
            await using (var importer = await connection.BeginBinaryImportAsync(Copy("OpenIddictAuthorizations", authorizationColumns)))
            {
                foreach (var row in authorizationRows) await WriteRowAsync(importer, row);
                await importer.CompleteAsync();
            }
            await using (var importer = await connection.BeginBinaryImportAsync(Copy("OpenIddictTokens", tokenColumns)))
            {
                foreach (var row in tokenRows) await WriteRowAsync(importer, row);
                await importer.CompleteAsync();
            }
            written += tokenRows.Count;
            authorizations += authorizationRows.Count;
        }
        Console.WriteLine($"seeded {written} tokens in {authorizations} authorizations (templates: {templates.Count} sign-ins) in {watch.Elapsed.TotalSeconds:F1} s");
    }

    /// <summary>Unique valid NIRs (commune 997, no demo person's): order 001-999, then month and year of birth.</summary>
    public static string Nir(int i)
    {
        var order = i % 999 + 1;
        var month = i / 999 % 12 + 1;
        var year = i / (999 * 12) % 100;
        var department = 10 + i / (999 * 12 * 100) % 80;
        var body = string.Create(CultureInfo.InvariantCulture, $"{1 + i % 2}{year:D2}{month:D2}{department:D2}997{order:D3}");
        return body;
    }

    public sealed record LoginSettings(Uri Provider, string ClientId, string? ClientSecret, string RedirectUri, int From, int Count, int Concurrency, int ProviderPid,
        string? Postgres, string TokensFile, string ResultFile, string Label, double WarmUpSeconds = 0, int? LoginPostConcurrency = null, string? PerfControl = null)
    {
        /// <summary>Login POSTs in flight during each batch's second phase (the issue's "logins"); the other phases run at <see cref="Concurrency"/>.</summary>
        public int PostConcurrency => LoginPostConcurrency ?? Concurrency;
    }

    /// <summary>A sign-in between its phases: the browser's cookies, the login form, the PKCE verifier, where the POST sent it.</summary>
    private sealed class SignInState(int person)
    {
        public int Person { get; } = person;
        public Dictionary<string, string> Cookies { get; } = new(StringComparer.Ordinal);
        public string Verifier { get; } = Base64Url(RandomNumberGenerator.GetBytes(32));
        public string Action { get; set; } = "";
        public string Antiforgery { get; set; } = "";
        public Uri? AfterLogin { get; set; }
        public bool Failed { get; set; }
    }

    /// <summary>The three phases of a sign-in, measured apart: the login POST (the Argon2id verification) alone in the middle.</summary>
    private enum Phase { Pages, LoginPost, CodeAndToken }

    /// <summary>
    /// Persons per batch: each phase of a batch runs for all its sign-ins before the next phase starts. The login POST
    /// phase is the issue's login rate (POSTs completed / the phase's wall time): it must last long enough that its
    /// start (every worker starting at once) and its end (the last POSTs finishing while the other workers have nothing
    /// left) are a small part of it. 250 per core: 4 to 5 s of POSTs at the hashing limit (16.5–19 ms of CPU per Argon2id
    /// verification in the quiet runs), where the end's idle time (under one POST per worker) is well under 1 %.
    /// </summary>
    private static readonly int BatchSize = 250 * Environment.ProcessorCount;

    /// <summary>
    /// Signs persons From..From+Count-1 in, Concurrency at a time: authorize → login page → login POST → authorize → token,
    /// in batches whose three phases (pages; login POST; authorize + token) run one after the other, so that the provider's
    /// CPU (/proc/&lt;pid&gt;/stat) is read around the login POSTs alone as well as around the whole sign-ins, and the login
    /// POSTs' own rate is taken (PostConcurrency of them in flight: run.sh gives the hashing limit's parallelism).
    /// With WarmUpSeconds, first signs the same persons in (unmeasured) until the rate of consecutive batches is stable
    /// (the tiered JIT still compiles during the first minutes). With Postgres, reads the database by table before and
    /// after, and the provider's managed heap and RSS after a full collection (POST /bench/gc).
    /// Writes one refresh token per line to TokensFile and the figures to ResultFile (JSON).
    /// </summary>
    public static async Task LoginsAsync(LoginSettings settings)
    {
        using var http = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false, MaxConnectionsPerServer = Math.Max(settings.Concurrency, settings.PostConcurrency) * 2 })
        { BaseAddress = settings.Provider, Timeout = TimeSpan.FromMinutes(2) };
        if (settings.WarmUpSeconds > 0)
        {
            await WarmUpAsync(http, settings);
        }
        var tokens = new ConcurrentBag<string>();
        var failures = 0;
        var firstFailure = (string?)null;
        var phaseCpu = new double[3];
        var phaseSeconds = new double[3];
        var loginPosts = 0;
        var batches = 0;
        var memoryBefore = settings.Postgres is null ? null : await CollectedMemoryAsync(http);
        if (settings.Postgres is not null) await VacuumWhenAskedAsync(settings.Postgres);
        var tablesBefore = settings.Postgres is null ? null : await TableBytesAsync(settings.Postgres);
        var pgBefore = settings.Postgres is null ? 0 : await DatabaseBytesAsync(settings.Postgres);
        // PerfControl=CTL,ACK: perf record --control fifo:CTL,ACK -D -1 profiles the login POSTs alone (bench/run.sh, BENCH_PERF).
        var profiler = settings.PerfControl is { Length: > 0 } control ? control.Split(',') : null;
        var cpuBefore = ProcessCpu(settings.ProviderPid);
        var watch = Stopwatch.StartNew();
        for (var batchStart = settings.From; batchStart < settings.From + settings.Count; batchStart += BatchSize)
        {
            var batch = Enumerable.Range(batchStart, Math.Min(BatchSize, settings.From + settings.Count - batchStart)).Select(i => new SignInState(i)).ToArray();
            batches++;
            foreach (var phase in Enum.GetValues<Phase>())
            {
                if (phase == Phase.LoginPost) await PerfControlAsync(profiler, "enable");
                var phaseWatch = Stopwatch.StartNew();
                var before = ProcessCpu(settings.ProviderPid);
                await ForEachAsync(batch.Where(s => !s.Failed).ToArray(), phase == Phase.LoginPost ? settings.PostConcurrency : settings.Concurrency, async state =>
                {
                    try
                    {
                        var token = await RunPhaseAsync(http, settings, state, phase);
                        if (token is not null) tokens.Add(token);
                        if (phase == Phase.LoginPost) Interlocked.Increment(ref loginPosts);
                    }
                    catch (Exception exception) when (exception is HttpRequestException or InvalidOperationException or TaskCanceledException or JsonException or KeyNotFoundException)
                    {
                        state.Failed = true;
                        Interlocked.Increment(ref failures);
                        Interlocked.CompareExchange(ref firstFailure, $"{phase}: {exception.Message}", null);
                    }
                });
                phaseCpu[(int)phase] += (ProcessCpu(settings.ProviderPid) - before).TotalMilliseconds;
                phaseSeconds[(int)phase] += phaseWatch.Elapsed.TotalSeconds;
                if (phase == Phase.LoginPost) await PerfControlAsync(profiler, "disable");
            }
        }
        var elapsed = watch.Elapsed;
        var cpu = ProcessCpu(settings.ProviderPid) - cpuBefore;
        if (settings.Postgres is not null) await VacuumWhenAskedAsync(settings.Postgres);
        var pgAfter = settings.Postgres is null ? 0 : await DatabaseBytesAsync(settings.Postgres);
        var tablesAfter = settings.Postgres is null ? null : await TableBytesAsync(settings.Postgres);
        var memoryAfter = settings.Postgres is null ? null : await CollectedMemoryAsync(http);
        await File.WriteAllLinesAsync(settings.TokensFile, tokens);
        var logins = tokens.Count;
        double PerLogin(double total) => logins == 0 ? 0 : total / logins;
        var result = new JsonObject
        {
            ["label"] = settings.Label,
            ["client_id"] = settings.ClientId,
            ["concurrency"] = settings.Concurrency,
            ["login_post_concurrency"] = settings.PostConcurrency,
            ["batches"] = batches,
            ["batch_size"] = BatchSize,
            ["logins"] = logins,
            ["failures"] = failures,
            ["first_failure"] = firstFailure,
            ["seconds"] = elapsed.TotalSeconds,
            ["per_second"] = logins / elapsed.TotalSeconds,
            // The issue's "logins": the login POSTs (the /connexion form that checks the password) completed during the
            // batches' second phase, which runs them alone, over that phase's wall time summed over the batches.
            ["login_posts"] = loginPosts,
            ["login_post_seconds"] = phaseSeconds[(int)Phase.LoginPost],
            ["login_posts_per_second"] = phaseSeconds[(int)Phase.LoginPost] == 0 ? 0 : loginPosts / phaseSeconds[(int)Phase.LoginPost],
            ["server_cpu_ms_per_login"] = PerLogin(cpu.TotalMilliseconds),
            ["server_cpu_ms_per_login_post"] = PerLogin(phaseCpu[(int)Phase.LoginPost]),
            ["server_cpu_ms_per_login_pages"] = PerLogin(phaseCpu[(int)Phase.Pages]),
            ["server_cpu_ms_per_login_code_and_token"] = PerLogin(phaseCpu[(int)Phase.CodeAndToken]),
            ["pg_bytes_before"] = pgBefore,
            ["pg_bytes_after"] = pgAfter,
        };
        if (memoryBefore is not null && memoryAfter is not null)
        {
            result["rss_bytes_before"] = memoryBefore.Value.Rss;
            result["rss_bytes_after"] = memoryAfter.Value.Rss;
            result["managed_heap_bytes_before"] = memoryBefore.Value.Heap;
            result["managed_heap_bytes_after"] = memoryAfter.Value.Heap;
        }
        else
        {
            result["rss_bytes_before"] = 0;
            result["rss_bytes_after"] = 0;
        }
        if (tablesBefore is not null && tablesAfter is not null)
        {
            var tables = new JsonObject();
            foreach (var (name, after) in tablesAfter.OrderByDescending(t => t.Value.Total - (tablesBefore.TryGetValue(t.Key, out var b) ? b.Total : 0)))
            {
                var before = tablesBefore.GetValueOrDefault(name);
                if (after.Total == before.Total && after.Rows == before.Rows) continue;
                tables[name] = new JsonObject
                {
                    ["total_bytes_per_session"] = PerLogin(after.Total - before.Total),
                    ["heap_bytes_per_session"] = PerLogin(after.Heap - before.Heap),
                    ["toast_bytes_per_session"] = PerLogin(after.Toast - before.Toast),
                    ["index_bytes_per_session"] = PerLogin(after.Indexes - before.Indexes),
                    ["rows_per_session"] = PerLogin(after.Rows - before.Rows),
                };
            }
            result["pg_tables"] = tables;
        }
        await File.WriteAllTextAsync(settings.ResultFile, result.ToJsonString());
        Console.WriteLine($"{settings.Label}: {logins} logins ({failures} failed) in {elapsed.TotalSeconds:F1} s = {logins / elapsed.TotalSeconds:F1}/s; " +
            $"login POSTs {loginPosts} in {phaseSeconds[(int)Phase.LoginPost]:F1} s = {(phaseSeconds[(int)Phase.LoginPost] == 0 ? 0 : loginPosts / phaseSeconds[(int)Phase.LoginPost]):F1}/s, {settings.PostConcurrency} at a time; " +
            $"server CPU {PerLogin(cpu.TotalMilliseconds):F1} ms per sign-in: login POST {PerLogin(phaseCpu[(int)Phase.LoginPost]):F1} ms, " +
            $"pages {PerLogin(phaseCpu[(int)Phase.Pages]):F1} ms, authorize + token {PerLogin(phaseCpu[(int)Phase.CodeAndToken]):F1} ms" +
            (firstFailure is null ? "" : $"; first failure: {firstFailure}"));
        if (result["pg_tables"] is JsonObject byTable)
        {
            Console.WriteLine($"  PostgreSQL per session: {PerLogin(pgAfter - pgBefore):N0} B (database); by table (total = heap + TOAST + indexes, rows):");
            foreach (var (name, t) in byTable)
            {
                Console.WriteLine($"    {name,-26} {(double)t!["total_bytes_per_session"]!,8:N0} B = {(double)t["heap_bytes_per_session"]!,6:N0} + {(double)t["toast_bytes_per_session"]!,6:N0} + {(double)t["index_bytes_per_session"]!,6:N0}, {(double)t["rows_per_session"]!:F2} rows");
            }
        }
        if (memoryBefore is not null && memoryAfter is not null)
        {
            Console.WriteLine($"  memory per session after a full collection: managed heap {PerLogin(memoryAfter.Value.Heap - memoryBefore.Value.Heap):N0} B, RSS {PerLogin(memoryAfter.Value.Rss - memoryBefore.Value.Rss):N0} B");
        }
    }

    /// <summary>Sends perf its command through its control FIFO and waits for its acknowledgement.</summary>
    private static async Task PerfControlAsync(string[]? fifos, string command)
    {
        if (fifos is null) return;
        await File.AppendAllTextAsync(fifos[0], command + "\n");
        using var ack = new StreamReader(fifos[1]);
        await ack.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(10));
    }

    /// <summary>
    /// Unmeasured sign-ins of the same persons, in batches, until two consecutive batches' rates are within 10 % of each
    /// other after at least half of WarmUpSeconds, or WarmUpSeconds have passed.
    /// </summary>
    private static async Task WarmUpAsync(HttpClient http, LoginSettings settings)
    {
        var watch = Stopwatch.StartNew();
        var previous = 0.0;
        var batches = 0;
        var batchSize = Math.Min(settings.Count, Math.Max(settings.Concurrency * 10, 20));
        while (watch.Elapsed.TotalSeconds < settings.WarmUpSeconds)
        {
            var batchWatch = Stopwatch.StartNew();
            var from = settings.From + batches * batchSize % Math.Max(1, settings.Count - batchSize + 1);
            var done = 0;
            await ForEachAsync(Enumerable.Range(from, batchSize).ToArray(), settings.Concurrency, async i =>
            {
                var state = new SignInState(i);
                try
                {
                    foreach (var phase in Enum.GetValues<Phase>()) await RunPhaseAsync(http, settings, state, phase);
                    Interlocked.Increment(ref done);
                }
                catch (Exception exception) when (exception is HttpRequestException or InvalidOperationException or TaskCanceledException or JsonException or KeyNotFoundException)
                {
                }
            });
            var rate = done / batchWatch.Elapsed.TotalSeconds;
            batches++;
            var stable = previous > 0 && Math.Abs(rate - previous) <= 0.1 * previous;
            if (stable && watch.Elapsed.TotalSeconds >= settings.WarmUpSeconds / 2) break;
            previous = rate;
        }
        Console.WriteLine($"{settings.Label}: warm-up of {batches * batchSize} sign-ins in {watch.Elapsed.TotalSeconds:F0} s, last batch at {previous:F1}/s");
    }

    private static async Task ForEachAsync<T>(IReadOnlyList<T> items, int concurrency, Func<T, Task> body)
    {
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, Math.Min(concurrency, Math.Max(1, items.Count))).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < items.Count) await body(items[i]);
        }));
    }

    /// <summary>One phase of one sign-in; the last returns the refresh token.</summary>
    private static async Task<string?> RunPhaseAsync(HttpClient http, LoginSettings settings, SignInState state, Phase phase)
    {
        var cookies = state.Cookies;
        switch (phase)
        {
            case Phase.Pages:
            {
                var challenge = Base64Url(SHA256.HashData(Encoding.ASCII.GetBytes(state.Verifier)));
                var authorize = "/connect/authorize?" + string.Join('&', new Dictionary<string, string>
                {
                    ["client_id"] = settings.ClientId, ["redirect_uri"] = settings.RedirectUri, ["response_type"] = "code",
                    ["scope"] = "openid profile caf offline_access", ["state"] = Base64Url(RandomNumberGenerator.GetBytes(12)),
                    ["nonce"] = Base64Url(RandomNumberGenerator.GetBytes(12)), ["code_challenge"] = challenge, ["code_challenge_method"] = "S256",
                }.Select(p => p.Key + "=" + Uri.EscapeDataString(p.Value)));
                var (toLogin, _) = await SendAsync(http, cookies, HttpMethod.Get, authorize);
                var (page, html) = await SendAsync(http, cookies, HttpMethod.Get, Local(toLogin.Headers.Location));
                state.Action = WebUtility.HtmlDecode(FormAction().Match(html).Groups[1].Value);
                state.Antiforgery = Antiforgery().Match(html).Groups[1].Value;
                if (page.StatusCode != HttpStatusCode.OK || state.Action.Length == 0 || state.Antiforgery.Length == 0)
                {
                    throw new InvalidOperationException($"login page: {(int)page.StatusCode}");
                }
                return null;
            }
            case Phase.LoginPost:
            {
                var (login, loginHtml) = await SendAsync(http, cookies, HttpMethod.Post, state.Action, new FormUrlEncodedContent(new Dictionary<string, string>
                {
                    ["Input.Identifier"] = Nir(state.Person), ["Input.Password"] = Password, ["__RequestVerificationToken"] = state.Antiforgery,
                }));
                if (login.StatusCode != HttpStatusCode.Redirect)
                {
                    throw new InvalidOperationException($"login POST: {(int)login.StatusCode} {Regex.Match(loginHtml, "fr-(?:error-text|alert__title)[^>]*>([^<]+)<").Groups[1].Value.Trim()}");
                }
                state.AfterLogin = login.Headers.Location;
                return null;
            }
            default:
            {
                var (back, _) = await SendAsync(http, cookies, HttpMethod.Get, Local(state.AfterLogin));
                var code = Regex.Match(back.Headers.Location?.Query ?? "", "[?&]code=([^&]+)").Groups[1].Value;
                if (code.Length == 0)
                {
                    throw new InvalidOperationException($"no code: {(int)back.StatusCode} {back.Headers.Location}");
                }
                using var token = new HttpRequestMessage(HttpMethod.Post, "/connect/token");
                var form = new Dictionary<string, string>
                {
                    ["grant_type"] = "authorization_code", ["code"] = Uri.UnescapeDataString(code), ["redirect_uri"] = settings.RedirectUri, ["code_verifier"] = state.Verifier,
                };
                if (settings.ClientSecret is null) form["client_id"] = settings.ClientId;
                else token.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{settings.ClientId}:{settings.ClientSecret}")));
                token.Content = new FormUrlEncodedContent(form);
                using var response = await http.SendAsync(token);
                var body = await response.Content.ReadAsStringAsync();
                if (!response.IsSuccessStatusCode)
                {
                    throw new InvalidOperationException($"token: {(int)response.StatusCode} {body}");
                }
                return JsonDocument.Parse(body).RootElement.GetProperty("refresh_token").GetString()!;
            }
        }
    }

    /// <summary>The provider's managed heap and RSS after a full, compacting collection (POST /bench/gc, Development and loopback only).</summary>
    private static async Task<(long Heap, long Rss)?> CollectedMemoryAsync(HttpClient http)
    {
        using var response = await http.PostAsync("/bench/gc", null);
        if (!response.IsSuccessStatusCode) return null;
        var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        return (json.GetProperty("heap_bytes").GetInt64(), json.GetProperty("rss_bytes").GetInt64());
    }

    /// <summary>Each table's size: heap (main fork), TOAST, indexes, and live rows (after ANALYZE), by table name.</summary>
    public static async Task<Dictionary<string, (long Total, long Heap, long Toast, long Indexes, long Rows)>> TableBytesAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using (var analyze = new NpgsqlCommand("ANALYZE", connection)) await analyze.ExecuteNonQueryAsync();
        await using var command = new NpgsqlCommand("""
            SELECT c.relname, pg_total_relation_size(c.oid), pg_relation_size(c.oid), pg_indexes_size(c.oid),
                   COALESCE(pg_total_relation_size(NULLIF(c.reltoastrelid, 0)), 0), c.reltuples::bigint
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind = 'r' AND n.nspname = 'public'
            """, connection);
        var tables = new Dictionary<string, (long, long, long, long, long)>(StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            tables[reader.GetString(0)] = (reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(4), reader.GetInt64(3), Math.Max(0, reader.GetInt64(5)));
        }
        return tables;
    }

    private static async Task<(HttpResponseMessage Response, string Body)> SendAsync(HttpClient http, Dictionary<string, string> cookies, HttpMethod method, string path, HttpContent? content = null)
    {
        using var request = new HttpRequestMessage(method, path) { Content = content };
        if (cookies.Count > 0)
        {
            request.Headers.Add("Cookie", string.Join("; ", cookies.Select(c => c.Key + "=" + c.Value)));
        }
        var response = await http.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        if (response.Headers.TryGetValues("Set-Cookie", out var setCookies))
        {
            foreach (var header in setCookies)
            {
                var pair = header.Split(';', 2)[0];
                var at = pair.IndexOf('=');
                if (at <= 0) continue;
                var (name, value) = (pair[..at], pair[(at + 1)..]);
                if (value.Length == 0 || header.Contains("expires=Thu, 01 Jan 1970", StringComparison.OrdinalIgnoreCase)) cookies.Remove(name);
                else cookies[name] = value;
            }
        }
        return (response, body);
    }

    private static string Local(Uri? location) => location is null
        ? throw new InvalidOperationException("no redirect")
        : location.IsAbsoluteUri ? location.PathAndQuery : location.OriginalString;

    private static string Base64Url(byte[] bytes) => System.Buffers.Text.Base64Url.EncodeToString(bytes);

    /// <summary>utime + stime of a process, from /proc/&lt;pid&gt;/stat (fields 14 and 15, in clock ticks of 1/100 s on Linux).</summary>
    public static TimeSpan ProcessCpu(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        // fields[0] is field 3 (state): utime is field 14, stime field 15.
        var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        return TimeSpan.FromSeconds(ticks / 100.0);
    }

    public static long ResidentBytes(int pid)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
            }
        }
        return 0;
    }

    /// <summary>
    /// BENCH_VACUUM=1: a plain VACUUM of the database before each reading of sizes, so that they show the steady state —
    /// dead row versions and TOAST chunks (a redeemed code's cleared payload, decision 37; every UPDATE's old row)
    /// reclaimed as autovacuum would in production, trailing empty pages returned. Off by default: the default figures
    /// stay comparable with earlier runs (bench/README.md).
    /// </summary>
    private static async Task VacuumWhenAskedAsync(string connectionString)
    {
        if (Environment.GetEnvironmentVariable("BENCH_VACUUM") != "1") return;
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var vacuum = new NpgsqlCommand("VACUUM", connection) { CommandTimeout = 0 };
        await vacuum.ExecuteNonQueryAsync();
    }

    public static async Task<long> DatabaseBytesAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        // Dirty pages reach the files at a checkpoint: force one so that the size is what the rows take.
        await using (var checkpoint = new NpgsqlCommand("CHECKPOINT", connection)) await checkpoint.ExecuteNonQueryAsync();
        await using var size = new NpgsqlCommand("SELECT pg_database_size(current_database())", connection);
        return (long)(await size.ExecuteScalarAsync())!;
    }

    [GeneratedRegex("<form method=\"post\"[^>]*action=\"([^\"]+)\"")]
    private static partial Regex FormAction();

    [GeneratedRegex("name=\"__RequestVerificationToken\" type=\"hidden\" value=\"([^\"]+)\"")]
    private static partial Regex Antiforgery();
}
