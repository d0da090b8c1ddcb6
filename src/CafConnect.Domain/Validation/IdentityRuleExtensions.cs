using CafConnect.Domain.Identity;
using CafConnect.Domain.Passwords;
using FluentValidation;
using FluentValidation.Results;

namespace CafConnect.Domain.Validation;

/// <summary>
/// FluentValidation rules for the forms, e.g. <c>RuleFor(x => x.Nir).MustBeValidNir()</c>.
/// Messages are exactly those of the domain types. Failures never carry the typed value
/// (<see cref="ValidationFailure.AttemptedValue"/> is null) so a logged validation result leaks no NIR or password.
/// Error codes are "Nir.KeyMismatch", "Password.Uppercase", etc. for the page or tests to key on.
/// </summary>
public static class IdentityRuleExtensions
{
    public static IRuleBuilderOptionsConditions<T, string?> MustBeValidNir<T>(this IRuleBuilder<T, string?> rule) =>
        rule.Custom((value, context) =>
        {
            if (!Nir.TryParse(value, out _, out var error)) AddFailure(context, $"Nir.{error}", Nir.MessageFor(error));
        });

    public static IRuleBuilderOptionsConditions<T, string?> MustBeValidProvisionalId<T>(this IRuleBuilder<T, string?> rule) =>
        rule.Custom((value, context) =>
        {
            if (!ProvisionalId.TryParse(value, out _, out var error)) AddFailure(context, $"ProvisionalId.{error}", ProvisionalId.MessageFor(error));
        });

    public static IRuleBuilderOptionsConditions<T, string?> MustBeValidFileNumber<T>(this IRuleBuilder<T, string?> rule) =>
        rule.Custom((value, context) =>
        {
            if (!FileNumber.TryParse(value, out _, out var error)) AddFailure(context, $"FileNumber.{error}", FileNumber.MessageFor(error));
        });

    public static IRuleBuilderOptionsConditions<T, string?> MustBeValidLoginIdentifier<T>(this IRuleBuilder<T, string?> rule) =>
        rule.Custom((value, context) =>
        {
            if (!LoginIdentifier.TryParse(value, out _, out var message)) AddFailure(context, "LoginIdentifier.Invalid", message);
        });

    /// <summary>One failure per broken rule, with the policy's message; the context comes from the validated object.</summary>
    public static IRuleBuilderOptionsConditions<T, string?> MustBeValidPersonalPassword<T>(this IRuleBuilder<T, string?> rule, Func<T, PasswordContext?> contextOf) =>
        rule.Custom((value, context) => AddViolations(context, PersonalPasswordPolicy.Check(value, contextOf(context.InstanceToValidate))));

    public static IRuleBuilderOptionsConditions<T, string?> MustBeValidPersonalPassword<T>(this IRuleBuilder<T, string?> rule, PasswordContext? passwordContext = null) =>
        rule.Custom((value, context) => AddViolations(context, PersonalPasswordPolicy.Check(value, passwordContext)));

    public static IRuleBuilderOptionsConditions<T, string?> MustBeValidLegacyCode<T>(this IRuleBuilder<T, string?> rule, Func<T, PasswordContext?> contextOf) =>
        rule.Custom((value, context) => AddViolations(context, LegacyCodePolicy.Check(value, contextOf(context.InstanceToValidate))));

    public static IRuleBuilderOptionsConditions<T, string?> MustBeValidLegacyCode<T>(this IRuleBuilder<T, string?> rule, PasswordContext? passwordContext = null) =>
        rule.Custom((value, context) => AddViolations(context, LegacyCodePolicy.Check(value, passwordContext)));

    private static void AddViolations<T>(ValidationContext<T> context, PasswordCheckResult result)
    {
        foreach (var violation in result.Violations) AddFailure(context, $"Password.{violation.Rule}", violation.Message);
    }

    private static void AddFailure<T>(ValidationContext<T> context, string code, string message) =>
        context.AddFailure(new ValidationFailure(context.PropertyPath, message) { ErrorCode = code, AttemptedValue = null });
}

/// <summary>Validates a NIR typed on its own (property name "Nir").</summary>
public sealed class NirValidator : AbstractValidator<string>
{
    public NirValidator() => RuleFor(x => x).Configure(r => r.PropertyName = "Nir").MustBeValidNir();
}

/// <summary>Validates the login field: NIR or provisional identifier (property name "Identifiant").</summary>
public sealed class LoginIdentifierValidator : AbstractValidator<string>
{
    public LoginIdentifierValidator() => RuleFor(x => x).Configure(r => r.PropertyName = "Identifiant").MustBeValidLoginIdentifier();
}

/// <summary>Validates a new personal password against the person's data (property name "MotDePasse").</summary>
public sealed class PersonalPasswordValidator : AbstractValidator<string>
{
    public PersonalPasswordValidator(PasswordContext? context = null) =>
        RuleFor(x => x).Configure(r => r.PropertyName = "MotDePasse").MustBeValidPersonalPassword(context);
}

/// <summary>Validates a legacy 8-digit code against the file's data (property name "MotDePasse").</summary>
public sealed class LegacyCodeValidator : AbstractValidator<string>
{
    public LegacyCodeValidator(PasswordContext? context = null) =>
        RuleFor(x => x).Configure(r => r.PropertyName = "MotDePasse").MustBeValidLegacyCode(context);
}
