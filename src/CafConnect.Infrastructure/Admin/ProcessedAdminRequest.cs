namespace CafConnect.Infrastructure.Admin;

/// <summary>
/// An admin request already applied (a file event by its event id, an applicant by its application id): the same id
/// with the same payload gets the stored answer again, with another payload a 409. Only applied requests are kept: a
/// refused one changed nothing and may be sent again, corrected, with the same id.
/// </summary>
public sealed class ProcessedAdminRequest
{
    /// <summary>Kind and caller's id, e.g. <c>file-event:EVT-2026-0001</c>.</summary>
    public string Key { get; set; } = string.Empty;

    /// <summary>SHA-256 (hex) of the request as parsed.</summary>
    public string PayloadHash { get; set; } = string.Empty;

    public int StatusCode { get; set; }

    /// <summary>The JSON answer given (internal data only: file numbers, provisional identifiers, never a NIR or a secret).</summary>
    public string Response { get; set; } = string.Empty;

    public DateTimeOffset ProcessedAt { get; set; }
}
