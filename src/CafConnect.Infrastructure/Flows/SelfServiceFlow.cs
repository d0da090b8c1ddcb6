namespace CafConnect.Infrastructure.Flows;

/// <summary>
/// A multi-step journey in progress (first login, recovery, account creation…), kept on the server with an expiry,
/// so it survives a restart, works across instances, and nothing a person could tamper with rides in the page.
/// Pages find it by <c>?flow=&lt;id&gt;</c>; it only opens in the browser that started it.
/// </summary>
public sealed class SelfServiceFlow
{
    /// <summary>Random, unguessable (24 bytes, base64url).</summary>
    public string Id { get; set; } = string.Empty;

    /// <summary>Which journey: <c>first-login</c>, …</summary>
    public string Type { get; set; } = string.Empty;

    /// <summary>Named state of the journey (a page). New states are added, old names never redefined.</summary>
    public string State { get; set; } = string.Empty;

    public Guid? PersonId { get; set; }
    public string? ClientId { get; set; }

    /// <summary>Where the journey ends (a local URL: the pending authorization request, or "Mon compte").</summary>
    public string ReturnUrl { get; set; } = "/mon-compte";

    /// <summary>SHA-256 of the browser-binding cookie's value: the flow opens only in the browser that started it.</summary>
    public string BrowserBinding { get; set; } = string.Empty;

    public DateTimeOffset IssuedAt { get; set; }
    public DateTimeOffset ExpiresAt { get; set; }
    public DateTimeOffset? CompletedAt { get; set; }
    public DateTimeOffset? VoidedAt { get; set; }

    /// <summary>The journey's own data (JSON); never a secret (no password, no code).</summary>
    public string Context { get; set; } = "{}";

    public Guid ConcurrencyStamp { get; set; } = Guid.NewGuid();

    public bool IsOpenAt(DateTimeOffset now) => CompletedAt is null && VoidedAt is null && now < ExpiresAt;
}
