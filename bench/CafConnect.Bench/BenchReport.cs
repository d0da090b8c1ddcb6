using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

/// <summary>
/// Turns the raw files of one bench/run.sh run into bench/results/latest.json, the table of bench/README.md (between
/// its markers) and one plot per grant (throughput and p99 against concurrency, CafConnect and the peer).
/// </summary>
public static class BenchReport
{
    public const string TableStart = "<!-- bench:table:start -->";
    public const string TableEnd = "<!-- bench:table:end -->";

    /// <summary>The series of the run: name → (target, grant label) for the plots.</summary>
    private static readonly (string Series, string Grant, string Who)[] Series =
    [
        ("cc-keyed", "client_credentials", "CafConnect (generated secret, keyed hash)"),
        ("cc-pbkdf2", "client_credentials", "CafConnect (typed secret, PBKDF2)"),
        ("cc-peer", "client_credentials", "peer: node oidc-provider"),
        ("refresh-public", "refresh_public", "CafConnect (caf-mobile, public)"),
        ("refresh-public-peer", "refresh_public", "peer: node oidc-provider"),
        ("refresh-confidential", "refresh_confidential", "CafConnect (generated secret)"),
        ("refresh-confidential-peer", "refresh_confidential", "peer: node oidc-provider"),
    ];

    public static void Write(string rawDirectory, string jsonPath, string readmePath, string plotDirectory)
    {
        var meta = JsonNode.Parse(File.ReadAllText(Path.Combine(rawDirectory, "meta.json")))!.AsObject();
        var runs = Directory.GetFiles(rawDirectory, "wrk-*.json").Select(f => JsonNode.Parse(File.ReadAllText(f))!.AsObject())
            .GroupBy(r => (string)r["series"]!).ToDictionary(g => g.Key, g => g.OrderBy(r => (int)r["connections"]!).ToList());
        JsonObject Read(string name) => JsonNode.Parse(File.ReadAllText(Path.Combine(rawDirectory, name)))!.AsObject();
        var hashing = Read("hashing.json");
        var logins = Read("logins.json");
        var sessions = Read("sessions.json");
        var scale = File.Exists(Path.Combine(rawDirectory, "scale.json")) ? Read("scale.json") : new JsonObject();

        double Peak(string series) => runs.TryGetValue(series, out var list) ? list.Max(r => (double)r["per_second"]!) : 0;
        // p99 of the run whose rate is nearest half the peak (the issue's "p99 at half the peak rate").
        double P99AtHalf(string series)
        {
            if (!runs.TryGetValue(series, out var list)) return 0;
            var half = Peak(series) / 2;
            return (double)list.OrderBy(r => Math.Abs((double)r["per_second"]! - half)).First()["p99_ms"]!;
        }
        static double Ratio(double a, double b) => b == 0 ? 0 : a / b;

        var sessionCount = Math.Max(1, (int)sessions["logins"]!);
        var figures = new JsonObject
        {
            ["client_credentials_peak_per_second"] = Peak("cc-keyed"),
            ["client_credentials_peer_peak_per_second"] = Peak("cc-peer"),
            ["client_credentials_ratio_to_peer"] = Ratio(Peak("cc-keyed"), Peak("cc-peer")),
            ["client_credentials_pbkdf2_peak_per_second"] = Peak("cc-pbkdf2"),
            ["client_credentials_keyed_to_pbkdf2_ratio"] = Ratio(Peak("cc-keyed"), Peak("cc-pbkdf2")),
            ["client_credentials_p99_ms_at_half_peak"] = P99AtHalf("cc-keyed"),
            ["refresh_public_peak_per_second"] = Peak("refresh-public"),
            ["refresh_public_peer_peak_per_second"] = Peak("refresh-public-peer"),
            ["refresh_public_ratio_to_peer"] = Ratio(Peak("refresh-public"), Peak("refresh-public-peer")),
            ["refresh_public_p99_ms_at_half_peak"] = P99AtHalf("refresh-public"),
            ["refresh_confidential_peak_per_second"] = Peak("refresh-confidential"),
            ["refresh_confidential_peer_peak_per_second"] = Peak("refresh-confidential-peer"),
            ["refresh_confidential_ratio_to_peer"] = Ratio(Peak("refresh-confidential"), Peak("refresh-confidential-peer")),
            ["refresh_confidential_p99_ms_at_half_peak"] = P99AtHalf("refresh-confidential"),
            // The issue's "logins": the login POSTs (the /connexion form that checks the password), alone in the second
            // phase of each batch of sign-ins, POSTs completed / that phase's wall time, against the hashing limit
            // (Argon2id in the same process, as many in parallel as cores).
            ["login_posts_per_second"] = (double)logins["login_posts_per_second"]!,
            ["hashing_limit_per_second"] = (double)hashing["per_second"]!,
            ["login_posts_ratio_to_hashing_limit"] = Ratio((double)logins["login_posts_per_second"]!, (double)hashing["per_second"]!),
            // Login POSTs in flight and hashes in parallel: equal (run.sh), so that both rates are taken with as many
            // hashes competing for the cores — and, on a shared machine, with as many runnable threads in the scheduler.
            ["login_post_concurrency"] = (double)logins["login_post_concurrency"]!,
            ["hashing_parallelism"] = (double)hashing["parallelism"]!,
            // Whole sign-ins (authorize, login page, login POST, authorize with the cookie, token: 5 requests), for information.
            ["sign_ins_per_second"] = (double)logins["per_second"]!,
            ["sign_ins_ratio_to_hashing_limit"] = Ratio((double)logins["per_second"]!, (double)hashing["per_second"]!),
            ["server_cpu_ms_per_login"] = (double)logins["server_cpu_ms_per_login"]!,
            ["cpu_ms_per_hash"] = (double)hashing["cpu_ms_per_hash"]!,
            ["cpu_per_login_to_hash_ratio"] = Ratio((double)logins["server_cpu_ms_per_login"]!, (double)hashing["cpu_ms_per_hash"]!),
            ["server_cpu_ms_per_login_post"] = (double?)logins["server_cpu_ms_per_login_post"] ?? 0,
            ["login_post_cpu_to_hash_ratio"] = Ratio((double?)logins["server_cpu_ms_per_login_post"] ?? 0, (double)hashing["cpu_ms_per_hash"]!),
            ["server_cpu_ms_per_login_pages"] = (double?)logins["server_cpu_ms_per_login_pages"] ?? 0,
            ["server_cpu_ms_per_login_code_and_token"] = (double?)logins["server_cpu_ms_per_login_code_and_token"] ?? 0,
            // Both read after a full collection (POST /bench/gc) before and after the sessions' sign-ins.
            ["rss_bytes_per_session"] = ((double)sessions["rss_bytes_after"]! - (double)sessions["rss_bytes_before"]!) / sessionCount,
            ["managed_heap_bytes_per_session"] = (((double?)sessions["managed_heap_bytes_after"] ?? 0) - ((double?)sessions["managed_heap_bytes_before"] ?? 0)) / sessionCount,
            ["pg_bytes_per_session"] = ((double)sessions["pg_bytes_after"]! - (double)sessions["pg_bytes_before"]!) / sessionCount,
            ["scale_small_persons"] = (double?)scale["small_persons"] ?? 0,
            ["scale_large_persons"] = (double?)scale["large_persons"] ?? 0,
            ["scale_large_tokens"] = (double?)scale["large_tokens"] ?? 0,
            ["scale_client_credentials_ratio"] = (double?)scale["client_credentials_ratio"] ?? 0,
            ["scale_refresh_ratio"] = (double?)scale["refresh_ratio"] ?? 0,
            ["scale_login_posts_ratio"] = (double?)scale["login_posts_ratio"] ?? 0,
            ["scale_sign_ins_ratio"] = (double?)scale["logins_ratio"] ?? 0,
            ["scale_login_cpu_ratio"] = (double?)scale["login_cpu_ratio"] ?? 0,
            ["scale_client_credentials_cpu_ratio"] = (double?)scale["client_credentials_cpu_ratio"] ?? 0,
            ["scale_refresh_cpu_ratio"] = (double?)scale["refresh_cpu_ratio"] ?? 0,
        };
        var document = new JsonObject
        {
            ["meta"] = meta.DeepClone(),
            ["figures"] = figures,
            ["runs"] = new JsonObject(runs.Select(p => KeyValuePair.Create(p.Key, (JsonNode?)new JsonArray(p.Value.Select(r => (JsonNode)r.DeepClone()).ToArray())))),
            ["hashing"] = hashing.DeepClone(),
            ["logins"] = logins.DeepClone(),
            ["sessions"] = sessions.DeepClone(),
            ["scale"] = scale.DeepClone(),
        };
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(jsonPath))!);
        File.WriteAllText(jsonPath, document.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));

        if (readmePath.Length > 0)
        {
            WriteTable(readmePath, meta, figures, sessionCount, sessions);
        }
        if (plotDirectory.Length > 0)
        {
            Directory.CreateDirectory(plotDirectory);
            foreach (var grant in Series.Select(s => s.Grant).Distinct())
            {
                Plot(grant, runs, Path.Combine(plotDirectory, grant + ".png"));
            }
        }
        Console.WriteLine($"wrote {jsonPath}");
    }

    /// <summary>" (Table 1,234, …)": PostgreSQL bytes per session of each table that grew (heap + TOAST + indexes).</summary>
    private static string ByTable(JsonObject sessions) => sessions["pg_tables"] is JsonObject tables && tables.Count > 0
        ? ": " + string.Join(", ", tables.Where(t => (double)t.Value!["total_bytes_per_session"]! >= 1)
            .Select(t => $"{t.Key} {((double)t.Value!["total_bytes_per_session"]!).ToString("N0", CultureInfo.InvariantCulture)}"))
        : "";

    private static void WriteTable(string readmePath, JsonObject meta, JsonObject f, int sessions, JsonObject sessionsResult)
    {
        static string N(JsonNode? value, string format = "N0") => ((double)value!).ToString(format, CultureInfo.InvariantCulture);
        var rows = new List<(string Figure, string Value, string Goal, string Ratio)>
        {
            ("client credentials, CafConnect (generated secret) / peer, peak", $"{N(f["client_credentials_peak_per_second"])} /s vs {N(f["client_credentials_peer_peak_per_second"])} /s", "≥ 1 (aim 2)", N(f["client_credentials_ratio_to_peer"], "F2")),
            ("client credentials, typed secret (PBKDF2), peak", $"{N(f["client_credentials_pbkdf2_peak_per_second"])} /s", "(before/after of decision 28)", N(f["client_credentials_keyed_to_pbkdf2_ratio"], "F2") + " keyed / PBKDF2"),
            ("client credentials, p99 at half the peak", $"{N(f["client_credentials_p99_ms_at_half_peak"], "F1")} ms", "< 20 ms", ""),
            ("refresh, public client (caf-mobile) / peer, peak", $"{N(f["refresh_public_peak_per_second"])} /s vs {N(f["refresh_public_peer_peak_per_second"])} /s", "≥ 1 (aim 2)", N(f["refresh_public_ratio_to_peer"], "F2")),
            ("refresh, public client, p99 at half the peak", $"{N(f["refresh_public_p99_ms_at_half_peak"], "F1")} ms", "< 20 ms", ""),
            ("refresh, confidential client (generated secret) / peer, peak", $"{N(f["refresh_confidential_peak_per_second"])} /s vs {N(f["refresh_confidential_peer_peak_per_second"])} /s", "≥ 1 (aim 2)", N(f["refresh_confidential_ratio_to_peer"], "F2")),
            ("refresh, confidential client, p99 at half the peak", $"{N(f["refresh_confidential_p99_ms_at_half_peak"], "F1")} ms", "< 20 ms", ""),
            ($"logins: login POSTs alone ({N(f["login_post_concurrency"])} in flight) / hashing limit ({N(f["hashing_parallelism"])} in parallel)", $"{N(f["login_posts_per_second"], "F1")} /s vs {N(f["hashing_limit_per_second"], "F1")} /s", "≥ 0.9", N(f["login_posts_ratio_to_hashing_limit"], "F2")),
            ("whole sign-ins (authorize, page, POST, code, token) / hashing limit, for information", $"{N(f["sign_ins_per_second"], "F1")} /s vs {N(f["hashing_limit_per_second"], "F1")} /s", "", N(f["sign_ins_ratio_to_hashing_limit"], "F2")),
            ("server CPU per login POST / per Argon2id hash", $"{N(f["server_cpu_ms_per_login_post"], "F1")} ms vs {N(f["cpu_ms_per_hash"], "F1")} ms", "≤ 1.1", N(f["login_post_cpu_to_hash_ratio"], "F2")),
            ("server CPU per sign-in (5 requests) / per Argon2id hash", $"{N(f["server_cpu_ms_per_login"], "F1")} ms vs {N(f["cpu_ms_per_hash"], "F1")} ms (pages {N(f["server_cpu_ms_per_login_pages"], "F1")}, POST {N(f["server_cpu_ms_per_login_post"], "F1")}, authorize + token {N(f["server_cpu_ms_per_login_code_and_token"], "F1")})", "", N(f["cpu_per_login_to_hash_ratio"], "F2")),
            ($"managed heap per session, after a full collection ({sessions:N0} sessions)", $"{N(f["managed_heap_bytes_per_session"])} B", "< 5 KB", N((double)f["managed_heap_bytes_per_session"]! / 5120, "F2")),
            ($"resident memory per session, after a full collection ({sessions:N0} sessions)", $"{N(f["rss_bytes_per_session"])} B", "< 5 KB", N((double)f["rss_bytes_per_session"]! / 5120, "F2")),
            ($"PostgreSQL bytes per session ({sessions:N0} sessions)", $"{N(f["pg_bytes_per_session"])} B{ByTable(sessionsResult)}", "< 5 KB", N((double)f["pg_bytes_per_session"]! / 5120, "F2")),
            ($"scale: {N(f["scale_large_persons"])} persons and {N(f["scale_large_tokens"])} tokens vs {N(f["scale_small_persons"])} persons, client credentials", "", "within ±10 %", N(f["scale_client_credentials_ratio"], "F2")),
            ("scale: refresh", "", "within ±10 %", N(f["scale_refresh_ratio"], "F2")),
            ("scale: logins (login POSTs alone)", "", "within ±10 %", N(f["scale_login_posts_ratio"], "F2")),
            ("scale: whole sign-ins", "", "within ±10 %", N(f["scale_sign_ins_ratio"], "F2")),
            ("scale: server CPU per sign-in, large / small store", "", "within ±10 %", N(f["scale_login_cpu_ratio"], "F2")),
            ("scale: CPU per grant (provider + PostgreSQL), large / small store: client credentials, refresh", "", "for information",
                $"{N(f["scale_client_credentials_cpu_ratio"], "F2")}, {N(f["scale_refresh_cpu_ratio"], "F2")}"),
        };
        var table = new StringBuilder();
        table.AppendLine(TableStart);
        table.AppendLine(CultureInfo.InvariantCulture, $"Run of {meta["started_utc"]} ({meta["mode"]}), {meta["cores"]} cores, load average {meta["load_before"]} before, {meta["load_after"]} after; " +
            $"figures in `bench/results/latest.json`, plots in `bench/results/*.png`.");
        table.AppendLine();
        table.AppendLine("| figure | value | goal | ratio |");
        table.AppendLine("| --- | --- | --- | --- |");
        foreach (var row in rows)
        {
            table.AppendLine($"| {row.Figure} | {row.Value} | {row.Goal} | {row.Ratio} |");
        }
        table.Append(TableEnd);
        var readme = File.ReadAllText(readmePath);
        var start = readme.IndexOf(TableStart, StringComparison.Ordinal);
        var end = readme.IndexOf(TableEnd, StringComparison.Ordinal);
        readme = start >= 0 && end > start
            ? readme[..start] + table + readme[(end + TableEnd.Length)..]
            : readme.TrimEnd() + "\n\n" + table + "\n";
        File.WriteAllText(readmePath, readme);
    }

    private static void Plot(string grant, Dictionary<string, List<JsonObject>> runs, string path)
    {
        var plot = new ScottPlot.Plot();
        plot.Title(grant.Replace('_', ' ') + ": throughput (solid, left) and p99 (dashed, right) against connections");
        plot.Axes.Bottom.Label.Text = "connections (wrk)";
        plot.Axes.Left.Label.Text = "requests/s";
        plot.Axes.Right.Label.Text = "p99 latency (ms)";
        var palette = new ScottPlot.Palettes.Category10();
        var index = 0;
        foreach (var (series, g, who) in Series)
        {
            if (g != grant || !runs.TryGetValue(series, out var list) || list.Count == 0) continue;
            var color = palette.GetColor(index++);
            var xs = list.Select(r => (double)(int)r["connections"]!).ToArray();
            var rate = plot.Add.Scatter(xs, list.Select(r => (double)r["per_second"]!).ToArray());
            rate.LegendText = who;
            rate.Color = color;
            rate.LineWidth = 2;
            var p99 = plot.Add.Scatter(xs, list.Select(r => (double)r["p99_ms"]!).ToArray());
            p99.Color = color;
            p99.LinePattern = ScottPlot.LinePattern.Dashed;
            p99.Axes.YAxis = plot.Axes.Right;
        }
        plot.ShowLegend(ScottPlot.Alignment.UpperLeft);
        plot.SavePng(path, 900, 520);
    }
}
