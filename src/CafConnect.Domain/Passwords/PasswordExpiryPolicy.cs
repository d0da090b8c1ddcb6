namespace CafConnect.Domain.Passwords;

/// <summary>What kind of secret the person logged in with.</summary>
public enum PasswordKind
{
    /// <summary>Chosen by the person (8–24 letters and digits).</summary>
    Personal,
    /// <summary>Sent by SMS or letter (new applicant, lost password); valid 2 months, replaced at first login.</summary>
    Provisional,
    /// <summary>The former 8-digit code of the file, still used on the phone channel.</summary>
    LegacyFileCode,
}

/// <summary>Why the login must continue with a "choose a new password" step.</summary>
public enum PasswordReplacementReason
{
    PersonalExpired,
    ProvisionalFirstLogin,
    ProvisionalExpired,
    LegacyCode,
}

/// <summary>
/// A calendar length of time: "2 years" and "2 months" follow the calendar (31 January + 1 month = 28/29 February),
/// which is what people and letters mean, unlike a fixed number of days.
/// </summary>
public readonly record struct ValidityPeriod(int Years = 0, int Months = 0, int Days = 0)
{
    public static ValidityPeriod FromYears(int years) => new(Years: years);
    public static ValidityPeriod FromMonths(int months) => new(Months: months);
    public static ValidityPeriod FromDays(int days) => new(Days: days);

    public bool IsPositive => Years >= 0 && Months >= 0 && Days >= 0 && Years + Months + Days > 0;

    public DateTimeOffset AddTo(DateTimeOffset start) => start.AddYears(Years).AddMonths(Months).AddDays(Days);

    public override string ToString() => $"{Years}y{Months}m{Days}d";
}

/// <summary>Configurable validities (bind from configuration, e.g. "PasswordExpiry:PersonalValidity:Years": 2).</summary>
public sealed class PasswordExpiryOptions
{
    public ValidityPeriod PersonalValidity { get; set; } = ValidityPeriod.FromYears(2);
    public ValidityPeriod ProvisionalValidity { get; set; } = ValidityPeriod.FromMonths(2);
}

/// <summary>Result of the expiry check done after a successful password verification.</summary>
public abstract record PasswordStatus
{
    private PasswordStatus() { }

    public bool IsValid => this is Valid;

    /// <summary>The password may be used as is.</summary>
    public sealed record Valid : PasswordStatus;

    /// <summary>Login succeeds but goes on to a required "choose a new password" step: not a login failure.</summary>
    public sealed record MustBeReplaced(PasswordReplacementReason Reason) : PasswordStatus
    {
        /// <summary>French explanation shown at the top of the "choose a new password" page.</summary>
        public string Message => PasswordExpiryPolicy.MessageFor(Reason);
    }
}

/// <summary>Pure expiry rules: no clock is read here, the caller passes <c>now</c>.</summary>
public static class PasswordExpiryPolicy
{
    private static readonly PasswordStatus ValidStatus = new PasswordStatus.Valid();

    /// <param name="kind">What the person logged in with.</param>
    /// <param name="setAt">When that password was set (created, or sent for a provisional one).</param>
    /// <param name="now">The current instant.</param>
    /// <param name="options">Validities; defaults to 2 years / 2 months.</param>
    public static PasswordStatus Evaluate(PasswordKind kind, DateTimeOffset setAt, DateTimeOffset now, PasswordExpiryOptions? options = null)
    {
        options ??= new PasswordExpiryOptions();
        return kind switch
        {
            PasswordKind.Personal => IsExpired(setAt, now, options.PersonalValidity, nameof(options.PersonalValidity))
                ? new PasswordStatus.MustBeReplaced(PasswordReplacementReason.PersonalExpired)
                : ValidStatus,
            // A provisional password is only ever a way in to choose one's own: replaced at every (i.e. the first) use.
            // Expired ones are reported distinctly so the host can decide to refuse them instead (see docs).
            PasswordKind.Provisional => new PasswordStatus.MustBeReplaced(
                IsExpired(setAt, now, options.ProvisionalValidity, nameof(options.ProvisionalValidity))
                    ? PasswordReplacementReason.ProvisionalExpired
                    : PasswordReplacementReason.ProvisionalFirstLogin),
            // Web, app and kiosk logins with the old 8-digit code must create a personal password (tutorial, step 2).
            PasswordKind.LegacyFileCode => new PasswordStatus.MustBeReplaced(PasswordReplacementReason.LegacyCode),
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
        };
    }

    /// <summary>When a password of this kind stops being valid, or null for the legacy code (replaced at once).</summary>
    public static DateTimeOffset? ExpiresAt(PasswordKind kind, DateTimeOffset setAt, PasswordExpiryOptions? options = null)
    {
        options ??= new PasswordExpiryOptions();
        return kind switch
        {
            PasswordKind.Personal => Checked(options.PersonalValidity, nameof(options.PersonalValidity)).AddTo(setAt),
            PasswordKind.Provisional => Checked(options.ProvisionalValidity, nameof(options.ProvisionalValidity)).AddTo(setAt),
            PasswordKind.LegacyFileCode => null,
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
        };
    }

    public static string MessageFor(PasswordReplacementReason reason) => reason switch
    {
        PasswordReplacementReason.PersonalExpired => "Votre mot de passe a expiré. Pour des raisons de sécurité, choisissez un nouveau mot de passe.",
        PasswordReplacementReason.ProvisionalFirstLogin => "Vous vous êtes connecté avec un mot de passe provisoire. Choisissez maintenant votre mot de passe personnel.",
        PasswordReplacementReason.ProvisionalExpired => "Votre mot de passe provisoire a expiré. Choisissez un nouveau mot de passe.",
        PasswordReplacementReason.LegacyCode => "Votre ancien mot de passe à 8 chiffres doit être remplacé. Choisissez votre mot de passe personnel.",
        _ => throw new ArgumentOutOfRangeException(nameof(reason), reason, null),
    };

    // Valid strictly before setAt + validity: "valid at most 2 years" ends at that instant.
    // A setAt in the future (clock skew between servers) is simply not expired.
    private static bool IsExpired(DateTimeOffset setAt, DateTimeOffset now, ValidityPeriod validity, string name) =>
        now >= Checked(validity, name).AddTo(setAt);

    private static ValidityPeriod Checked(ValidityPeriod validity, string name) =>
        validity.IsPositive ? validity : throw new ArgumentException($"{name} must be a positive period, was {validity}.", name);
}
