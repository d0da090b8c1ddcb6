using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;

namespace CafConnect.IdP.Tests.Support;

/// <summary>
/// A stub relying party's back-channel logout endpoint on a loopback socket (the provider POSTs over real HTTP), and
/// an independent check of what it receives: tests/Interop/verify-logout-token.mjs validates a logout token with jose
/// (node) against the JWKS the provider publishes.
/// </summary>
public sealed class BackchannelLogoutReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<string> _tokens = new();

    private BackchannelLogoutReceiver(WebApplication app) => _app = app;

    public string LogoutUri => _app.Urls.First() + "/backchannel-logout";

    public IReadOnlyList<string> Tokens => [.. _tokens];

    public static async Task<BackchannelLogoutReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var receiver = new BackchannelLogoutReceiver(app);
        app.MapPost("/backchannel-logout", async (HttpRequest request) =>
        {
            var form = await request.ReadFormAsync();
            receiver._tokens.Enqueue(form["logout_token"].ToString());
            return Results.Ok();
        });
        await app.StartAsync();
        return receiver;
    }

    /// <summary>Waits until at least <paramref name="count"/> tokens arrived (deliveries after a logout run in the background).</summary>
    public async Task<IReadOnlyList<string>> WaitForAsync(int count, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(15));
        while (_tokens.Count < count && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }
        return Tokens;
    }

    /// <summary>Signature against <paramref name="jwks"/>, typ logout+jwt, iss, aud, iat, exp, jti, sub/sid, event, no nonce.</summary>
    public static async Task<JsonNode> VerifyWithJoseAsync(string token, string jwks, string issuer, string audience)
    {
        // jose comes from tests/Interop's lock file: installed there by ./test.sh, or here on a plain `dotnet test`.
        var interop = NodePackages.EnsureInstalled("Interop");
        var start = new ProcessStartInfo("node", ["verify-logout-token.mjs"])
        {
            WorkingDirectory = interop,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var node = Process.Start(start)!;
        await node.StandardInput.WriteAsync(new JsonObject
        {
            ["token"] = token,
            ["jwks"] = JsonNode.Parse(jwks),
            ["issuer"] = issuer,
            ["audience"] = audience,
        }.ToJsonString());
        node.StandardInput.Close();
        var output = await node.StandardOutput.ReadToEndAsync();
        var error = await node.StandardError.ReadToEndAsync();
        await node.WaitForExitAsync();
        Assert.That(node.ExitCode, Is.Zero, "jose refused the logout token: " + error);
        return JsonNode.Parse(output)!;
    }

    public ValueTask DisposeAsync() => _app.DisposeAsync();
}
