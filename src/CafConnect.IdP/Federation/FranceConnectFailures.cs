namespace CafConnect.IdP.Federation;

/// <summary>What counts as FranceConnect being unavailable, for the sign-in (its pages) and the sign-out (session glue) alike.</summary>
public static class FranceConnectFailures
{
    /// <summary>FranceConnect unreachable, too slow (the HTTP client's timeout cancels the call), or an answer OpenIddict cannot use.</summary>
    public static bool IsUnavailable(Exception exception) =>
        exception is HttpRequestException or OpenIddict.Abstractions.OpenIddictExceptions.ProtocolException or InvalidOperationException or OperationCanceledException;
}
