namespace CafConnect.Infrastructure.Accounts;

/// <summary>
/// A person's account at an external identity provider (FranceConnect), linked once to their CafConnect account:
/// afterwards the provider's subject opens that account directly, without matching the civil status again.
/// </summary>
public sealed class ExternalLogin
{
    public Guid Id { get; set; } = Guid.NewGuid();

    /// <summary>The provider's name as configured (<c>FranceConnect</c>).</summary>
    public string Provider { get; set; } = string.Empty;

    /// <summary>The provider's <c>sub</c> for this person (opaque; FranceConnect's is stable per person and service).</summary>
    public string Subject { get; set; } = string.Empty;

    public Guid PersonId { get; set; }
    public DateTimeOffset LinkedAt { get; set; }
    public DateTimeOffset? LastUsedAt { get; set; }
}

/// <summary>Links between external identities and persons.</summary>
public sealed class ExternalLoginDirectory(Persistence.CafConnectDbContext db)
{
    public Task<ExternalLogin?> FindAsync(string provider, string subject, CancellationToken cancellationToken = default) =>
        Microsoft.EntityFrameworkCore.EntityFrameworkQueryableExtensions.FirstOrDefaultAsync(
            db.ExternalLogins.Where(l => l.Provider == provider && l.Subject == subject), cancellationToken);

    public Task<ExternalLogin?> FindForPersonAsync(string provider, Guid personId, CancellationToken cancellationToken = default) =>
        Microsoft.EntityFrameworkCore.EntityFrameworkQueryableExtensions.FirstOrDefaultAsync(
            db.ExternalLogins.Where(l => l.Provider == provider && l.PersonId == personId), cancellationToken);

    /// <summary>Adds the link to the unit of work (saved with the person and the audit row).</summary>
    public ExternalLogin Add(string provider, string subject, Guid personId, DateTimeOffset now)
    {
        var link = new ExternalLogin { Provider = provider, Subject = subject, PersonId = personId, LinkedAt = now, LastUsedAt = now };
        db.ExternalLogins.Add(link);
        return link;
    }
}
