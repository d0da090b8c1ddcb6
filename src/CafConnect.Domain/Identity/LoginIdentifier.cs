using System.Diagnostics;

namespace CafConnect.Domain.Identity;

public enum LoginIdentifierKind
{
    Nir,
    Provisional,
}

/// <summary>
/// What a person types in the login field: a NIR (13 characters, or 15 with the key) or a provisional identifier (P + 8 digits).
/// Input starting with the letter P (any case) is read as a provisional identifier, anything else as a NIR:
/// a NIR never starts with a letter, so the choice is unambiguous and the error message matches what was meant.
/// </summary>
[DebuggerDisplay("{ToString(),nq}")]
public readonly record struct LoginIdentifier
{
    private LoginIdentifier(LoginIdentifierKind kind, string value, Nir? nir, ProvisionalId? provisionalId)
    {
        Kind = kind;
        Value = value;
        Nir = nir;
        ProvisionalId = provisionalId;
    }

    public LoginIdentifierKind Kind { get; }

    /// <summary>The normalised identifier: 13-character NIR (without key) or "P12345678".</summary>
    public string Value { get; }

    /// <summary>Set when <see cref="Kind"/> is <see cref="LoginIdentifierKind.Nir"/>.</summary>
    public Nir? Nir { get; }

    /// <summary>Set when <see cref="Kind"/> is <see cref="LoginIdentifierKind.Provisional"/>.</summary>
    public ProvisionalId? ProvisionalId { get; }

    public const string EmptyMessage = "Saisissez votre numéro de Sécurité sociale ou votre identifiant provisoire.";

    public static bool TryParse(string? input, out LoginIdentifier id, out string frenchError)
    {
        id = default;
        var compact = IdentifierInput.Compact(input);
        if (compact.Length == 0)
        {
            frenchError = EmptyMessage;
            return false;
        }

        if (compact[0] == Identity.ProvisionalId.Prefix)
        {
            if (!Identity.ProvisionalId.TryParse(compact, out var provisional, out var pError))
            {
                frenchError = Identity.ProvisionalId.MessageFor(pError);
                return false;
            }
            id = new LoginIdentifier(LoginIdentifierKind.Provisional, provisional.Value, null, provisional);
            frenchError = string.Empty;
            return true;
        }

        if (!Identity.Nir.TryParse(compact, out var nir, out var nError))
        {
            frenchError = Identity.Nir.MessageFor(nError);
            return false;
        }
        id = new LoginIdentifier(LoginIdentifierKind.Nir, nir.Value, nir, null);
        frenchError = string.Empty;
        return true;
    }

    /// <summary>Masked for NIRs (safe for logs), clear for provisional identifiers (not sensitive on their own).</summary>
    public override string ToString() => Kind == LoginIdentifierKind.Nir ? Nir?.ToMaskedString() ?? string.Empty : Value ?? string.Empty;
}
