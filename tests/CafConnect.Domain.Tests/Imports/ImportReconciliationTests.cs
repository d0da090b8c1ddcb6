using CafConnect.Domain.Accounts;
using CafConnect.Domain.Households;
using CafConnect.Domain.Imports;

namespace CafConnect.Domain.Tests.Imports;

/// <summary>The import's rule against the store (issue 18): what the store knows better is never lowered.</summary>
public sealed class ImportReconciliationTests
{
    private static HouseholdImportRow Row(string file, HouseholdRole role, string nir, string birthName = "DUPONT", string given = "Jeanne",
        string? mobile = null, string? secret = null) =>
        new(2, file, role, nir, null, Civility.Madame, birthName, null, given, new DateOnly(1985, 3, 14), "FRANCE", null, null, mobile, null,
            secret, secret is null ? LegacySecretFormat.None : LegacySecretFormat.Plain);

    private static StoredPerson Jeanne(params string[] files) =>
        new("2850375112048", "DUPONT", "Jeanne Marie", new DateOnly(1985, 3, 14), "+33615000001", true, null, false, files);

    private static (IReadOnlyList<HouseholdImportRow>? Rows, List<ImportProblem> Problems, List<ImportProblem> Warnings) Reconcile(
        HouseholdImportRow row, StoredFile? file, StoredPerson? person, params string[] filesOfThisImport)
    {
        var problems = new List<ImportProblem>();
        var warnings = new List<ImportProblem>();
        var persons = person is null ? new Dictionary<string, StoredPerson>() : new Dictionary<string, StoredPerson> { [person.Key] = person };
        var rows = ImportReconciliation.Reconcile([row], file, persons, f => filesOfThisImport.Contains(f), problems, warnings);
        return (rows, problems, warnings);
    }

    [Test]
    public void A_new_person_on_a_new_file_is_written_as_given()
    {
        var row = Row("0260311", HouseholdRole.Allocataire, "2850375112048", mobile: "+33699999999", secret: "40718253");
        var (rows, problems, warnings) = Reconcile(row, null, null);
        Assert.That(rows, Is.EqualTo(new[] { row }));
        Assert.That(problems.Concat(warnings), Is.Empty);
    }

    [Test]
    public void The_same_person_with_only_her_first_given_name_is_the_same_person_and_keeps_her_verified_mobile()
    {
        var (rows, problems, warnings) = Reconcile(Row("0260311", HouseholdRole.Allocataire, "2850375112048", mobile: "+33699999999"),
            new StoredFile("0260311", [new StoredMember("2850375112048", HouseholdRole.Allocataire)]), Jeanne("0260311"), "0260311");
        Assert.That(problems, Is.Empty);
        Assert.That(rows!.Single().Mobile, Is.Null, "the verified mobile is not replaced");
        Assert.That(warnings.Single().Reason, Is.EqualTo(ImportReconciliation.VerifiedMobileKept));
    }

    [Test]
    public void Another_civil_status_under_an_existing_NIR_refuses_the_file()
    {
        var (rows, problems, _) = Reconcile(Row("0777777", HouseholdRole.Allocataire, "2850375112048", birthName: "LEFEBVRE", given: "Claire"), null, Jeanne("0260311"), "0777777", "0260311");
        Assert.That(rows, Is.Null);
        Assert.That(problems.Single().Reason, Does.EndWith(ImportReconciliation.CivilStatusConflict).And.StartWith("dossier 0777777 non importé"));
    }

    [Test]
    public void A_person_on_a_file_of_another_export_is_not_moved_but_may_be_on_two_files_of_this_one()
    {
        var moved = Reconcile(Row("0555555", HouseholdRole.Allocataire, "2850375112048"), null, Jeanne("0260399"), "0555555");
        Assert.That(moved.Rows, Is.Null);
        Assert.That(moved.Problems.Single().Reason, Does.EndWith(ImportReconciliation.PersonOnAnotherFile));

        var sameExport = Reconcile(Row("0999999", HouseholdRole.Autre, "2850375112048"), null, Jeanne("0260311"), "0999999", "0260311");
        Assert.That(sameExport.Problems, Is.Empty);
    }

    [Test]
    public void An_existing_file_keeps_its_legacy_code_and_gets_no_second_allocataire()
    {
        var file = new StoredFile("0260311", [new StoredMember("1831175115230", HouseholdRole.Allocataire)]);
        var secondHolder = Reconcile(Row("0260311", HouseholdRole.Allocataire, "2850375112048"), file, null, "0260311");
        Assert.That(secondHolder.Problems.Single().Reason, Does.EndWith(ImportReconciliation.FileHasAllocataire));

        var code = Reconcile(Row("0260311", HouseholdRole.Enfant, "2050175101002", secret: "40718253"), file, null, "0260311");
        Assert.That(code.Rows!.Single().LegacySecret, Is.Null);
        Assert.That(code.Warnings.Single().Reason, Is.EqualTo(ImportReconciliation.LegacyCodeKept));
    }
}
