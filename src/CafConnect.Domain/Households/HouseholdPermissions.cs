using CafConnect.Domain.Accounts;

namespace CafConnect.Domain.Households;

/// <summary>
/// What a person may do, named as the claims contract names it (docs/claims.md): stable snake_case ASCII identifiers
/// that relying parties compare as strings. Never rename one; add a new name instead.
/// </summary>
public static class HouseholdPermission
{
    public const string ConsulterDroitsPaiements = "consulter_droits_paiements";
    public const string DeclarerChangement = "declarer_changement";
    public const string DemanderPrestation = "demander_prestation";
    /// <summary>The partner's own, limited access to benefit requests (seed 003): not the file's requests.</summary>
    public const string DemandePrestationLimitee = "demande_prestation_limitee";
    public const string DonneesPersonnelles = "donnees_personnelles";
    public const string ModifierCoordonnees = "modifier_coordonnees";
    public const string DeclarerSeparation = "declarer_separation";
    public const string SuivreDemarches = "suivre_demarches";
    public const string TransmettrePieceJustificative = "transmettre_piece_justificative";
    public const string ContacterCaf = "contacter_caf";
    public const string CafVousDemande = "caf_vous_demande";
    public const string GererAutorisations = "gerer_autorisations";
    public const string ModifierMotDePasse = "modifier_mot_de_passe";

    /// <summary>Every name, in the order the contract lists them.</summary>
    public static readonly IReadOnlyList<string> All =
    [
        ConsulterDroitsPaiements, DeclarerChangement, DemanderPrestation, DemandePrestationLimitee, DonneesPersonnelles,
        ModifierCoordonnees, DeclarerSeparation, SuivreDemarches, TransmettrePieceJustificative, ContacterCaf, CafVousDemande,
        GererAutorisations, ModifierMotDePasse,
    ];
}

/// <summary>
/// The one table of who may do what on a Caf file (seed 003, "LA CONNEXION A LA PERSONNE – Le principe pour le foyer
/// allocataire" and "La délégation de gestion"). The pages, the claims and any admin tool ask it; nothing else decides.
/// <list type="bullet">
/// <item>allocataire: everything on the file, including managing the delegation.</item>
/// <item>conjoint without delegation: own personal data, own contact details, declaring a separation, and a limited
/// access to benefit requests; nothing of the file's rights, payments or changes.</item>
/// <item>conjoint with delegation: the holder's set except <c>gerer_autorisations</c> (only the holder delegates).</item>
/// <item>conjoint_allocataire (beneficiary of AJPA, BAFA, AAH or PALA in their own right): the holder's set without a
/// delegation, except <c>gerer_autorisations</c> — the code of social security makes the allocataire the only one who
/// acts for the household, and seed 003 says only the allocataire may delegate.</item>
/// <item>enfant / autre (over 15): own personal data only.</item>
/// <item>primo-demandeur (no file yet): following their requests, sending documents, contacting the Caf, « La Caf vous
/// demande » and changing their password.</item>
/// </list>
/// <c>modifier_mot_de_passe</c> is listed only in the primo set, as seed 003 lists it for the primo space; on a file it is
/// not a right over the file (every person changes their own password on CafConnect whatever their role).
/// </summary>
public static class HouseholdPermissions
{
    private static readonly IReadOnlyList<string> HolderSet =
    [
        HouseholdPermission.ConsulterDroitsPaiements, HouseholdPermission.DeclarerChangement, HouseholdPermission.DemanderPrestation,
        HouseholdPermission.DonneesPersonnelles, HouseholdPermission.ModifierCoordonnees, HouseholdPermission.DeclarerSeparation,
        HouseholdPermission.SuivreDemarches, HouseholdPermission.TransmettrePieceJustificative, HouseholdPermission.ContacterCaf,
        HouseholdPermission.CafVousDemande, HouseholdPermission.GererAutorisations,
    ];

    private static readonly IReadOnlyList<string> ActingPartnerSet = HolderSet.Where(p => p != HouseholdPermission.GererAutorisations).ToList();

    private static readonly IReadOnlyList<string> PartnerSet =
    [
        HouseholdPermission.DemandePrestationLimitee, HouseholdPermission.DonneesPersonnelles,
        HouseholdPermission.ModifierCoordonnees, HouseholdPermission.DeclarerSeparation,
    ];

    private static readonly IReadOnlyList<string> MemberSet = [HouseholdPermission.DonneesPersonnelles];

    private static readonly IReadOnlyList<string> PrimoSet =
    [
        HouseholdPermission.SuivreDemarches, HouseholdPermission.TransmettrePieceJustificative, HouseholdPermission.ContacterCaf,
        HouseholdPermission.CafVousDemande, HouseholdPermission.ModifierMotDePasse,
    ];

    /// <summary>
    /// What a person with <paramref name="role"/> on a file may do there. <paramref name="delegated"/> counts only for a
    /// <see cref="HouseholdRole.Conjoint"/> (a delegation flag on any other role grants nothing). Ordered as
    /// <see cref="HouseholdPermission.All"/>.
    /// </summary>
    public static IReadOnlyList<string> For(HouseholdRole role, bool delegated) => role switch
    {
        HouseholdRole.Allocataire => HolderSet,
        HouseholdRole.ConjointAllocataire => ActingPartnerSet,
        HouseholdRole.Conjoint => delegated ? ActingPartnerSet : PartnerSet,
        HouseholdRole.Enfant or HouseholdRole.Autre => MemberSet,
        _ => [],
    };

    /// <summary>
    /// What a token from the file's shared phone code may do there (issue 16, item 8): the code proves « someone of this
    /// household », not a person, so it carries only what <em>every</em> adult who may use the code
    /// (<see cref="LegacyCodeRoles"/>, open accounts) may do — the intersection of their sets. A partner without delegation
    /// on the file therefore leaves the file's rights and payments out; a file with one adult gives that adult's set.
    /// Ordered as <see cref="HouseholdPermission.All"/>. Members whose <c>Person</c> is loaded and closed are left out (a
    /// closed account uses no code); an unloaded one counts (the narrower answer).
    /// </summary>
    public static IReadOnlyList<string> ForSharedFileCode(Household file)
    {
        ArgumentNullException.ThrowIfNull(file);
        var adults = file.Members.Where(m => LegacyCodeRoles.Contains(m.Role) && m.Person is not { IsClosed: true }).ToList();
        if (adults.Count == 0)
        {
            return [];
        }
        return HouseholdPermission.All.Where(p => adults.All(m => Allows(m.Role, m.Delegated, p))).ToList();
    }

    /// <summary>What a primo-demandeur (no file yet) may do.</summary>
    public static IReadOnlyList<string> ForPrimoDemandeur() => PrimoSet;

    public static bool Allows(HouseholdRole role, bool delegated, string permission) => For(role, delegated).Contains(permission, StringComparer.Ordinal);

    /// <summary>May this person act on this file as <paramref name="permission"/> says? The question pages and tools ask.</summary>
    public static bool Allows(PersonAccount person, string fileNumber, string permission) =>
        person.Memberships.Any(m => m.Household is { Pending: false } household && household.FileNumber == fileNumber && Allows(m.Role, m.Delegated, permission));

    /// <summary>
    /// A primo-demandeur is derived, not stored: a person with an account and no file membership has no processed file
    /// (seed 003, "Avant toute demande de prestation, le primo demandeur devra créer un espace personnel"). The flag cannot
    /// go stale: it ends the moment the file import attaches the person to a file. A file the benefits system registered
    /// for a first-time applicant and still processes (<see cref="Household.Pending"/>) does not end it either (seed 000).
    /// </summary>
    public static bool IsPrimoDemandeur(PersonAccount person) =>
        !person.IsClosed && person.Memberships.All(m => m.Household is { Pending: true });
}
