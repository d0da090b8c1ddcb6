using System.Net.Sockets;
using Microsoft.EntityFrameworkCore.Storage;
using Npgsql;

namespace CafConnect.Infrastructure.Persistence;

/// <summary>
/// EF Core's retrying execution strategy for PostgreSQL, retrying only the failures after which the server certainly
/// did not apply the operation (docs/decisions.md #29): the connection could not be opened (refused, the server starting
/// up or shutting down, too many connections), the server ended the session (a restart or failover: the pooled
/// connections all die with <c>57P01</c>, and a transaction cut off that way is rolled back), or it rolled the
/// transaction back itself (serialization failure, deadlock). A broken stream or a timeout is <em>not</em> retried:
/// the server may have committed (a lost acknowledgement), and replaying a commit could send a message twice. Those
/// surface as an outage (503) instead.
/// </summary>
/// <remarks>
/// Bounded for a web request: <see cref="RetryCount"/> retries at most <see cref="RetryDelayCap"/> apart (EF
/// Core's exponential back-off with jitter), a few seconds in all — the length of a restart — after which the caller
/// gets a <see cref="RetryLimitExceededException"/>, an outage. Every explicit transaction of the code base is opened
/// inside <c>Database.CreateExecutionStrategy().ExecuteAsync</c> (the strategy refuses the others), and each such block
/// starts from a clean change tracker or rebuilds its changes, so running it again is the same as running it once.
/// </remarks>
public sealed class PostgreSqlExecutionStrategy(ExecutionStrategyDependencies dependencies)
    : Npgsql.EntityFrameworkCore.PostgreSQL.NpgsqlRetryingExecutionStrategy(dependencies, RetryCount, RetryDelayCap, errorCodesToAdd: null)
{
    public const int RetryCount = 3;
    public static readonly TimeSpan RetryDelayCap = TimeSpan.FromSeconds(2);

    protected override bool ShouldRetryOn(Exception? exception) => exception is not null && IsSafeToRetry(exception);

    /// <summary>True when the failure proves the server did not apply the operation: running it again cannot apply it twice.</summary>
    public static bool IsSafeToRetry(Exception exception) => exception switch
    {
        PostgresException postgres => postgres.SqlState is
            PostgresErrorCodes.AdminShutdown // 57P01: the session was terminated (restart, failover, pg_terminate_backend)
            or PostgresErrorCodes.CrashShutdown // 57P02
            or PostgresErrorCodes.CannotConnectNow // 57P03: starting up or shutting down
            or PostgresErrorCodes.TooManyConnections // 53300: refused at connection
            or PostgresErrorCodes.SerializationFailure // 40001: rolled back by the server
            or PostgresErrorCodes.DeadlockDetected, // 40P01: rolled back by the server
        NpgsqlException { InnerException: SocketException { SocketErrorCode: SocketError.ConnectionRefused } } => true,
        _ => false,
    };

    /// <summary>
    /// True when the failure means PostgreSQL is unreachable or going away (an outage, answered 503), as opposed to a bug:
    /// Npgsql's transient failures and the session-ending codes it does not count as transient.
    /// </summary>
    public static bool IsUnavailable(Exception exception) => exception switch
    {
        NpgsqlException { IsTransient: true } => true,
        PostgresException { SqlState: PostgresErrorCodes.AdminShutdown or PostgresErrorCodes.CrashShutdown or PostgresErrorCodes.CannotConnectNow } => true,
        _ => false,
    };
}
