using CafConnect.Application.Persistence;
using CafConnect.Domain.Accounts;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.ChangeTracking;

namespace CafConnect.Application.SignIn;

/// <param name="Person">The person signing in, as this request loaded and changed them (last login, required actions…).</param>
public sealed record CommitSignInRequest(PersonAccount Person);

/// <param name="Committed">
/// False when the account's secret or state changed while this sign-in was checking the old one: nothing of it was
/// stored, and the caller answers <see cref="CommitSignIn.AccountChangedMessage"/> (no session may open).
/// </param>
public sealed record CommitSignInResult(bool Committed);

/// <summary>
/// The one commit of every sign-in — the password login, FranceConnect, the end of the first-login steps — so that two
/// sign-ins of the same person at the same moment (the app and the web, two tabs) behave alike on every path: both write
/// the person (last-login date, required actions, concurrency stamp), and the second meets the first's stamp. That is
/// merged — this sign-in's fields win, the other's remain — as long as the other write left the secret and the
/// account's state as this sign-in found them. If the secret was replaced or the account closed meanwhile, this
/// sign-in, checked against the old state, is refused instead: nothing of it is stored.
/// Only a conflict on the person is merged; any other (a flow submitted twice) is not this use case's to hide.
/// </summary>
public sealed class CommitSignIn(IUnitOfWork unitOfWork)
{
    /// <summary>Said when the account's secret or state changed while this sign-in was checking the old one.</summary>
    public const string AccountChangedMessage = "Votre compte vient d'être modifié. Reconnectez-vous avec votre mot de passe actuel.";

    /// <summary>A few rounds: each one lost means another sign-in of the same person committed in between.</summary>
    private const int MergeRounds = 3;

    public async Task<CommitSignInResult> ExecuteAsync(CommitSignInRequest request, CancellationToken cancellationToken = default)
    {
        request.Person.ConcurrencyStamp = Guid.NewGuid();
        for (var round = 0; ; round++)
        {
            try
            {
                await unitOfWork.CommitAsync(cancellationToken);
                return new CommitSignInResult(true);
            }
            catch (DbUpdateConcurrencyException conflict) when (round < MergeRounds && conflict.Entries.All(e => e.Entity is PersonAccount))
            {
                foreach (var entry in conflict.Entries)
                {
                    var stored = await entry.GetDatabaseValuesAsync(cancellationToken);
                    if (stored is null || SecretOrStateChanged(entry.OriginalValues, stored))
                    {
                        return new CommitSignInResult(false);
                    }
                    // This sign-in's changes are written over the stored row at the next round.
                    entry.OriginalValues.SetValues(stored);
                }
            }
        }
    }

    private static bool SecretOrStateChanged(PropertyValues found, PropertyValues stored) =>
        !Equals(found[nameof(PersonAccount.CredentialKind)], stored[nameof(PersonAccount.CredentialKind)])
        || !Equals(found[nameof(PersonAccount.PasswordSetAt)], stored[nameof(PersonAccount.PasswordSetAt)])
        || !Equals(found[nameof(PersonAccount.ClosedAt)], stored[nameof(PersonAccount.ClosedAt)])
        || !Equals(found[nameof(PersonAccount.Nir)], stored[nameof(PersonAccount.Nir)])
        || !Equals(found[nameof(PersonAccount.ProvisionalId)], stored[nameof(PersonAccount.ProvisionalId)])
        || !Equals(found[nameof(PersonAccount.PendingProvisionalPasswordIssuedAt)], stored[nameof(PersonAccount.PendingProvisionalPasswordIssuedAt)]);
}
