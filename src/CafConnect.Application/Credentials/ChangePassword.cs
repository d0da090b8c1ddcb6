using System.Net;
using CafConnect.Domain.Accounts;
using CafConnect.Infrastructure.Persistence;

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
/// every password setting (docs/decisions.md #17). The caller opens a fresh session for this browser afterwards: the
/// person stays signed in here, every other session and grant ends. One commit.
/// </summary>
public sealed class ChangePassword(CafConnectDbContext db, ConfirmCurrentPassword current, SetPersonalPassword passwords)
{
    public const string WrongCurrentMessage = ConfirmCurrentPassword.WrongMessage;

    public async Task<ChangePasswordResult> ExecuteAsync(ChangePasswordRequest request, CancellationToken cancellationToken)
    {
        var person = request.Person;
        if (await current.CheckAsync(person, request.CurrentPassword, request.ClientIp, "change_password", cancellationToken) is { } refused)
        {
            await db.SaveChangesAsync(cancellationToken);
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
        await db.SaveChangesAsync(cancellationToken);
        return new(null, null);
    }
}
