using System.Diagnostics;
using CafConnect.Infrastructure.Security;

namespace CafConnect.IdP.Operations;

/// <summary>
/// The hashing limit of the login benchmark (bench/README.md, issue #14): how many Argon2id verifications this very
/// process does per second with as many in parallel as it has cores, and the CPU time of one. Off unless
/// <c>Bench:HashingEndpoint</c> is true, and then only in Development and only from loopback: it burns CPU on demand.
/// Beside it, under the same guards, <see cref="GcPath"/>: a full blocking, compacting collection, then the managed heap
/// and the resident memory, so that the memory per session is read without the garbage collector's timing in it.
/// </summary>
public static class BenchHashingEndpoint
{
    public const string Path = "/bench/hashing";
    public const string GcPath = "/bench/gc";
    public const string SettingKey = "Bench:HashingEndpoint";

    public static void MapBenchHashing(this WebApplication app)
    {
        if (!app.Environment.IsDevelopment() || !app.Configuration.GetValue(SettingKey, false))
        {
            return;
        }
        app.MapPost(Path, (HttpContext http, ISecretHasher hasher, int? count) =>
        {
            if (http.Connection.RemoteIpAddress is not { } address || !System.Net.IPAddress.IsLoopback(address))
            {
                return Results.NotFound();
            }
            var hashes = Math.Clamp(count ?? 200, 1, 100_000);
            var stored = hasher.Hash("Vacances9Bretagne");
            var parallelism = Environment.ProcessorCount;
            using var process = Process.GetCurrentProcess();
            var cpuBefore = process.TotalProcessorTime;
            var watch = Stopwatch.StartNew();
            Parallel.For(0, hashes, new ParallelOptions { MaxDegreeOfParallelism = parallelism }, _ => hasher.Verify("Vacances9Bretagne", stored));
            var elapsed = watch.Elapsed;
            process.Refresh();
            var cpu = process.TotalProcessorTime - cpuBefore;
            return Results.Json(new
            {
                hashes,
                parallelism,
                seconds = elapsed.TotalSeconds,
                per_second = hashes / elapsed.TotalSeconds,
                cpu_ms_per_hash = cpu.TotalMilliseconds / hashes,
            });
        }).DisableAntiforgery();
        app.MapPost(GcPath, (HttpContext http) =>
        {
            if (http.Connection.RemoteIpAddress is not { } address || !System.Net.IPAddress.IsLoopback(address))
            {
                return Results.NotFound();
            }
            System.Runtime.GCSettings.LargeObjectHeapCompactionMode = System.Runtime.GCLargeObjectHeapCompactionMode.CompactOnce;
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
            GC.WaitForPendingFinalizers();
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
            using var process = Process.GetCurrentProcess();
            return Results.Json(new
            {
                heap_bytes = GC.GetTotalMemory(forceFullCollection: false),
                gc_heap_size_bytes = GC.GetGCMemoryInfo().HeapSizeBytes,
                rss_bytes = process.WorkingSet64,
            });
        }).DisableAntiforgery();
    }
}
