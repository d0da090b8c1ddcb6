using CafConnect.Domain.Identity;
using CafConnect.Domain.Passwords;
using CafConnect.Domain.Tests.Passwords;
using CafConnect.Domain.Validation;
using FluentValidation;

namespace CafConnect.Domain.Tests.Validation;

public class ValidatorTests
{
    /// <summary>A form as the host would write it: nullable and non-nullable properties both work.</summary>
    private sealed class NewPasswordForm
    {
        public string Identifiant { get; init; } = "";
        public string? MotDePasse { get; init; }
        public string? NumeroAllocataire { get; init; }
        public string? IdentifiantProvisoire { get; init; }
        public string? CodeTelephone { get; init; }
        public PasswordContext Context { get; init; } = PasswordContext.Empty;
    }

    private sealed class NewPasswordFormValidator : AbstractValidator<NewPasswordForm>
    {
        public NewPasswordFormValidator()
        {
            RuleFor(x => x.Identifiant).MustBeValidLoginIdentifier();
            RuleFor(x => x.MotDePasse).MustBeValidPersonalPassword(x => x.Context);
            RuleFor(x => x.NumeroAllocataire).MustBeValidFileNumber().When(x => x.NumeroAllocataire is not null);
            RuleFor(x => x.IdentifiantProvisoire).MustBeValidProvisionalId().When(x => x.IdentifiantProvisoire is not null);
            RuleFor(x => x.CodeTelephone).MustBeValidLegacyCode(x => x.Context).When(x => x.CodeTelephone is not null);
        }
    }

    private static readonly NewPasswordFormValidator FormValidator = new();

    [Test]
    public void A_valid_form_passes() =>
        Assert.That(FormValidator.Validate(new NewPasswordForm { Identifiant = "1 97 06 78 646 489 90", MotDePasse = "Xk9mPq2wZt", NumeroAllocataire = "0260311", IdentifiantProvisoire = "p33392250", CodeTelephone = "24681357" }).IsValid, Is.True);

    [Test]
    public void Password_failures_carry_the_policy_messages_one_per_rule()
    {
        var form = new NewPasswordForm { Identifiant = "P33392250", MotDePasse = "lea15061997", Context = TestContexts.Household };
        var result = FormValidator.Validate(form);
        var expected = PersonalPasswordPolicy.Check(form.MotDePasse, form.Context).Violations;
        Assert.That(result.Errors.Select(e => e.ErrorMessage), Is.EqualTo(expected.Select(v => v.Message)));
        Assert.That(result.Errors.Select(e => e.ErrorCode), Is.EqualTo(new[] { "Password.Uppercase", "Password.ContainsBirthDate" }));
        Assert.That(result.Errors.Select(e => e.PropertyName), Has.All.EqualTo(nameof(NewPasswordForm.MotDePasse)));
    }

    [Test]
    public void Failures_never_carry_the_typed_value()
    {
        var result = FormValidator.Validate(new NewPasswordForm { Identifiant = "1 97 06 78 646 489 91", MotDePasse = "Azerty123" });
        Assert.That(result.Errors, Has.Count.EqualTo(2));
        Assert.That(result.Errors.Select(e => e.AttemptedValue), Has.All.Null);
        Assert.That(result.ToString(), Does.Not.Contain("1970678").And.Not.Contain("Azerty123"));
    }

    [TestCase("", "Saisissez votre numéro de Sécurité sociale ou votre identifiant provisoire.")]
    [TestCase("1 97 06 78 646 489 91", "Le numéro de Sécurité sociale n'est pas valide : la clé ne correspond pas.")]
    [TestCase("P1234", "L'identifiant provisoire comporte la lettre P suivie de 8 chiffres.")]
    public void Login_identifier_failures_use_the_domain_message(string typed, string message)
    {
        var result = FormValidator.Validate(new NewPasswordForm { Identifiant = typed, MotDePasse = "Xk9mPq2wZt" });
        Assert.That(result.Errors.Single().ErrorMessage, Is.EqualTo(message));
        Assert.That(result.Errors.Single().PropertyName, Is.EqualTo("Identifiant"));
    }

    [Test]
    public void File_number_provisional_id_and_legacy_code_rules_use_the_domain_messages()
    {
        var result = FormValidator.Validate(new NewPasswordForm
        {
            Identifiant = "P33392250", MotDePasse = "Xk9mPq2wZt", NumeroAllocataire = "260311", IdentifiantProvisoire = "Q12345678", CodeTelephone = "90123456",
        });
        Assert.That(result.Errors.Select(e => (e.PropertyName, e.ErrorCode, e.ErrorMessage)), Is.EqualTo(new[]
        {
            ("NumeroAllocataire", "FileNumber.InvalidLength", FileNumber.MessageFor(FileNumberError.InvalidLength)),
            ("IdentifiantProvisoire", "ProvisionalId.MissingPrefix", ProvisionalId.MessageFor(ProvisionalIdError.MissingPrefix)),
            ("CodeTelephone", "Password.LegacySequentialDigits", PasswordRules.MessageFor(PasswordRule.LegacySequentialDigits)),
        }));
    }

    [TestCase("1 97 06 78 646 489 90", null)]
    [TestCase("288032a004012", null)]
    [TestCase("", NirError.Empty)]
    [TestCase("1 97 06 78 646 489 91", NirError.KeyMismatch)]
    [TestCase("1 97 13 78 646 489", NirError.InvalidMonth)]
    [TestCase("5 97 06 78 646 489", NirError.InvalidSex)]
    public void NirValidator_matches_Nir_TryParse(string typed, NirError? expected)
    {
        var result = new NirValidator().Validate(typed);
        if (expected is null)
        {
            Assert.That(result.IsValid, Is.True);
            return;
        }
        var error = result.Errors.Single();
        Assert.That(error.ErrorMessage, Is.EqualTo(Nir.MessageFor(expected.Value)));
        Assert.That(error.ErrorCode, Is.EqualTo($"Nir.{expected}"));
        Assert.That(error.PropertyName, Is.EqualTo("Nir"));
    }

    [Test]
    public void LoginIdentifierValidator_accepts_both_kinds()
    {
        var validator = new LoginIdentifierValidator();
        Assert.That(validator.Validate("1 97 06 78 646 489").IsValid, Is.True);
        Assert.That(validator.Validate("p33392250").IsValid, Is.True);
        Assert.That(validator.Validate("33392250").Errors.Single().PropertyName, Is.EqualTo("Identifiant"));
    }

    [Test]
    public void PersonalPasswordValidator_uses_the_given_context()
    {
        var withContext = new PersonalPasswordValidator(TestContexts.Household).Validate("Marie19706786");
        Assert.That(withContext.Errors.Single().ErrorMessage, Is.EqualTo(PasswordRules.MessageFor(PasswordRule.ContainsNir)));
        Assert.That(withContext.Errors.Single().PropertyName, Is.EqualTo("MotDePasse"));
        Assert.That(new PersonalPasswordValidator().Validate("Marie19706786").IsValid, Is.True);
    }

    [Test]
    public void PersonalPasswordValidator_reports_every_failed_composition_rule()
    {
        var result = new PersonalPasswordValidator().Validate("abc");
        Assert.That(result.Errors.Select(e => e.ErrorMessage), Is.EqualTo(new[] { PasswordRule.Length, PasswordRule.Digit, PasswordRule.Uppercase }.Select(PasswordRules.MessageFor)));
    }

    [Test]
    public void LegacyCodeValidator_uses_the_given_context()
    {
        Assert.That(new LegacyCodeValidator(TestContexts.Household).Validate("15061997").Errors.Single().ErrorCode, Is.EqualTo("Password.LegacyBirthDate"));
        Assert.That(new LegacyCodeValidator().Validate("15061997").IsValid, Is.True);
    }
}
