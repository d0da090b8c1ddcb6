using CafConnect.Infrastructure.Verification;

namespace CafConnect.Application.CodeStep;

/// <summary>Every word a person reads about a 6-digit code, once (seed 003 wording).</summary>
public static class CodeStepMessages
{
    public const string Format = "Le code de vérification comporte 6 chiffres.";
    public const string WrongLastTry = "Le code saisi est incorrect. Il vous reste 1 essai.";
    public const string Exhausted = "Le code saisi est incorrect. Trop d'essais : ce code n'est plus valable. Demandez l'envoi d'un nouveau code.";
    public const string Expired = "Ce code n'est plus valable. Demandez l'envoi d'un nouveau code.";

    public static string Wrong(int attemptsRemaining) =>
        attemptsRemaining > 1 ? $"Le code saisi est incorrect. Il vous reste {attemptsRemaining} essais." : WrongLastTry;

    public static string TooSoon(TimeSpan retryAfter) =>
        $"Un code vient de vous être envoyé. Patientez {Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds))} secondes avant d'en demander un nouveau.";

    /// <summary>What to do once the sends are used up depends on the journey (another contact, or later).</summary>
    public static string TooManySends(CodePurpose purpose) => purpose switch
    {
        CodePurpose.PasswordRecovery => "Vous avez demandé le nombre maximum de codes. Recommencez la démarche plus tard.",
        CodePurpose.ContactVerification => "Vous avez demandé le nombre maximum de codes pour ces coordonnées. Modifiez vos coordonnées de contact ou reconnectez-vous plus tard.",
        _ => "Vous avez demandé le nombre maximum de codes pour ces coordonnées. Recommencez plus tard.",
    };

    /// <summary>The answer to a check that did not verify (wrong, exhausted, expired).</summary>
    internal static string For(CodeCheckResult result) => result.Outcome switch
    {
        CodeCheck.Wrong => Wrong(result.AttemptsRemaining),
        CodeCheck.Exhausted => Exhausted,
        _ => Expired,
    };

    /// <summary>"10 minutes", "1 minute", "45 secondes": a code's lifetime as the person reads it.</summary>
    public static string Duration(TimeSpan duration)
    {
        if (duration.TotalSeconds < 60 || duration.Seconds != 0)
        {
            var seconds = (int)Math.Ceiling(duration.TotalSeconds);
            return seconds == 1 ? "1 seconde" : $"{seconds} secondes";
        }
        var minutes = (int)duration.TotalMinutes;
        return minutes == 1 ? "1 minute" : $"{minutes} minutes";
    }
}
