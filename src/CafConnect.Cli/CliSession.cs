using CafConnect.Application.Persistence;
using CafConnect.Infrastructure.Audit;
using CafConnect.Infrastructure.Persistence;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Spectre.Console;

namespace CafConnect.Cli;

/// <summary>What a command works with: the services of one scope, the output and the audit trail.</summary>
public sealed class CliSession(CliHost host, IServiceProvider services, IAnsiConsole console, TextWriter error)
{
    private const int MaxAuditDetails = 2000;

    public CliHost Host => host;
    public IAnsiConsole Console => console;
    public TextWriter Error => error;

    /// <summary>The operator, as the operating system knows them: recorded in every audit event's details.</summary>
    public static string OperatorName => Environment.UserName;

    public T Get<T>() where T : notnull => services.GetRequiredService<T>();

    /// <summary>
    /// Runs an administrative change and appends its audit event in the same transaction:
    /// a change is never stored without its audit row, nor the reverse.
    /// </summary>
    public async Task<T> AuditedAsync<T>(Func<CancellationToken, Task<(T Result, AuditEntry Entry)>> change, CancellationToken cancellationToken)
    {
        var db = Get<CafConnectDbContext>();
        var audit = Get<AuditTrail>();
        // PostgreSQL and SQL Server run with a retrying execution strategy, which only accepts transactions opened
        // through it; a retried attempt starts again without the failed attempt's new rows (StoreTransactions).
        return await db.InTransactionAsync(async ct =>
        {
            var (result, entry) = await change(ct);
            audit.Append(entry with { Details = WithOperator(entry.Details) });
            return result;
        }, cancellationToken);
    }

    public Task AuditedAsync(Func<CancellationToken, Task<AuditEntry>> change, CancellationToken cancellationToken) =>
        AuditedAsync<bool>(async ct => (true, await change(ct)), cancellationToken);

    private static string WithOperator(string? details)
    {
        var text = $"operator={OperatorName}; host={Environment.MachineName}" + (string.IsNullOrEmpty(details) ? string.Empty : "; " + details);
        return text.Length <= MaxAuditDetails ? text : text[..(MaxAuditDetails - 1)] + "…";
    }
}
