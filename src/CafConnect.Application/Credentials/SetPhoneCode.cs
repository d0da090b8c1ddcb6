using System.Net;
using CafConnect.Domain.Accounts;
using CafConnect.Domain.Passwords;
using CafConnect.Infrastructure.Accounts;
using CafConnect.Infrastructure.Audit;
using CafConnect.Infrastructure.Notifications;
using CafConnect.Infrastructure.Persistence;
using CafConnect.Infrastructure.Security;

namespace CafConnect.Application.Credentials;

public sealed record SetPhoneCodeRequest(PersonAccount Person, string? CurrentPassword, string? Code, string? Confirmation, IPAddress? ClientIp);

/// <summary>Refused: the field (<see cref="CurrentField"/>, <see cref="CodeField"/>, <see cref="ConfirmationField"/>) and its French message.</summary>
public sealed record SetPhoneCodeResult(string? Field, string? Message)
{
    public const string CurrentField = "Current";
    public const string CodeField = "Code";
    public const string ConfirmationField = "Confirmation";
    public bool Succeeded => Field is null;
}

/// <summary>
/// « Mon code confidentiel pour le téléphone » (issue 16, item 8): a person with an account chooses their own 8-digit
/// keypad code. Confirmed with the current password (<see cref="ConfirmCurrentPassword"/>, the account's guess budget);
/// the rules are the legacy code's, the one table of the Domain (<see cref="LegacyCodePolicy"/>, against what the
/// person's files know); hashed with Argon2id like every secret; audited <c>phone_code.set</c>; the verified contact told.
/// With the NIR it then opens the phone channel for this person and their own rights (docs/decisions.md #25). One commit.
/// </summary>
public sealed class SetPhoneCode(CafConnectDbContext db, PersonDirectory persons, ConfirmCurrentPassword current, ISecretHasher hasher,
    INotificationOutbox outbox, AuditTrail audit, TimeProvider clock)
{
    public const string ConfirmationMismatchMessage = "Les deux codes saisis ne sont pas identiques.";

    public async Task<SetPhoneCodeResult> ExecuteAsync(SetPhoneCodeRequest request, CancellationToken cancellationToken)
    {
        var person = request.Person;
        if (await current.CheckAsync(person, request.CurrentPassword, request.ClientIp, "phone_code", cancellationToken) is { } refused)
        {
            await db.SaveChangesAsync(cancellationToken);
            return new(SetPhoneCodeResult.CurrentField, refused);
        }
        var check = LegacyCodePolicy.Check(request.Code, await persons.PasswordContextOfAsync(person, cancellationToken));
        if (!check.IsAccepted)
        {
            return new(SetPhoneCodeResult.CodeField, check.Violations[0].Message);
        }
        if (!string.Equals(request.Code, request.Confirmation, StringComparison.Ordinal))
        {
            return new(SetPhoneCodeResult.ConfirmationField, ConfirmationMismatchMessage);
        }

        var now = clock.GetUtcNow();
        var replaced = person.PhoneCodeHash is not null;
        person.PhoneCodeHash = hasher.Hash(request.Code!);
        person.PhoneCodeSetAt = now;
        person.ConcurrencyStamp = Guid.NewGuid();
        audit.Append(new AuditEntry(AuditEventTypes.PhoneCodeSet, replaced ? "replaced" : "chosen", person.Id));
        outbox.EnqueueToVerifiedContact(person, NotificationKind.PhoneCodeChanged, new Dictionary<string, string>(),
            $"phone-code-set:{person.Id:N}:{now.ToUnixTimeMilliseconds()}");
        await db.SaveChangesAsync(cancellationToken);
        return new(null, null);
    }
}
