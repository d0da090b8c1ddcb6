namespace CafConnect.Domain.Accounts;

/// <summary>
/// A sign-in made before the person's password was last replaced (reset, provisional password, change) is over: its
/// browser session and every grant issued under it. One rule for the session cookie (PersonSession) and for the
/// token endpoint, which applies it to codes and refresh tokens at the moment they are used — so a code or a refresh
/// that committed just after a reset's revocations (docs/decisions.md #38) is refused all the same (#41).
/// </summary>
public static class PasswordReplacement
{
    /// <param name="passwordSetAt">When the current password was set (null: never replaced since the account existed).</param>
    /// <param name="authenticatedAt">The sign-in's time as the session or token carries it (auth_time, whole seconds).</param>
    /// <param name="authenticatedAtMs">The same in milliseconds when the carrier has it (the session cookie does).</param>
    public static bool ReplacedSince(DateTimeOffset? passwordSetAt, DateTimeOffset authenticatedAt, long? authenticatedAtMs = null) =>
        passwordSetAt is { } setAt && (authenticatedAtMs is { } precise
            ? setAt.ToUnixTimeMilliseconds() > precise
            // Whole seconds: a password set in the same second as the sign-in counts as before it (never a false refusal).
            : setAt.ToUnixTimeSeconds() > authenticatedAt.ToUnixTimeSeconds());
}
