#!/usr/bin/env python3
"""perf-split.py SCRIPT.txt [CPU_MS_PER_REQUEST]: the samples of `perf script -F comm,tid,ip,sym,dso` (perf record -g of the
provider, DOTNET_PerfMapEnabled=1) split into the Argon2id hash (libsodium's fill; the kernel's mmap + MAP_POPULATE and
munmap of its memory) and, for the rest, the first named component from the leaf (EF Core, Npgsql, Redis client,
Kestrel, ...). With the CPU per request, each share is also given in ms. bench/README.md, "Login POST: where the CPU goes"."""
import re, sys, collections
path = sys.argv[1]; per = float(sys.argv[2]) if len(sys.argv) > 2 else None
generic = {"kernel", "libc", "libcoreclr", "System.Private.CoreLib", "unknown", "ld-linux-x86-64", "libclrjit", "libSystem.Native", "vdso", "System.Runtime", "System.Linq", "System.Collections", "System.Collections.Concurrent", "System.Memory", "System.Threading", "Microsoft.Extensions.DependencyInjection", "System.Linq.Expressions", "Microsoft.Extensions.Primitives", "System.Text.Encodings.Web", "System.Runtime.Intrinsics", "libm", "System.Private.Uri"}
def label(line):
    m = re.match(r"\s*[0-9a-f]+ (.*) \(([^)]*)\)$", line)
    if not m: return "unknown", ""
    sym, dso = m.groups()
    if dso == "[kernel.kallsyms]": return "kernel", sym
    a = re.search(r"\[([A-Za-z0-9_.]+)\]", sym)
    if dso.startswith("/tmp/perf-") and a: return a.group(1), sym
    base = dso.rsplit("/", 1)[-1]
    base = re.sub(r"\.(dll|so)(\.[0-9.]+)?$", "", base)
    return base, sym
def group(asm):
    for prefix, name in [("Npgsql", "Npgsql"), ("Microsoft.EntityFrameworkCore", "EF Core"), ("StackExchange.Redis", "Redis client"), ("Pipelines.Sockets", "Redis client"),
                         ("Microsoft.AspNetCore.Antiforgery", "antiforgery"), ("Microsoft.AspNetCore.DataProtection", "data protection"), ("Microsoft.AspNetCore.Cryptography", "data protection"),
                         ("Microsoft.AspNetCore.Mvc.Razor", "Razor/MVC"), ("Microsoft.AspNetCore.Razor", "Razor/MVC"), ("Microsoft.AspNetCore.Mvc", "Razor/MVC"),
                         ("Microsoft.Extensions.Logging", "logging"), ("Microsoft.AspNetCore.Server.Kestrel", "Kestrel/sockets"), ("System.Net.Sockets", "Kestrel/sockets"), ("System.IO.Pipelines", "Kestrel/sockets"),
                         ("Microsoft.AspNetCore.Authentication", "authentication/cookies"), ("OpenIddict", "OpenIddict"), ("Microsoft.IdentityModel", "OpenIddict"),
                         ("System.Text.Json", "JSON"), ("CafConnect", "CafConnect code"), ("Microsoft.AspNetCore", "ASP.NET Core other"), ("libcrypto", "OpenSSL"), ("libSystem.Security", "OpenSSL"),
                         ("System.Security.Cryptography", "OpenSSL"), ("Microsoft.Extensions", "Microsoft.Extensions other")]:
        if asm.startswith(prefix): return name
    return "other: " + asm
counts = collections.Counter(); total = 0
block = []; comm = ""
def flush():
    global total
    if not block: return
    total += 1
    frames = [label(l) for l in block]
    syms = " ".join(s for _, s in frames)
    if "crypto_pwhash" in syms:
        if "__mm_populate" in syms or "vm_mmap_pgoff" in syms: k = "hash: mmap + MAP_POPULATE (kernel: allocate, zero, map 4,864 pages)"
        elif "munmap" in syms: k = "hash: munmap (kernel: free pages, TLB)"
        elif frames[0][0] == "kernel": k = "hash: other kernel (interrupts)"
        else: k = "hash: Argon2 fill (libsodium)"
    elif "sched_yield" in syms or "LowLevelLifoSemaphore" in syms or "LowLevelSpinWaiter" in syms: k = "thread pool: spinning/yield of idle workers"
    elif comm.startswith(".NET BGC") or comm.startswith(".NET Server GC") or "gc_heap" in syms: k = "GC threads"
    else:
        k = None
        for asm, _ in frames:
            if asm not in generic: k = group(asm); break
        if k is None:
            k = "runtime/kernel, no managed caller named (" + frames[0][0] + ")"
    counts[k] += 1
for line in open(path, errors="replace"):
    if not line.strip():
        flush(); block = []; continue
    if not line.startswith("\t") and not line.startswith(" "):
        comm = line.strip(); continue
    block.append(line.rstrip("\n"))
flush()
print(f"{total} samples" + (f", {per:.2f} ms CPU per POST" if per else ""))
for k, v in counts.most_common():
    print(f"  {100*v/total:5.1f} %" + (f"  {per*v/total:5.2f} ms" if per else "") + f"  {k}")
