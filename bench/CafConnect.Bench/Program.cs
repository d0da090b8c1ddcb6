using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using CafConnect.Infrastructure.Security;
using Konscious.Security.Cryptography;

// The provider benchmark (bench/run.sh): seed, logins, report, and the small steps between them (ProviderCommands).
if (args.Length > 0 && args[0] == "serve")
{
    // bench/run.sh keeps one bench process for the whole run and sends it its commands (ProviderCommands.ServeAsync):
    // each `dotnet` start-up costs seconds on a loaded machine, and a run has a dozen steps.
    return await ProviderCommands.ServeAsync(Console.In);
}
if (args.Length > 0 && ProviderCommands.Names.Contains(args[0]))
{
    return await ProviderCommands.RunAsync(args);
}

if (args.Length > 0 && args[0] == "import")
{
    await ImportBenchmark.RunAsync(args.Length > 1 ? int.Parse(args[1]) : 1_000_000, withEntityFramework: !args.Contains("--no-ef"));
    return 0;
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
return 0;
