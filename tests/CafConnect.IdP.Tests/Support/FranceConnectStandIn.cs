using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace CafConnect.IdP.Tests.Support;

/// <summary>A pivot identity of the stand-in (tests/FranceConnectStandIn/stand-in.mjs), by its FranceConnect subject.</summary>
public static class StandInIdentities
{
    /// <summary>Jeanne Marie DUPONT, born 14/03/1985 in Paris 12e: the demo's Jeanne DUPONT (who holds "Jeanne" only).</summary>
    public const string JeanneDupont = "b6c1f0e2a9d34c7e8f1a2b3c4d5e6f70";
    /// <summary>"Louise Élise Dubois": the demo's Louise DUBOIS, written with accents and lower case.</summary>
    public const string LouiseDubois = "c7d2e1f3b0a44d8f9a2b3c4d5e6f7a81";
    /// <summary>Paul MARTIN, still on his file's legacy code: his first login runs through FranceConnect.</summary>
    public const string PaulMartin = "d8e3f2a4c1b55e9a0b3c4d5e6f7a8b92";
    /// <summary>Lucie BERNARD: nobody at the Caf.</summary>
    public const string Nobody = "e9f4a3b5d2c66f0b1c4d5e6f7a8b9ca3";
    /// <summary>Octave LEROY, born 01/06/1990 in Octeville (50383, merged into Cherbourg-Octeville in 2000): no demo person.</summary>
    public const string OctaveLeroy = "f0a5b4c6e3d77a1c2d5e6f7a8b9cadb4";
    /// <summary>Denise MOREAU, born 01/06/1990 in Saint-Denis (93066; homonyms in four other départements): no demo person.</summary>
    public const string DeniseMoreau = "a1b6c5d7f4e88b2d3e6f7a8b9cadbec5";
    /// <summary>Another FranceConnect identity (another sub) certifying Denise MOREAU's civil status.</summary>
    public const string DeniseMoreauOtherIdentity = "b2c7d6e8a5f99c3e4f7a8b9cadbecfd6";
}

/// <summary>
/// The FranceConnect stand-in (node oidc-provider, installed by <c>./test.sh</c> from its lock file) running on a free
/// loopback port of 5531–5539 for one fixture, with CafConnect's redirect URIs registered. Stopped (its process only)
/// when disposed.
/// </summary>
public sealed class FranceConnectStandIn : IAsyncDisposable
{
    public const string ClientId = "cafconnect-test";
    public const string ClientSecret = "stand-in-secret-for-tests-only";

    private readonly Process _node;
    private readonly StringBuilder _output;

    private FranceConnectStandIn(Process node, StringBuilder output, Uri issuer)
    {
        _node = node;
        _output = output;
        Issuer = issuer;
    }

    /// <summary>http://127.0.0.1:PORT (no trailing slash), as its discovery document says.</summary>
    public Uri Issuer { get; }

    public string Output { get { lock (_output) return _output.ToString(); } }

    /// <summary>The settings that point CafConnect at this stand-in.</summary>
    public Dictionary<string, string?> Settings(string? redirectUri = null, string? postLogoutRedirectUri = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["FranceConnect:Enabled"] = "true",
            ["FranceConnect:Issuer"] = Issuer.AbsoluteUri.TrimEnd('/'),
            ["FranceConnect:ClientId"] = ClientId,
            ["FranceConnect:ClientSecret"] = ClientSecret,
        };
        if (redirectUri is not null)
        {
            settings["FranceConnect:RedirectUri"] = redirectUri;
        }
        if (postLogoutRedirectUri is not null)
        {
            settings["FranceConnect:PostLogoutRedirectUri"] = postLogoutRedirectUri;
        }
        return settings;
    }

    public static string Directory => Path.Combine(FindRoot(), "tests", "FranceConnectStandIn");

    public static async Task<FranceConnectStandIn> StartAsync(IEnumerable<string> redirectUris, IEnumerable<string> postLogoutRedirectUris, params int[] portsInUse)
    {
        NodePackages.EnsureInstalled("FranceConnectStandIn"); // oidc-provider, from the lock file (./test.sh installs it first)
        var port = FreePort(portsInUse);
        var start = new ProcessStartInfo("node", [Path.Combine(Directory, "stand-in.mjs")])
        {
            WorkingDirectory = Directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.Environment["FC_STANDIN_PORT"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        start.Environment["FC_STANDIN_CLIENT_ID"] = ClientId;
        start.Environment["FC_STANDIN_CLIENT_SECRET"] = ClientSecret;
        start.Environment["FC_STANDIN_REDIRECT_URIS"] = string.Join(',', redirectUris);
        start.Environment["FC_STANDIN_POST_LOGOUT_REDIRECT_URIS"] = string.Join(',', postLogoutRedirectUris);

        var output = new StringBuilder();
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var node = new Process { StartInfo = start, EnableRaisingEvents = true };
        node.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (output) output.AppendLine(e.Data);
            if (e.Data.Contains("FranceConnect stand-in listening on", StringComparison.Ordinal)) ready.TrySetResult();
        };
        node.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        node.Exited += (_, _) => ready.TrySetException(new InvalidOperationException("The FranceConnect stand-in stopped:\n" + output));
        node.Start();
        node.BeginOutputReadLine();
        node.BeginErrorReadLine();
        try
        {
            await ready.Task.WaitAsync(TimeSpan.FromSeconds(90)); // generous: node starts slowly on a loaded 2-core runner
        }
        catch (TimeoutException)
        {
            if (!node.HasExited) node.Kill(entireProcessTree: true);
            string printed;
            lock (output) printed = output.ToString();
            // What node printed (or that it printed nothing) is what tells a slow start from a stuck one.
            throw new TimeoutException($"The FranceConnect stand-in (port {port}, pid {node.Id}) did not say it was listening within 90 s. It printed:\n{printed}");
        }
        catch
        {
            if (!node.HasExited) node.Kill(entireProcessTree: true);
            throw;
        }
        return new FranceConnectStandIn(node, output, new Uri($"http://127.0.0.1:{port}"));
    }

    /// <summary>The first port of 5531–5539 nobody listens on (another fixture, assembly or a demo may hold some).</summary>
    public static int FreePort(params int[] excluded)
    {
        for (var port = 5531; port <= 5539; port++)
        {
            if (excluded.Contains(port)) continue;
            try
            {
                var listener = new TcpListener(IPAddress.Loopback, port);
                listener.Start();
                listener.Stop();
                return port;
            }
            catch (SocketException)
            {
            }
        }
        throw new InvalidOperationException("No free loopback port between 5531 and 5539.");
    }

    public async ValueTask DisposeAsync()
    {
        if (!_node.HasExited)
        {
            _node.Kill(entireProcessTree: true);
            await _node.WaitForExitAsync();
        }
        _node.Dispose();
    }

    private static string FindRoot()
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
