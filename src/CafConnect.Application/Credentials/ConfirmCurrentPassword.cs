using System.Net;
using CafConnect.Domain.Accounts;
using CafConnect.Infrastructure.Audit;
using CafConnect.Infrastructure.Security;
using CafConnect.Infrastructure.Throttling;

namespace CafConnect.Application.Credentials;

/// <summary>
/// The one check of the current password before a change made from « Mon compte » (the password itself, the personal
/// phone code): checked like a login, through the account's guess budget (<see cref="ILoginThrottle.BeginAsync"/>), a
/// failure audited <c>login.failed</c> with the step. The caller commits.
/// </summary>
public sealed class ConfirmCurrentPassword(LegacySecretVerifiers secrets, ILoginThrottle throttle, AuditTrail audit)
{
    public const string MissingMessage = "Saisissez votre mot de passe actuel.";
    public const string WrongMessage = "Le mot de passe actuel est incorrect.";

    /// <returns>Null when the password is right, else the French message for the field.</returns>
    public async Task<string?> CheckAsync(PersonAccount person, string? currentPassword, IPAddress? clientIp, string step, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(currentPassword))
        {
            return MissingMessage;
        }
        var gate = await throttle.BeginAsync(person, ThrottleSource.FromIp(clientIp), cancellationToken);
        var right = gate.Allowed && person.PasswordHash is not null
            && secrets.VerifyAndUpgrade(currentPassword, person.PasswordHash, out _);
        if (!right)
        {
            if (gate.Allowed)
            {
                await throttle.FailedAsync(gate, person, null, cancellationToken);
            }
            audit.Append(new AuditEntry(AuditEventTypes.LoginFailed, gate.Allowed ? "wrong_password" : gate.RefusalReason, person.Id, Details: "step=" + step));
            return WrongMessage;
        }
        await throttle.SucceededAsync(gate, cancellationToken);
        return null;
    }
}
