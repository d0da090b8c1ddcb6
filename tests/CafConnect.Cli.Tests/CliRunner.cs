using CafConnect.Infrastructure.Persistence;
using Microsoft.Extensions.DependencyInjection;

namespace CafConnect.Cli.Tests;

public sealed record CliResult(int ExitCode, string Out, string Err)
{
    public override string ToString() => $"exit {ExitCode}\n--- stdout ---\n{Out}\n--- stderr ---\n{Err}";

    public string[] ErrorLines => Err.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
        .Where(l => l.StartsWith("error:", StringComparison.Ordinal)).ToArray();
}

/// <summary>Runs <c>cafconnect</c> in-process, against one store.</summary>
public sealed class CliRunner(StorageProvider provider, string connectionString)
{
    public StorageProvider Provider => provider;
    public string ConnectionString => connectionString;

    /// <summary>The command line with the store options appended (explicit provider: the environment cannot redirect tests).</summary>
    public Task<CliResult> RunAsync(params string[] args) =>
        RunRawAsync([.. args, "--provider", provider.ToString(), "--connection-string", connectionString]);

    public static async Task<CliResult> RunRawAsync(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var exitCode = await CafConnectCli.RunAsync(args, stdout, stderr);
        var result = new CliResult(exitCode, stdout.ToString(), stderr.ToString());
        TestContext.Out.WriteLine($"$ cafconnect {string.Join(' ', args)}\n{result}");
        return result;
    }

    /// <summary>The CLI's own services on the same store, for checks the output does not show (audit rows, secrets).</summary>
    public async Task<T> WithServicesAsync<T>(Func<IServiceProvider, Task<T>> query)
    {
        await using var host = CliHost.Create(new CliSettings(provider.ToString(), connectionString, null, false), TextWriter.Null);
        await using var scope = host.Services.CreateAsyncScope();
        return await query(scope.ServiceProvider);
    }
}
