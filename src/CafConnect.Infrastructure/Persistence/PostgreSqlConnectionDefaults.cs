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
    public static string Apply(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        if (!Mentions(connectionString, "No Reset On Close", "NoResetOnClose"))
        {
            builder.NoResetOnClose = true;
        }
        return builder.ConnectionString;
    }

    private static bool Mentions(string connectionString, params string[] keys) =>
        connectionString.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(part => part.Split('=', 2)[0].Trim())
            .Any(key => keys.Any(k => string.Equals(k, key, StringComparison.OrdinalIgnoreCase)));
}
