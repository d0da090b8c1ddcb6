using System.Collections.Concurrent;
using System.ComponentModel;
using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;

namespace CafConnect.IdP.Tests.Support;

/// <summary>
/// The node packages some tests drive (tests/Interop: jose and openid-client; tests/Browser: axe-core;
/// tests/FranceConnectStandIn: oidc-provider), installed from their lock files. <c>./test.sh</c> installs them before the
/// run; a test run through plain <c>dotnet test</c> (an IDE, one project) installs them here instead: <c>npm ci</c> at most
/// once per folder and process, under a file lock so that two test assemblies running at once do not install over each
/// other, and skipped when the stamp <c>node_modules/.package-lock.sha256</c> (the one <c>./test.sh</c> writes) says the
/// lock file has not changed. When that cannot work (no npm, no network) every test that needs the packages fails with
/// the same single message saying what to do.
/// </summary>
public static class NodePackages
{
    private const string StampName = ".package-lock.sha256";
    private static readonly ConcurrentDictionary<string, Lazy<string?>> Installs = new(StringComparer.Ordinal);

    /// <summary>Makes sure tests/<paramref name="folder"/>/node_modules matches its lock file; returns the folder's path.</summary>
    public static string EnsureInstalled(string folder)
    {
        var directory = Path.Combine(RepositoryRoot(), "tests", folder);
        var problem = Installs.GetOrAdd(folder, _ => new Lazy<string?>(() => Install(folder, directory))).Value;
        if (problem is not null)
        {
            Assert.Fail(problem);
        }
        return directory;
    }

    /// <summary>Null when installed; otherwise the one message every test needing the packages fails with.</summary>
    private static string? Install(string folder, string directory)
    {
        var lockFile = Path.Combine(directory, "package-lock.json");
        var stamp = Path.Combine(directory, "node_modules", StampName);
        var sum = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(lockFile)));
        if (IsCurrent(stamp, sum))
        {
            return null;
        }

        using var exclusive = AcquireLock(Path.Combine(directory, ".npm-ci.lock"));
        if (IsCurrent(stamp, sum))
        {
            return null; // installed by the other test assembly while we waited
        }
        TestContext.Progress.WriteLine($"[node packages] npm ci in tests/{folder} (from package-lock.json, once)");
        var start = new ProcessStartInfo("npm", ["ci", "--no-audit", "--no-fund"])
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var output = new StringBuilder();
        try
        {
            using var npm = new Process { StartInfo = start };
            npm.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
            npm.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
            npm.Start();
            npm.BeginOutputReadLine();
            npm.BeginErrorReadLine();
            if (!npm.WaitForExit(TimeSpan.FromMinutes(5)))
            {
                npm.Kill(entireProcessTree: true);
                return $"npm ci in tests/{folder} did not finish within 5 minutes (is the npm registry reachable?). Run `npm ci` in tests/{folder}, or ./test.sh.";
            }
            npm.WaitForExit();
            if (npm.ExitCode != 0)
            {
                return $"npm ci in tests/{folder} failed (exit code {npm.ExitCode}); run it by hand to see why, or ./test.sh:\n{Tail(output.ToString())}";
            }
        }
        catch (Win32Exception)
        {
            return $"npm was not found, and the tests of tests/{folder} need its node packages: install Node.js and npm (apt-get install nodejs npm), or run ./test.sh, which installs them.";
        }
        File.WriteAllText(stamp, sum + "\n");
        return null;
    }

    private static bool IsCurrent(string stamp, string sum) =>
        File.Exists(stamp) && string.Equals(File.ReadAllText(stamp).Trim(), sum, StringComparison.Ordinal);

    /// <summary>An exclusive lock on a file next to the lock file (FileShare.None is an flock on Linux), waited for up to 10 minutes.</summary>
    private static FileStream AcquireLock(string path)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(10);
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                Thread.Sleep(200);
            }
        }
    }

    private static string Tail(string text)
    {
        var lines = text.Split('\n');
        return string.Join('\n', lines.Skip(Math.Max(0, lines.Length - 20)));
    }

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "CafConnect.IdP.sln")))
            {
                return directory.FullName;
            }
        }
        throw new InvalidOperationException("CafConnect.IdP.sln not found above " + AppContext.BaseDirectory);
    }
}
