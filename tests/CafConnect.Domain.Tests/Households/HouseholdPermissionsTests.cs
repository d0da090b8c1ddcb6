using CafConnect.Domain.Accounts;
using CafConnect.Domain.Households;
using static CafConnect.Domain.Households.HouseholdPermission;

namespace CafConnect.Domain.Tests.Households;

/// <summary>
/// The table of the issue (seed 003), written out here independently of the code: one test per cell, every row ×
/// every permission, asserting both "granted" and "refused".
/// </summary>
public class HouseholdPermissionsTests
{
    /// <summary>A row of the table: a role, and for a partner whether the holder delegated.</summary>
    public sealed record Row(string Name, HouseholdRole? Role, bool Delegated)
    {
        public override string ToString() => Name;
    }

    public static readonly Row Allocataire = new("allocataire", HouseholdRole.Allocataire, false);
    public static readonly Row Conjoint = new("conjoint", HouseholdRole.Conjoint, false);
    public static readonly Row ConjointDelegue = new("conjoint délégué", HouseholdRole.Conjoint, true);
    public static readonly Row ConjointAllocataire = new("conjoint_allocataire", HouseholdRole.ConjointAllocataire, false);
    public static readonly Row Enfant = new("enfant", HouseholdRole.Enfant, false);
    public static readonly Row Autre = new("autre", HouseholdRole.Autre, false);
    public static readonly Row Primo = new("primo_demandeur", null, false);

    public static readonly Row[] Rows = [Allocataire, Conjoint, ConjointDelegue, ConjointAllocataire, Enfant, Autre, Primo];

    private static readonly string[] Holder =
    [
        ConsulterDroitsPaiements, DeclarerChangement, DemanderPrestation, DonneesPersonnelles, ModifierCoordonnees,
        DeclarerSeparation, SuivreDemarches, TransmettrePieceJustificative, ContacterCaf, CafVousDemande, GererAutorisations,
    ];

    /// <summary>The expected table, cell by cell (a permission absent from a row is refused).</summary>
    public static readonly IReadOnlyDictionary<Row, string[]> Expected = new Dictionary<Row, string[]>
    {
        [Allocataire] = Holder,
        [Conjoint] = [DonneesPersonnelles, ModifierCoordonnees, DeclarerSeparation, DemandePrestationLimitee],
        [ConjointDelegue] = Holder.Where(p => p != GererAutorisations).ToArray(),
        [ConjointAllocataire] = Holder.Where(p => p != GererAutorisations).ToArray(),
        [Enfant] = [DonneesPersonnelles],
        [Autre] = [DonneesPersonnelles],
        [Primo] = [SuivreDemarches, TransmettrePieceJustificative, ContacterCaf, CafVousDemande, ModifierMotDePasse],
    };

    /// <summary>The 13 permission names the contract publishes, literally (a rename must break this test).</summary>
    public static readonly string[] Names =
    [
        "consulter_droits_paiements", "declarer_changement", "demander_prestation", "demande_prestation_limitee",
        "donnees_personnelles", "modifier_coordonnees", "declarer_separation", "suivre_demarches",
        "transmettre_piece_justificative", "contacter_caf", "caf_vous_demande", "gerer_autorisations", "modifier_mot_de_passe",
    ];

    public static IEnumerable<TestCaseData> Cells() =>
        from row in Rows
        from permission in Names
        let granted = Expected[row].Contains(permission)
        select new TestCaseData(row, permission, granted).SetName($"{row.Name} {(granted ? "may" : "may not")} {permission}");

    [TestCaseSource(nameof(Cells))]
    public void Cell(Row row, string permission, bool granted)
    {
        var set = row.Role is { } role ? HouseholdPermissions.For(role, row.Delegated) : HouseholdPermissions.ForPrimoDemandeur();

        Assert.That(set.Contains(permission), Is.EqualTo(granted));
        if (row.Role is { } r)
        {
            Assert.That(HouseholdPermissions.Allows(r, row.Delegated, permission), Is.EqualTo(granted));
        }
    }

    [Test]
    public void The_published_names_are_exactly_the_domain_names_and_ascii_snake_case()
    {
        Assert.That(HouseholdPermission.All, Is.EqualTo(Names));
        Assert.That(Names, Has.All.Matches("^[a-z]+(_[a-z]+)*$"));
    }

    [Test]
    public void Every_set_lists_each_permission_once_in_the_contract_order()
    {
        foreach (var row in Rows)
        {
            var set = row.Role is { } role ? HouseholdPermissions.For(role, row.Delegated) : HouseholdPermissions.ForPrimoDemandeur();
            Assert.That(set, Is.Unique, row.Name);
            Assert.That(set, Is.EqualTo(HouseholdPermission.All.Where(set.Contains).ToList()), row.Name);
        }
    }

    [TestCase(HouseholdRole.Allocataire)]
    [TestCase(HouseholdRole.ConjointAllocataire)]
    [TestCase(HouseholdRole.Enfant)]
    [TestCase(HouseholdRole.Autre)]
    public void A_delegation_flag_grants_nothing_to_a_role_other_than_conjoint(HouseholdRole role) =>
        Assert.That(HouseholdPermissions.For(role, delegated: true), Is.EqualTo(HouseholdPermissions.For(role, delegated: false)));

    [Test]
    public void A_person_without_a_file_is_a_primo_demandeur_and_one_with_a_file_is_not()
    {
        var primo = new PersonAccount();
        var member = new PersonAccount();
        member.Memberships.Add(new HouseholdMembership { Role = HouseholdRole.Enfant, Household = new Household { FileNumber = "0260311" } });
        var closed = new PersonAccount { ClosedAt = DateTimeOffset.UnixEpoch };

        Assert.That(HouseholdPermissions.IsPrimoDemandeur(primo), Is.True);
        Assert.That(HouseholdPermissions.IsPrimoDemandeur(member), Is.False);
        Assert.That(HouseholdPermissions.IsPrimoDemandeur(closed), Is.False);
    }

    [Test]
    public void A_first_time_applicant_on_a_file_still_being_processed_is_a_primo_demandeur_without_file_rights()
    {
        var applicant = new PersonAccount();
        applicant.Memberships.Add(new HouseholdMembership { Role = HouseholdRole.Allocataire, Household = new Household { FileNumber = "0777001", Pending = true } });

        Assert.That(HouseholdPermissions.IsPrimoDemandeur(applicant), Is.True);
        Assert.That(HouseholdPermissions.Allows(applicant, "0777001", ConsulterDroitsPaiements), Is.False);

        applicant.Memberships[0].Household!.Pending = false;
        Assert.That(HouseholdPermissions.IsPrimoDemandeur(applicant), Is.False, "file_opened: the file is processed");
        Assert.That(HouseholdPermissions.Allows(applicant, "0777001", ConsulterDroitsPaiements), Is.True);
    }

    [Test]
    public void Allows_on_a_person_answers_for_the_named_file_only()
    {
        var person = new PersonAccount();
        person.Memberships.Add(new HouseholdMembership { Role = HouseholdRole.Allocataire, Household = new Household { FileNumber = "0260311" } });
        person.Memberships.Add(new HouseholdMembership { Role = HouseholdRole.Conjoint, Household = new Household { FileNumber = "1234567" } });

        Assert.That(HouseholdPermissions.Allows(person, "0260311", ConsulterDroitsPaiements), Is.True);
        Assert.That(HouseholdPermissions.Allows(person, "1234567", ConsulterDroitsPaiements), Is.False);
        Assert.That(HouseholdPermissions.Allows(person, "9999999", DonneesPersonnelles), Is.False);
    }
}
