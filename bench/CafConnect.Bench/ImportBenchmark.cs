using System.Diagnostics;
using System.Text;
using CafConnect.Bench.Previous;
using CafConnect.Infrastructure.Imports;
using CafConnect.Infrastructure.Persistence;
using CafConnect.Infrastructure.Security;
using Microsoft.EntityFrameworkCore;
using Npgsql;

/// <summary>
/// Import throughput into PostgreSQL: N generated rows (legacy_secret_format=none) through the current COPY path and
/// through the previous one (main at d53c771, kept in Previous/ as the peer), each into a fresh database, in the same run
/// so both see the same machine load; then a dry run of both (parse and check only), the first pass alone, and a sample through the portable EF path.
/// Needs CAFCONNECT_BENCH_POSTGRES (a server, no database).
/// </summary>
internal static class ImportBenchmark
{
    private enum Path { Current, Previous, PortableEntityFramework }

    public static async Task RunAsync(int rows, bool withEntityFramework)
    {
        var server = Environment.GetEnvironmentVariable("CAFCONNECT_BENCH_POSTGRES")
            ?? throw new InvalidOperationException("Set CAFCONNECT_BENCH_POSTGRES to a PostgreSQL server connection string.");
        var csv = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"cafconnect-import-{rows}.csv");
        var generation = Stopwatch.StartNew();
        await File.WriteAllTextAsync(csv, Generate(rows));
        Console.WriteLine($"Generated {rows:N0} rows ({new FileInfo(csv).Length / 1_048_576.0:F0} MiB) in {generation.Elapsed.TotalSeconds:F1} s; {Environment.ProcessorCount} cores; load average {LoadAverage()}");

        var current = await ImportAsync(server, csv, Path.Current, rows, dryRun: false);
        var previous = await ImportAsync(server, csv, Path.Previous, rows, dryRun: false);
        Console.WriteLine($"  ratio current / previous COPY path: {current / previous:F2}");
        var currentCheck = await ImportAsync(server, csv, Path.Current, rows, dryRun: true);
        var previousCheck = await ImportAsync(server, csv, Path.Previous, rows, dryRun: true);
        Console.WriteLine($"  ratio current / previous dry run: {currentCheck / previousCheck:F2}");
        await FirstPassAsync(csv, rows);
        if (withEntityFramework)
        {
            var sampleRows = Math.Min(rows, 50_000);
            var sampleCsv = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"cafconnect-import-{sampleRows}.csv");
            await File.WriteAllTextAsync(sampleCsv, Generate(sampleRows));
            var efRate = await ImportAsync(server, sampleCsv, Path.PortableEntityFramework, sampleRows, dryRun: false);
            Console.WriteLine($"  ratio current COPY path / portable EF path: {current / efRate:F1}");
            File.Delete(sampleCsv);
        }
        File.Delete(csv);
    }

    private static async Task<double> ImportAsync(string server, string csv, Path path, int rows, bool dryRun)
    {
        var name = "cafconnect_bench_" + Guid.NewGuid().ToString("N")[..8];
        var connectionString = new NpgsqlConnectionStringBuilder(server) { Database = name }.ConnectionString;
        await using var db = new PostgreSqlCafConnectDbContext(StorageRegistration.Configure(new DbContextOptionsBuilder<PostgreSqlCafConnectDbContext>(), StorageProvider.PostgreSql, connectionString).Options);
        await db.Database.MigrateAsync();
        try
        {
            var hasher = new Argon2idSecretHasher(new Argon2idOptions());
            var options = new ImportOptions(DryRun: dryRun, HouseholdsPerBatch: 5000);
            var loadBefore = LoadAverage();
            var report = path switch
            {
                Path.Current => await new AccountImporter(db, hasher, new StorageSettings(StorageProvider.PostgreSql, connectionString), TimeProvider.System)
                    .ImportAsync(() => new StreamReader(csv, Encoding.UTF8), options),
                Path.Previous => await OpenAsync(csv, reader => new PreviousAccountImporter(db, hasher, new StorageSettings(StorageProvider.PostgreSql, connectionString), TimeProvider.System)
                    .ImportAsync(reader, options)),
                // Passing another provider than the store's selects the portable writer.
                _ => await new AccountImporter(db, hasher, new StorageSettings(StorageProvider.Sqlite, connectionString), TimeProvider.System)
                    .ImportAsync(() => new StreamReader(csv, Encoding.UTF8), options),
            };
            if (report.Problems.Count > 0 || report.RowsImported != rows)
            {
                throw new InvalidOperationException($"import refused {report.Problems.Count} rows: {report.Problems.FirstOrDefault()}");
            }
            var label = (path, dryRun) switch
            {
                (Path.Current, false) => "current COPY path",
                (Path.Current, true) => "current, dry run (read+check)",
                (Path.Previous, false) => "previous COPY path",
                (Path.Previous, true) => "previous, dry run (read+check)",
                _ => "portable EF path",
            };
            Console.WriteLine($"  {label,-30} {rows,9:N0} rows in {report.Elapsed.TotalSeconds,6:F1} s = {report.RowsPerSecond,8:N0} rows/s   (load {loadBefore} -> {LoadAverage()})");
            return report.RowsPerSecond;
        }
        finally
        {
            await db.Database.EnsureDeletedAsync();
        }
    }

    /// <summary>The current path's first, quick pass alone (cut records, note where each file ends), as the importer does it.</summary>
    private static async Task FirstPassAsync(string csv, int rows)
    {
        var watch = Stopwatch.StartNew();
        var lastRowOfFile = new Dictionary<string, int>(StringComparer.Ordinal);
        var row = -1;
        using var reader = new StreamReader(csv, Encoding.UTF8);
        await foreach (var (_, fields) in new CsvRecordReader(reader).ReadFirstFieldsAsync())
        {
            if (++row > 0 && CafConnect.Domain.Identity.FileNumber.TryParse(fields[0].Trim(), out var file, out _))
            {
                lastRowOfFile[file.Value] = row;
            }
        }
        Console.WriteLine($"  {"current, first pass alone",-30} {rows,9:N0} rows in {watch.Elapsed.TotalSeconds,6:F1} s ({lastRowOfFile.Count:N0} files)   (load {LoadAverage()})");
    }

    private static async Task<ImportReport> OpenAsync(string csv, Func<TextReader, Task<ImportReport>> import)
    {
        using var reader = new StreamReader(csv, Encoding.UTF8);
        return await import(reader);
    }

    /// <summary>The 1-minute load average, to say how busy the shared machine was during a run.</summary>
    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "?";

    /// <summary>Households of 1 to 4 people (holder, partner, children), valid NIRs, no legacy secret.</summary>
    private static string Generate(int rows)
    {
        var random = new Random(20261124);
        var text = new StringBuilder(rows * 140);
        text.AppendLine(string.Join(',', CafConnect.Domain.Imports.HouseholdImportFormat.Columns));
        var written = 0;
        var file = 1_000_000;
        var order = 0;
        while (written < rows)
        {
            file++;
            var size = Math.Min(rows - written, random.Next(1, 5));
            for (var member = 0; member < size; member++)
            {
                order++;
                var role = member switch { 0 => "allocataire", 1 => "conjoint", _ => "enfant" };
                var sex = member == 1 ? '2' : '1';
                var year = member >= 2 ? 5 + random.Next(0, 10) : 60 + random.Next(0, 35);
                var nir = $"{sex}{year:D2}{random.Next(1, 13):D2}75{(order / 1000 % 999) + 1:D3}{(order % 999) + 1:D3}";
                var fileNumber = (file % 10_000_000).ToString("D7");
                var birth = $"{(year < 30 ? 2000 + year : 1900 + year)}-{random.Next(1, 13):D2}-{random.Next(1, 29):D2}";
                text.Append(fileNumber).Append(',').Append(role).Append(',').Append(nir).Append(",,").Append(member == 1 ? "MME" : "M")
                    .Append(",NOM").Append((char)('A' + order % 26)).Append(",,PRENOM,").Append(birth)
                    .Append(",FRANCE,PARIS,75011,06").Append((order % 100_000_000).ToString("D8")).Append(",,,none\n");
                written++;
            }
        }
        return text.ToString();
    }
}
