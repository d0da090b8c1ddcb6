using Npgsql;

namespace CafConnect.Infrastructure.Persistence;

/// <summary>
/// Connection settings CafConnect needs from Npgsql when the operator's connection string does not say otherwise
/// (docs/decisions.md #36). An explicit value in <c>ConnectionStrings:CafConnect</c> always wins.
/// </summary>
public static class PostgreSqlConnectionDefaults
{
    /// <summary>
    /// <c>No Reset On Close</c>: by default Npgsql sends <c>DISCARD ALL</c> before the first command of every connection
    /// taken from the pool — one more statement (and server transaction) for each of the 3–8 statements of a grant.
    /// CafConnect leaves no session state on a connection to discard: its only <c>SET</c> is <c>SET LOCAL</c> and its
    /// temporary tables are <c>ON COMMIT DROP</c> (the PostgreSQL import), so the reset protects nothing here.
    /// </summary>
    /// <remarks>
    /// <c>Max Auto Prepare</c>: Npgsql prepares, per physical connection, the statements it has seen
    /// <see cref="AutoPrepareMinUsages"/> times (up to <see cref="MaxAutoPrepare"/> of them), so PostgreSQL parses and
    /// plans a grant's handful of statements once per connection instead of at every request. Measured with the
    /// benchmark's CPU split (docs/decisions.md #39): PostgreSQL's CPU per client-credentials grant 0.37 → 0.23 ms, per
    /// refresh 1.23 → 0.61 ms. EF Core names every column it reads, so adding a column does not invalidate a prepared
    /// statement; an operator behind a pooler that cannot hold prepared statements sets <c>Max Auto Prepare=0</c>.
    /// </remarks>
    public static string Apply(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        if (!Mentions(connectionString, "No Reset On Close", "NoResetOnClose"))
        {
            builder.NoResetOnClose = true;
        }
        if (!Mentions(connectionString, "Max Auto Prepare", "MaxAutoPrepare"))
        {
            builder.MaxAutoPrepare = MaxAutoPrepare;
            if (!Mentions(connectionString, "Auto Prepare Min Usages", "AutoPrepareMinUsages"))
            {
                builder.AutoPrepareMinUsages = AutoPrepareMinUsages;
            }
        }
        return builder.ConnectionString;
    }

    /// <summary>Statements kept prepared per connection: more than the distinct statements of the hot paths (grants, login).</summary>
    public const int MaxAutoPrepare = 64;

    /// <summary>Executions before a statement is prepared: rare statements (admin, imports) stay unprepared.</summary>
    public const int AutoPrepareMinUsages = 2;

    private static bool Mentions(string connectionString, params string[] keys) =>
        connectionString.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(part => part.Split('=', 2)[0].Trim())
            .Any(key => keys.Any(k => string.Equals(k, key, StringComparison.OrdinalIgnoreCase)));
}
