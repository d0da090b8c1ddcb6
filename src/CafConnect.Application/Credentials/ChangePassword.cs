using System.Net;
using CafConnect.Domain.Accounts;
using CafConnect.Application.Persistence;

namespace CafConnect.Application.Credentials;

public sealed record ChangePasswordRequest(PersonAccount Person, string? CurrentPassword, string? NewPassword, string? Confirmation, IPAddress? ClientIp, string? SessionId);

/// <summary>Refused: the field (<see cref="CurrentField"/>, <c>Password</c>, <c>Confirmation</c>) and its French message.</summary>
public sealed record ChangePasswordResult(string? Field, string? Message)
{
    public const string CurrentField = "Current";
    public bool Succeeded => Field is null;
}

/// <summary>
/// « Changer mon mot de passe » from « Mon compte » (issue 16, seed 000): the current password, checked like a login (it
/// spends the account's guess budget), then <see cref="SetPersonalPassword"/> — the same rules, message and revocations as
/// every password setting (docs/decisions.md #17). The person stays signed in here, every other session and grant ends.
/// <para>One commit: a refusal commits its audit line here (the page only shows it again); a success commits nothing
/// yet — the caller opens the fresh session this browser needs (its row) and commits once, with the password, the
/// message and the audit lines, so that no password is stored without the session that keeps the person signed in.</para>
/// </summary>
public sealed class ChangePassword(IUnitOfWork unitOfWork, ConfirmCurrentPassword current, SetPersonalPassword passwords)
{
    public const string WrongCurrentMessage = ConfirmCurrentPassword.WrongMessage;

    public async Task<ChangePasswordResult> ExecuteAsync(ChangePasswordRequest request, CancellationToken cancellationToken)
    {
        var person = request.Person;
        if (await current.CheckAsync(person, request.CurrentPassword, request.ClientIp, "change_password", cancellationToken) is { } refused)
        {
            // The refusal's audit line (and a lock's message): the page only shows the error again.
            await unitOfWork.CommitAsync(cancellationToken);
            return new(ChangePasswordResult.CurrentField, refused);
        }

        var setting = new SetPersonalPasswordRequest(person, request.NewPassword, request.Confirmation, PasswordSettingReason.Change,
            $"password-changed:{person.Id:N}:{Guid.NewGuid():N}", KeepSessionId: request.SessionId);
        var invalid = await passwords.CheckAsync(setting, cancellationToken);
        if (!invalid.Succeeded)
        {
            return new(invalid.Field, invalid.Message);
        }
        await passwords.ExecuteAsync(setting, cancellationToken);
        // Committed by the caller with the new session's row (see above).
        return new(null, null);
    }
}
