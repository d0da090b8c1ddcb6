using System.Diagnostics;
using System.Text;
using CafConnect.Browser.Tests.Support;
using CafConnect.IdP.Demo;
using CafConnect.IdP.Tests.Support;

namespace CafConnect.Browser.Tests.Interop;

/// <summary>
/// An independent relying party — openid-client 6, certified by the OpenID Foundation — signs in against the real host
/// on a loopback socket (tests/Interop/rp-interop.mjs): discovery, code + PKCE with state and nonce, the RFC 9207 iss
/// check, ID token validation against the JWKS, userinfo, refresh, RP-initiated logout; as a confidential client
/// (caf-fr) and as a public one (caf-mobile).
///
/// Redirect URIs: the seeded clients are used exactly as Development registers them (caf-fr on
/// http://127.0.0.1:5000/demo/callback, caf-mobile on its custom scheme). No test client and no configuration override
/// is needed because the script plays the browser with fetch and never follows the last redirect: it reads the
/// Location that points to the client, as a native app reads its custom-scheme redirect. The provider only compares
/// redirect URIs with the registration; nothing has to listen there, so the host's random port does not matter.
/// </summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
public sealed class OpenIdClientInteropTests(StoreKind kind)
{
    private LiveHost _host = null!;

    [OneTimeSetUp]
    public void StartHost() => _host = LiveHost.Start(kind);

    [OneTimeTearDown]
    public async Task StopHostAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }
    }

    [Test]
    public async Task openid_client_signs_in_refreshes_and_logs_out_as_a_confidential_and_a_public_client()
    {
        var script = Path.Combine(RepositoryPaths.Interop, "rp-interop.mjs");
        NodePackages.EnsureInstalled("Interop"); // openid-client, from the lock file (./test.sh installs it first)

        var start = new ProcessStartInfo("node", [script])
        {
            WorkingDirectory = RepositoryPaths.Interop,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            Environment =
            {
                ["ISSUER"] = _host.BaseAddress.ToString(),
                ["CLIENT_ID"] = TestClient.CafFr.ClientId,
                ["CLIENT_SECRET"] = TestClient.CafFr.Secret,
                ["REDIRECT_URI"] = TestClient.CafFr.RedirectUri,
                ["POST_LOGOUT_REDIRECT_URI"] = TestClient.CafFr.PostLogoutRedirectUri,
                ["PUBLIC_CLIENT_ID"] = TestClient.CafMobile.ClientId,
                ["PUBLIC_REDIRECT_URI"] = TestClient.CafMobile.RedirectUri,
                ["PUBLIC_POST_LOGOUT_REDIRECT_URI"] = TestClient.CafMobile.PostLogoutRedirectUri,
                ["LOGIN_IDENTIFIER"] = DemoData.LouiseDubois.Nir,
                ["LOGIN_PASSWORD"] = DemoData.LouiseDubois.Password,
                ["NODE_NO_WARNINGS"] = "1",
            },
        };

        var output = new StringBuilder();
        using var node = new Process { StartInfo = start };
        node.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        node.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        node.Start();
        node.BeginOutputReadLine();
        node.BeginErrorReadLine();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        try
        {
            await node.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            node.Kill(entireProcessTree: true);
            Assert.Fail("the relying-party script did not finish within 2 minutes:\n" + output);
        }
        node.WaitForExit(); // flushes the redirected streams

        TestContext.Out.WriteLine(output.ToString());
        Assert.That(node.ExitCode, Is.EqualTo(0), "node tests/Interop/rp-interop.mjs failed:\n" + output);
        Assert.That(output.ToString(), Does.Contain("INTEROP OK"));
    }
}
