using System.Net;
using CafConnect.Domain.Accounts;
using CafConnect.Infrastructure.Throttling;
using CafConnect.Infrastructure.Verification;

namespace CafConnect.Application.CodeStep;

/// <summary>
/// Which journey a code belongs to. It chooses only what differs by design — how sends are counted, the audit event
/// names, the wording of "too many codes" — never the budgets of guesses, which are the same for every purpose.
/// </summary>
public enum CodePurpose
{
    /// <summary>« Mot de passe oublié ? »: sends counted per flow, so every branch (two contacts, one, none, unknown) answers alike.</summary>
    PasswordRecovery,

    /// <summary>First login and later required actions: proving the contact the person chose.</summary>
    ContactVerification,

    /// <summary>« Créer Mon Compte » (with or without a NIR), which also redeems « Mon foyer » invitations.</summary>
    AccountCreation,
}

/// <summary>
/// Where a code goes. An input of the code step: which contact may receive a code for which person is decided by the
/// journey (the contact-proof rule), never here. <see cref="Deliver"/> false is a decoy: a code is issued and counted
/// like any other, but no message is sent and no "code sent" row is written (recovery for an identifier that has no
/// account, or none reachable).
/// </summary>
public sealed record CodeDestination(ContactChannel Channel, string Contact, bool Deliver = true);

/// <summary>
/// The guess budget a code check spends: the counters of <see cref="ILoginThrottle"/> (delay after 3 consecutive
/// failures, lock at 10) under <see cref="Key"/>. An account's key is the one its passwords spend
/// (<see cref="ThrottleKeys.ForPerson"/>), so codes and passwords share one budget; where no account exists yet the
/// identity being claimed is the key (<see cref="ThrottleKeys.ForClaimedIdentity"/>). <see cref="Owner"/> is told when
/// a failure locks (the throttle's notice), when there is one.
/// </summary>
public sealed record GuessBudget(string Key, PersonAccount? Owner)
{
    public static GuessBudget ForAccount(PersonAccount person) => new(ThrottleKeys.ForPerson(person.Id), person);

    /// <param name="claimedIdentity">A stable spelling of the claim, e.g. <c>nir:…</c>, <c>provisional:P…</c>, <c>civil:…</c> (hashed into the key).</param>
    public static GuessBudget ForClaimedIdentity(string claimedIdentity) => new(ThrottleKeys.ForClaimedIdentity(claimedIdentity), null);

    /// <summary>A key computed earlier and kept in a flow (never the claim itself: a flow never holds a NIR).</summary>
    public static GuessBudget ForStoredKey(string key) => new(key, null);
}

/// <summary>Issue a code (first send or « Demander un nouveau code »).</summary>
/// <param name="PersonId">The person the message and the audit row are about, when known.</param>
/// <param name="ClaimedIdentityKey">
/// Recovery only: a hash of the identifier typed (<c>ThrottleKeys.ForClaimedIdentity</c>), the same for a known and an
/// unknown identifier, so that the message ceiling's refusal counts alike for both (<see cref="RateLimiting.MessageCap"/>).
/// </param>
public sealed record SendCodeRequest(CodePurpose Purpose, string FlowId, CodeDestination Destination, Guid? PersonId, string? ClientId,
    string? ClaimedIdentityKey = null);

/// <summary>A code was issued (and, unless a decoy, queued in the caller's unit of work), or the French reason it was not.</summary>
public sealed record CodeSendAnswer(string? Refusal)
{
    public bool Sent => Refusal is null;
}

/// <summary>Check what was typed against the flow's current code for <see cref="Destination"/>.</summary>
public sealed record CheckCodeRequest(
    CodePurpose Purpose, string FlowId, CodeDestination Destination, string? Submitted, GuessBudget Budget, IPAddress? ClientIp,
    Guid? PersonId, string? ClientId);

/// <summary>Verified, or the French message for the code field (identical for a wrong code and a refused attempt).</summary>
public sealed record CodeCheckAnswer(bool Verified, string? Error)
{
    public static readonly CodeCheckAnswer Success = new(true, null);
}
