using CafConnect.Infrastructure.Households;

namespace CafConnect.IdP.Features.Shared;

/// <summary>What the « Mes autorisations » question needs to render: the question, the answer shown, its error.</summary>
public sealed record DelegationQuestionView(DelegationQuestion Question, bool? Selected, string? Error, bool ShowCurrentState);

/// <summary>The two confirmation messages of seed 004, shown after a change.</summary>
public static class DelegationMessages
{
    public const string Granted = "Nous vous confirmons que votre conjoint est maintenant autorisé à consulter l'ensemble du dossier et à réaliser les démarches en ligne. Vous pouvez modifier ce choix depuis le menu > Gérer mon compte.";
    public const string Withdrawn = "Nous vous confirmons que votre conjoint ne peut plus consulter l'ensemble du dossier et réaliser les démarches en ligne. Vous pouvez modifier ce choix depuis le menu > Gérer mon compte.";
}
