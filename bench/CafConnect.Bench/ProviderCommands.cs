using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Npgsql;

/// <summary>
/// The commands bench/run.sh gives the bench, one process for the whole run (<see cref="ServeAsync"/>): the provider
/// benchmark's steps (seed, sign-ins, report) and the small ones between them that used to be a python interpreter or a
/// psql each (the hashing limit, the database's transaction count around a wrk run, the wrk result's line). On a loaded
/// machine each `dotnet`, python or psql start-up costs from a few tenths of a second to several seconds.
/// </summary>
public static class ProviderCommands
{
    public static readonly HashSet<string> Names = ["seed", "logins", "report", "hashing-limit", "pg-transactions", "wrk-result", "scale"];

    /// <summary>The line that ends each command's output in serve mode: record separator, then the exit code.</summary>
    public const char EndOfCommand = '\u001e';

    /// <summary>
    /// Reads commands from <paramref name="input"/>, one a line, arguments separated by tabs; runs each, then writes
    /// <see cref="EndOfCommand"/> and its exit code on a line of their own. Ends at the end of the input (run.sh exited).
    /// </summary>
    public static async Task<int> ServeAsync(TextReader input)
    {
        while (await input.ReadLineAsync() is { } line)
        {
            if (line.Length == 0) continue;
            int code;
            try
            {
                code = await RunAsync(line.Split('\t'));
            }
            catch (Exception exception)
            {
                await Console.Error.WriteLineAsync($"bench {line.Split('\t')[0]}: {exception}");
                code = 1;
            }
            await Console.Out.WriteLineAsync($"{EndOfCommand}{code}");
            await Console.Out.FlushAsync();
        }
        return 0;
    }

    public static async Task<int> RunAsync(string[] args)
    {
        switch (args[0])
        {
            case "seed":
                // seed POSTGRES FROM COUNT [TOKENS]: COUNT persons (COPY), and TOKENS token rows copied from the store's last sign-ins
                await ProviderBenchmark.SeedAsync(args[1], int.Parse(args[2], CultureInfo.InvariantCulture), int.Parse(args[3], CultureInfo.InvariantCulture),
                    args.Length > 4 ? long.Parse(args[4], CultureInfo.InvariantCulture) : 0);
                return 0;
            case "logins":
                // logins PROVIDER CLIENT_ID SECRET|- REDIRECT_URI FROM COUNT CONCURRENCY PID POSTGRES|- TOKENS_FILE RESULT_FILE LABEL
                //        [WARM_UP_SECONDS [LOGIN_POST_CONCURRENCY|- [PERF_CONTROL|-]]]
                await ProviderBenchmark.LoginsAsync(new ProviderBenchmark.LoginSettings(new Uri(args[1]), args[2], Optional(args[3]), args[4],
                    int.Parse(args[5], CultureInfo.InvariantCulture), int.Parse(args[6], CultureInfo.InvariantCulture), int.Parse(args[7], CultureInfo.InvariantCulture),
                    int.Parse(args[8], CultureInfo.InvariantCulture), Optional(args[9]), args[10], args[11], args[12],
                    args.Length > 13 ? double.Parse(args[13], CultureInfo.InvariantCulture) : 0,
                    args.Length > 14 && Optional(args[14]) is { } postConcurrency ? int.Parse(postConcurrency, CultureInfo.InvariantCulture) : null,
                    args.Length > 15 ? Optional(args[15]) : null));
                return 0;
            case "report":
                // report RAW_DIR JSON_PATH README_PATH|- PLOT_DIR|-
                BenchReport.Write(args[1], args[2], Optional(args[3]) ?? "", Optional(args[4]) ?? "");
                return 0;
            case "hashing-limit":
                // hashing-limit PROVIDER COUNT RESULT_FILE
                await HashingLimitAsync(new Uri(args[1]), int.Parse(args[2], CultureInfo.InvariantCulture), args[3]);
                return 0;
            case "pg-transactions":
                // pg-transactions POSTGRES: transactions committed or rolled back in the database so far
                Console.WriteLine(await TransactionsAsync(args[1]));
                return 0;
            case "wrk-result":
                // wrk-result FILE TRANSACTIONS_BEFORE TRANSACTIONS_AFTER URL PROVIDER [PROVIDER_TICKS PG_TICKS|- CLOCK_TICKS_PER_SECOND]
                WrkResult(args[1], long.Parse(args[2], CultureInfo.InvariantCulture), long.Parse(args[3], CultureInfo.InvariantCulture), args[4], args[5],
                    args.Length > 8 ? new CpuTicks(long.Parse(args[6], CultureInfo.InvariantCulture),
                        Optional(args[7]) is { } pg ? long.Parse(pg, CultureInfo.InvariantCulture) : null, int.Parse(args[8], CultureInfo.InvariantCulture)) : null);
                return 0;
            case "scale":
                // scale RAW_DIR SMALL_PERSONS LARGE_PERSONS LARGE_TOKENS SEED_SECONDS MAINTENANCE_SECONDS
                Scale(args[1], args[2], args[3], args[4], args[5], args[6]);
                return 0;
            default:
                await Console.Error.WriteLineAsync($"unknown bench command: {args[0]}");
                return 2;
        }
    }

    private static string? Optional(string value) => value is "-" or "" ? null : value;

    private static string Load() => string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));

    /// <summary>
    /// The hashing limit (issue #14): POST /bench/hashing, COUNT Argon2id verifications in the provider process with as
    /// many in parallel as it has cores. Prints that parallelism on the standard output (run.sh runs the login POSTs
    /// with as many in flight, so that both rates are taken with the same number of hashes competing for the cores),
    /// the figures on the error output.
    /// </summary>
    private static async Task HashingLimitAsync(Uri provider, int count, string resultFile)
    {
        using var http = new HttpClient { BaseAddress = provider, Timeout = TimeSpan.FromMinutes(10) };
        var loadBefore = Load();
        using var response = await http.PostAsync($"/bench/hashing?count={count}", null);
        response.EnsureSuccessStatusCode();
        var result = JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
        result["load_before"] = loadBefore;
        result["load_after"] = Load();
        await File.WriteAllTextAsync(resultFile, result.ToJsonString());
        await Console.Error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"hashing limit: {(double)result["per_second"]!:F1}/s with {result["parallelism"]} in parallel, {(double)result["cpu_ms_per_hash"]!:F1} ms of CPU per hash"));
        Console.WriteLine((int)result["parallelism"]!);
    }

    /// <summary>
    /// xact_commit + xact_rollback of the database, on a connection of its own (no pool, no type loading): its one
    /// transaction is counted when it closes, as psql's was, which the wrk result's correction assumes.
    /// </summary>
    private static async Task<long> TransactionsAsync(string connectionString)
    {
        var source = new NpgsqlDataSourceBuilder(new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false }.ConnectionString);
        source.ConfigureTypeLoading(types => types.EnableTypeLoading(false));
        try
        {
            await using var dataSource = source.Build();
            await using var connection = await dataSource.OpenConnectionAsync();
            await using var command = new NpgsqlCommand("SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database()", connection);
            return Convert.ToInt64(await command.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
        }
        catch (NpgsqlException)
        {
            return 0;
        }
    }

    /// <summary>CPU time of the provider process and of its PostgreSQL backends during one wrk run (run.sh, from /proc).</summary>
    private sealed record CpuTicks(long Provider, long? Postgres, int PerSecond);

    /// <summary>Adds the provider database's transactions, and the provider's and PostgreSQL's CPU, per request to one wrk run's JSON and prints its line.</summary>
    private static void WrkResult(string path, long before, long after, string url, string provider, CpuTicks? cpu)
    {
        var run = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        var requests = (long)run["requests"]!;
        // Only the provider's runs touch its database; the peer keeps everything in memory. The two readings' own
        // transactions are taken off.
        var providerRun = url.StartsWith(provider, StringComparison.Ordinal) && requests > 0;
        run["pg_transactions_per_request"] = providerRun ? (after - before - 2) / (double)requests : 0;
        if (providerRun && cpu is not null)
        {
            run["provider_cpu_ms_per_request"] = cpu.Provider * 1000.0 / cpu.PerSecond / requests;
            if (cpu.Postgres is { } pg)
            {
                run["pg_cpu_ms_per_request"] = pg * 1000.0 / cpu.PerSecond / requests;
            }
        }
        File.WriteAllText(path, run.ToJsonString());
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  {(string)run["series"]!,-26} c={(int)run["connections"]!,-3} {(double)run["per_second"]!,9:F1}/s p99 {(double)run["p99_ms"]!,7:F1} ms errors {(long)run["errors"]!} " +
            $"db transactions/request {(double)run["pg_transactions_per_request"]!:F1} (load {run["load_before"]} -> {run["load_after"]})"));
    }

    /// <summary>scale.json: the large store's rates and CPU per sign-in and per grant against the small store's, from the scale runs' files.</summary>
    private static void Scale(string raw, string smallPersons, string largePersons, string largeTokens, string seedSeconds, string maintenanceSeconds)
    {
        JsonObject Read(string name) => JsonNode.Parse(File.ReadAllText(Path.Combine(raw, name)))!.AsObject();
        JsonObject Run(string prefix) => Read(Path.GetFileName(Directory.GetFiles(raw, prefix + "*.json").Single()));
        double Rate(string prefix) => (double)Run(prefix)["per_second"]!;
        // The provider's and its database's CPU per request (0 when a reading is missing: servers not started by the run).
        double Cpu(string prefix) => ((double?)Run(prefix)["provider_cpu_ms_per_request"] ?? 0) + ((double?)Run(prefix)["pg_cpu_ms_per_request"] ?? 0);
        static double Ratio(double a, double b) => a / Math.Max(b, 1e-9);
        var small = Read("scale-small-logins.json");
        var large = Read("scale-large-logins.json");
        var scale = new JsonObject
        {
            ["small_persons"] = int.Parse(smallPersons, CultureInfo.InvariantCulture),
            ["large_persons"] = int.Parse(largePersons, CultureInfo.InvariantCulture),
            ["large_tokens"] = long.Parse(largeTokens, CultureInfo.InvariantCulture),
            ["seed_seconds"] = double.Parse(seedSeconds, CultureInfo.InvariantCulture),
            ["maintenance_seconds"] = double.Parse(maintenanceSeconds, CultureInfo.InvariantCulture),
            ["client_credentials_ratio"] = Ratio(Rate("wrk-scale-large-cc-"), Rate("wrk-scale-small-cc-")),
            ["refresh_ratio"] = Ratio(Rate("wrk-scale-large-refresh-"), Rate("wrk-scale-small-refresh-")),
            // CPU per grant (provider + PostgreSQL), large / small: what the store's size costs, whatever else the machine runs.
            ["client_credentials_cpu_ratio"] = Ratio(Cpu("wrk-scale-large-cc-"), Cpu("wrk-scale-small-cc-")),
            ["refresh_cpu_ratio"] = Ratio(Cpu("wrk-scale-large-refresh-"), Cpu("wrk-scale-small-refresh-")),
            ["logins_ratio"] = Ratio((double)large["per_second"]!, (double)small["per_second"]!),
            // Server CPU per sign-in, large / small: what the store's size costs the provider, whatever the machine's load.
            ["login_cpu_ratio"] = Ratio((double)large["server_cpu_ms_per_login"]!, (double)small["server_cpu_ms_per_login"]!),
            // The login POSTs' own rate, large / small (the issue's "logins").
            ["login_posts_ratio"] = Ratio((double)large["login_posts_per_second"]!, (double)small["login_posts_per_second"]!),
        };
        File.WriteAllText(Path.Combine(raw, "scale.json"), scale.ToJsonString());
    }
}
