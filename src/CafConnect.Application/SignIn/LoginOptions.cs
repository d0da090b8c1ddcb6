using CafConnect.Domain.Accounts;
using CafConnect.Domain.Passwords;

namespace CafConnect.Application.SignIn;

/// <summary>Settings of the login and of the steps it may ask for (<c>Accounts:*</c>).</summary>
public sealed class LoginOptions
{
    public PasswordExpiryOptions PasswordExpiry { get; set; } = new();
    public TimeSpan ContactReminderInterval { get; set; } = RequiredActionTriggers.DefaultContactReminderInterval;
    /// <summary>How long « Passer » on « Mes autorisations » keeps the question from being asked again.</summary>
    public TimeSpan DelegationReminderInterval { get; set; } = RequiredActionTriggers.DefaultDelegationReminderInterval;
}
