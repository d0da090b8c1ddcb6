using CafConnect.Infrastructure.Persistence;
using Microsoft.EntityFrameworkCore;

namespace CafConnect.Infrastructure.Terms;

/// <summary>A published version of the "conditions générales d'utilisation"; a newer version is asked again at login.</summary>
public sealed class TermsOfUseVersion
{
    public int Version { get; set; }
    public string Title { get; set; } = string.Empty;

    /// <summary>The text in French, paragraphs separated by blank lines.</summary>
    public string Text { get; set; } = string.Empty;
    public DateTimeOffset PublishedAt { get; set; }
}

/// <summary>Proof of acceptance: who accepted which version, when, through which channel.</summary>
public sealed class TermsAcceptance
{
    public long Id { get; set; }
    public Guid PersonId { get; set; }
    public int Version { get; set; }
    public DateTimeOffset AcceptedAt { get; set; }
    public string? Channel { get; set; }
}

public sealed class TermsOfUseCatalog(CafConnectDbContext db, TimeProvider clock)
{
    public Task<TermsOfUseVersion?> CurrentAsync(CancellationToken cancellationToken = default) =>
        db.TermsOfUse.OrderByDescending(t => t.Version).FirstOrDefaultAsync(cancellationToken);

    /// <summary>
    /// The current version's number alone (null when none is published): what every login compares with the version the
    /// person accepted. Neither the text nor a tracked row is needed for that.
    /// </summary>
    public Task<int?> CurrentVersionAsync(CancellationToken cancellationToken = default) =>
        db.TermsOfUse.MaxAsync(t => (int?)t.Version, cancellationToken);

    /// <summary>Publishes the first version when the store has none (start-up); later versions come through the admin tool.</summary>
    public async Task EnsurePublishedAsync(CancellationToken cancellationToken = default)
    {
        if (await db.TermsOfUse.AnyAsync(cancellationToken))
        {
            return;
        }
        db.TermsOfUse.Add(new TermsOfUseVersion
        {
            Version = 1,
            Title = "Conditions générales d'utilisation de « Mon Compte »",
            Text = InitialText,
            PublishedAt = clock.GetUtcNow(),
        });
        await db.SaveChangesAsync(cancellationToken);
    }

    public async Task<TermsOfUseVersion> PublishAsync(string title, string text, CancellationToken cancellationToken = default)
    {
        var next = (await db.TermsOfUse.MaxAsync(t => (int?)t.Version, cancellationToken) ?? 0) + 1;
        var version = new TermsOfUseVersion { Version = next, Title = title, Text = text, PublishedAt = clock.GetUtcNow() };
        db.TermsOfUse.Add(version);
        await db.SaveChangesAsync(cancellationToken);
        return version;
    }

    /// <summary>From the users' tutorial (seed 004).</summary>
    public const string InitialText =
        "Pour continuer à consulter et gérer votre compte, merci de prendre connaissance des nouvelles conditions générales d'utilisation et de les accepter.\n\n" +
        "Le traitement des données personnelles ainsi recueillies est réputé fondé sur le consentement ainsi obtenu par l'utilisateur.\n\n" +
        "Les décisions automatiques individuelles\n\n" +
        "La branche famille est autorisée par l'article 22.b du RGPD et dans le cadre de l'exception prévue par l'article 47.2 de la loi Informatique et Libertés, " +
        "modifiée par le décret n°2019-536 du 29 mai 2019, à prononcer des décisions administratives individuelles fondées sur une mise en œuvre des traitements automatisés. " +
        "Ces décisions sont prises dans le respect de l'article L 311-3-1 et suivants du Code des relations entre le public et l'administration et rappellent à l'utilisateur " +
        "son droit d'obtenir communication des règles et principales caractéristiques du traitement, les modalités d'exercice de ce droit et les possibilités de recours en cas de refus.";
}
