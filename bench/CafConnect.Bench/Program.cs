using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using CafConnect.Infrastructure.Security;
using Konscious.Security.Cryptography;

// The provider benchmark (bench/run.sh): seed, logins, report.
if (args.Length > 0 && args[0] == "seed")
{
    // seed POSTGRES FROM COUNT [TOKENS]: COUNT persons (COPY), and TOKENS token rows copied from the store's last sign-ins
    await ProviderBenchmark.SeedAsync(args[1], int.Parse(args[2]), int.Parse(args[3]), args.Length > 4 ? long.Parse(args[4]) : 0);
    return;
}
if (args.Length > 0 && args[0] == "logins")
{
    // logins PROVIDER CLIENT_ID SECRET|- REDIRECT_URI FROM COUNT CONCURRENCY PID POSTGRES|- TOKENS_FILE RESULT_FILE LABEL [WARM_UP_SECONDS]
    await ProviderBenchmark.LoginsAsync(new ProviderBenchmark.LoginSettings(new Uri(args[1]), args[2], args[3] == "-" ? null : args[3], args[4],
        int.Parse(args[5]), int.Parse(args[6]), int.Parse(args[7]), int.Parse(args[8]), args[9] == "-" ? null : args[9], args[10], args[11], args[12],
        args.Length > 13 ? double.Parse(args[13], System.Globalization.CultureInfo.InvariantCulture) : 0));
    return;
}
if (args.Length > 0 && args[0] == "report")
{
    // report RAW_DIR JSON_PATH README_PATH|- PLOT_DIR|-
    BenchReport.Write(args[1], args[2], args[3] == "-" ? "" : args[3], args[4] == "-" ? "" : args[4]);
    return;
}

if (args.Length > 0 && args[0] == "import")
{
    await ImportBenchmark.RunAsync(args.Length > 1 ? int.Parse(args[1]) : 1_000_000, withEntityFramework: !args.Contains("--no-ef"));
    return;
}

// Argon2id, same parameters, same process, alternating runs: CafConnect's hasher (libsodium through NSec)
// against Konscious.Security.Cryptography.Argon2, the library the original design named.
// Prints per-run medians and the ratio; the figures go to bench/README.md.

var memoryKiB = args.Length > 1 && args[0] == "hashing" ? int.Parse(args[1]) : 19456;
var iterations = args.Length > 2 && args[0] == "hashing" ? int.Parse(args[2]) : 2;
const int Runs = 15;
const string Password = "Vacances9Bretagne";

var ours = new Argon2idSecretHasher(new Argon2idOptions { MemoryKiB = memoryKiB, Iterations = iterations });
var salt = RandomNumberGenerator.GetBytes(16);

byte[] Konscious()
{
    using var argon = new Argon2id(Encoding.UTF8.GetBytes(Password)) { Salt = salt, DegreeOfParallelism = 1, MemorySize = memoryKiB, Iterations = iterations };
    return argon.GetBytes(32);
}

// Warm up both (JIT, first allocation of the memory blocks).
ours.Hash(Password);
Konscious();

var nsec = new List<double>();
var konscious = new List<double>();
for (var run = 0; run < Runs; run++)
{
    var watch = Stopwatch.StartNew();
    ours.Hash(Password);
    nsec.Add(watch.Elapsed.TotalMilliseconds);
    watch.Restart();
    Konscious();
    konscious.Add(watch.Elapsed.TotalMilliseconds);
}

static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);
Console.WriteLine($"Argon2id m={memoryKiB} KiB t={iterations} p=1, {Runs} runs each, {Environment.ProcessorCount} cores");
Console.WriteLine($"  NSec (libsodium), CafConnect's hasher: median {Median(nsec):F1} ms (min {nsec.Min():F1}, max {nsec.Max():F1})");
Console.WriteLine($"  Konscious.Security.Cryptography:      median {Median(konscious):F1} ms (min {konscious.Min():F1}, max {konscious.Max():F1})");
Console.WriteLine($"  ratio Konscious / NSec: {Median(konscious) / Median(nsec):F2}");
