using CafConnect.Domain.Identity;
using CafConnect.Domain.Passwords;

namespace CafConnect.Domain.Tests;

/// <summary>Keeps docs/identity-rules.md in step with the messages people actually read.</summary>
public class DocumentationTests
{
    private static string ReadRulesDocument()
    {
        var directory = new DirectoryInfo(TestContext.CurrentContext.TestDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "CafConnect.IdP.sln")))
            directory = directory.Parent;
        Assume.That(directory, Is.Not.Null, "repository root not found");
        return File.ReadAllText(Path.Combine(directory!.FullName, "docs", "identity-rules.md"));
    }

    private static IEnumerable<TestCaseData> AllMessages()
    {
        foreach (var e in Enum.GetValues<NirError>()) yield return new TestCaseData($"NirError.{e}", Nir.MessageFor(e));
        foreach (var e in Enum.GetValues<ProvisionalIdError>()) yield return new TestCaseData($"ProvisionalIdError.{e}", ProvisionalId.MessageFor(e));
        foreach (var e in Enum.GetValues<FileNumberError>()) yield return new TestCaseData($"FileNumberError.{e}", FileNumber.MessageFor(e));
        foreach (var e in Enum.GetValues<PasswordRule>()) yield return new TestCaseData($"PasswordRule.{e}", PasswordRules.MessageFor(e));
        foreach (var e in Enum.GetValues<PasswordReplacementReason>()) yield return new TestCaseData($"PasswordReplacementReason.{e}", PasswordExpiryPolicy.MessageFor(e));
        foreach (var r in PersonalPasswordPolicy.ChecklistRules) yield return new TestCaseData($"Checklist.{r.Rule}", r.Label);
        foreach (var e in Enum.GetValues<CafConnect.Domain.Accounts.BirthDateError>())
        {
            yield return new TestCaseData($"BirthDateError.{e}", CafConnect.Domain.Accounts.BirthDateInput.MessageFor(e));
            yield return new TestCaseData($"BirthDateError.{e} (own)", CafConnect.Domain.Accounts.BirthDateInput.MessageFor(e, ownBirthDate: true));
        }
        yield return new TestCaseData("LoginIdentifier.Empty", LoginIdentifier.EmptyMessage);
        yield return new TestCaseData("ConfirmationMismatch", PasswordRules.ConfirmationMismatchMessage);
    }

    [TestCaseSource(nameof(AllMessages))]
    public void Rules_document_lists_the_message(string rule, string message) =>
        Assert.That(ReadRulesDocument(), Does.Contain(message), rule);
}
