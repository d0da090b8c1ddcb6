using System.Text.RegularExpressions;
using CafConnect.Domain.Households;

namespace CafConnect.Domain.Tests.Households;

/// <summary>Keeps the « Who gets what » table of docs/claims.md (the relying parties' contract) equal to the code's table.</summary>
public partial class ClaimsDocumentTests
{
    private static string ReadClaimsDocument()
    {
        var directory = new DirectoryInfo(TestContext.CurrentContext.TestDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "CafConnect.IdP.sln")))
            directory = directory.Parent;
        Assume.That(directory, Is.Not.Null, "repository root not found");
        return File.ReadAllText(Path.Combine(directory!.FullName, "docs", "claims.md"));
    }

    private static readonly (string Row, IReadOnlyList<string> Permissions)[] Rows =
    [
        ("`allocataire`", HouseholdPermissions.For(HouseholdRole.Allocataire, false)),
        ("`conjoint`, `delegated: false`", HouseholdPermissions.For(HouseholdRole.Conjoint, false)),
        ("`conjoint`, `delegated: true`", HouseholdPermissions.For(HouseholdRole.Conjoint, true)),
        ("`conjoint_allocataire`", HouseholdPermissions.For(HouseholdRole.ConjointAllocataire, false)),
        ("`enfant`, `autre` (over 15)", HouseholdPermissions.For(HouseholdRole.Enfant, false)),
        ("primo-demandeur (no file)", HouseholdPermissions.ForPrimoDemandeur()),
    ];

    [Test]
    public void The_documented_table_is_the_code_table()
    {
        var document = ReadClaimsDocument();
        foreach (var (row, permissions) in Rows)
        {
            var line = document.Split('\n').SingleOrDefault(l => l.StartsWith($"| {row} |", StringComparison.Ordinal));
            Assert.That(line, Is.Not.Null, $"docs/claims.md has the row {row}");
            var documented = Name().Matches(line!.Split('|')[2]).Select(m => m.Groups[1].Value).ToList();
            Assert.That(documented, Is.EqualTo(permissions), row);
        }
    }

    [Test]
    public void Every_permission_name_is_documented() =>
        Assert.That(HouseholdPermission.All, Has.All.Matches<string>(name => ReadClaimsDocument().Contains($"| `{name}` |", StringComparison.Ordinal)));

    [GeneratedRegex("`([a-z_]+)`")]
    private static partial Regex Name();
}
