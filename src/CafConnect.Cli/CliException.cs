namespace CafConnect.Cli;

public static class ExitCodes
{
    public const int Success = 0;

    /// <summary>The store, the network or anything else failed.</summary>
    public const int Failure = 1;

    /// <summary>The command line, the configuration or the data given was refused.</summary>
    public const int Usage = 2;

    /// <summary>The work was done, but some of it could not reach a third party (e.g. a relying party): re-run later.</summary>
    public const int Incomplete = 3;
}

/// <summary>An expected failure: its lines are printed as they are (no stack trace) and the process exits with <see cref="ExitCode"/>.</summary>
public sealed class CliException(int exitCode, IReadOnlyList<string> messages) : Exception(string.Join(Environment.NewLine, messages))
{
    public CliException(int exitCode, string message) : this(exitCode, [message])
    {
    }

    public int ExitCode { get; } = exitCode;
    public IReadOnlyList<string> Messages { get; } = messages;

    public static CliException Usage(string message) => new(ExitCodes.Usage, message);
    public static CliException Failure(string message) => new(ExitCodes.Failure, message);
}
