using CafConnect.Domain.Accounts;
using CafConnect.Infrastructure.Verification;

namespace CafConnect.IdP.Features.AccountCreation;

/// <summary>Pages and states of « Créer Mon Compte ». State names are stable strings; new states get new names.</summary>
public static class AccountCreationStates
{
    public const string FlowType = "account-creation";
    /// <summary>With a NIR: the person chooses which of the records' contacts (shown masked) receives the code.</summary>
    public const string ChooseContact = "choose-contact";
    /// <summary>The 6-digit code sent to the records' contact chosen (with a NIR) or to the contact typed (without).</summary>
    public const string Verify = "verify";
    /// <summary>Without a NIR: « RÉCAPITULATIF DE MA CRÉATION DE COMPTE » with the provisional identifier.</summary>
    public const string Summary = "summary";
    /// <summary>« Rejoindre le dossier … ? »: an open invitation for this person, accepted or not, one at a time.</summary>
    public const string Invitation = "invitation";

    public const string StartPath = "/creer-mon-compte";
    public const string WithNirPath = "/creer-mon-compte/avec-nir";
    public const string WithoutNirPath = "/creer-mon-compte/sans-nir";
    public const string ChooseContactPath = "/creer-mon-compte/reception-du-code";
    public const string VerifyPath = "/creer-mon-compte/verification";
    public const string SummaryPath = "/creer-mon-compte/recapitulatif";
    public const string InvitationPath = "/creer-mon-compte/rejoindre-dossier";
    public const string ExistingAccountPath = "/creer-mon-compte/compte-existant";
    /// <summary>With a NIR and no contact on record: the activation code goes by letter.</summary>
    public const string LetterSentPath = "/creer-mon-compte/courrier";

    public static string PathOf(string state) => state switch
    {
        ChooseContact => ChooseContactPath,
        Verify => VerifyPath,
        Summary => SummaryPath,
        Invitation => InvitationPath,
        _ => StartPath,
    };
}

public enum CreationPath
{
    /// <summary>The civil status matched a person of the agency's records (imported files): their account is activated.</summary>
    WithNir,
    /// <summary>A new person, identified by a provisional identifier (P + 8 digits).</summary>
    WithoutNir,
}

/// <summary>
/// What the flow remembers between pages. Never a secret (no code, no password) and never the NIR: the NIR path keeps
/// the matched person's internal id; the path without a NIR keeps the civil status declared until the account exists.
/// </summary>
public sealed class AccountCreationContext
{
    public CreationPath Path { get; set; }

    /// <summary>The matched person (with a NIR), or the person created (without a NIR, once the contact is verified).</summary>
    public Guid? PersonId { get; set; }

    public ContactChannel Channel { get; set; }

    /// <summary>
    /// Normalised contact (e-mail in lower case, mobile in E.164) the code goes to: with a NIR, set by the server from the
    /// records when the person chooses a channel (empty until then); without a NIR, the contact typed.
    /// </summary>
    public string Contact { get; set; } = string.Empty;

    public DeclaredCivilStatus? Declared { get; set; }

    /// <summary>« Mon identifiant : P… » once created.</summary>
    public string? ProvisionalId { get; set; }

    /// <summary>The file the invitation joined, for the summary (null when not invited).</summary>
    public string? JoinedFileNumber { get; set; }

    /// <summary>Open invitations for this person and this contact, still to be answered (the first is on the page).</summary>
    public List<Guid> PendingInvitations { get; set; } = [];
}

/// <summary>The civil status given without a NIR, as the summary shows it.</summary>
public sealed class DeclaredCivilStatus
{
    public Civility Civility { get; set; }
    public string BirthName { get; set; } = string.Empty;
    public string GivenNames { get; set; } = string.Empty;
    public DateOnly BirthDate { get; set; }
    public string BirthCountry { get; set; } = string.Empty;
    public string BirthCity { get; set; } = string.Empty;
    public string? Parent1BirthName { get; set; }
    public string? Parent1GivenNames { get; set; }
    public string? Parent2BirthName { get; set; }
    public string? Parent2GivenNames { get; set; }
    public string PostalCode { get; set; } = string.Empty;
}

/// <summary>What the form « avec mon numéro de Sécurité sociale » asks, as typed: no contact (the records' are offered after the match).</summary>
public sealed record WithNirRequest(string? Nir, string? BirthName, string? GivenNames, string? BirthDate);

/// <summary>What the form « sans numéro de Sécurité sociale » asks, as typed.</summary>
public sealed record WithoutNirRequest(
    string? Civility, string? BirthName, string? GivenNames, string? BirthDate, string? BirthCountry, string? BirthCity,
    string? Parent1BirthName, string? Parent1GivenNames, string? Parent2BirthName, string? Parent2GivenNames,
    string? PostalCode, string? Contact);
