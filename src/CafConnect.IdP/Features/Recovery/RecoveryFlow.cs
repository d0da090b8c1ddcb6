using CafConnect.Infrastructure.Verification;

namespace CafConnect.IdP.Features.Recovery;

/// <summary>States of "Mot de passe oublié ?". Each state is a page; names keep their meaning once released.</summary>
public static class RecoveryStates
{
    public const string FlowType = "password-recovery";
    public const string Code = "code";
    public const string Password = "password";

    public const string StartPath = "/mot-de-passe-oublie";

    public static string PathOf(string state) => state switch
    {
        Code => "/mot-de-passe-oublie/code",
        Password => "/mot-de-passe-oublie/nouveau-mot-de-passe",
        _ => StartPath,
    };
}

/// <summary>
/// What the flow remembers between pages: where the current code went. Never shown, never a secret. A flow without a
/// person (unknown identifier, or an account answered by letter) is a decoy: its code goes to a placeholder contact
/// nobody reads, so every page and every refusal looks the same as for a real account.
/// </summary>
public sealed class RecoveryContext
{
    public ContactChannel Channel { get; set; }
    public string Contact { get; set; } = string.Empty;

    /// <summary>
    /// The guess budget the flow's code checks spend (<c>GuessBudget.Key</c>): the account's, or, for an identifier
    /// without an account, a hash of the identifier (never the identifier itself).
    /// </summary>
    public string? GuessBudgetKey { get; set; }

    /// <summary>
    /// The identifier typed, hashed (<c>ThrottleKeys.ForClaimedIdentity</c>), whether or not it names an account: the
    /// message ceiling's refusal counts it alike for both (docs/decisions.md #31). Never the identifier itself.
    /// </summary>
    public string? MessageCapKey { get; set; }

    /// <summary>Whether the identifier was a provisional one (the login page opens in that mode afterwards).</summary>
    public bool Provisional { get; set; }
}
