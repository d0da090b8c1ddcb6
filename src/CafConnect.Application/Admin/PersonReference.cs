using System.Globalization;
using CafConnect.Domain.Accounts;
using CafConnect.Domain.Identity;
using FluentValidation;

namespace CafConnect.Application.Admin;

/// <summary>
/// A person as the benefits system names them: exactly one of <c>nir</c> and <c>provisional_id</c>; with their civil
/// status when the event may have to create the person (someone joining a file who has no account yet).
/// </summary>
public sealed record PersonReference
{
    public string? Nir { get; init; }
    public string? ProvisionalId { get; init; }
    public string? Civility { get; init; }
    public string? BirthName { get; init; }
    public string? UsageName { get; init; }
    public string? GivenNames { get; init; }
    public string? BirthDate { get; init; }

    public bool HasCivilStatus => BirthName is not null || GivenNames is not null || BirthDate is not null || Civility is not null;

    /// <summary>The civil status stated, to check the account the identifier finds (<see cref="CivilStatusMatching.IsSamePerson"/>); null when none is stated.</summary>
    public CivilStatusClaim? CivilStatus() => HasCivilStatus ? new CivilStatusClaim(BirthName, GivenNames, ParseDate(BirthDate)) : null;

    /// <summary>The identifier, normalised (13 NIR characters or P + 8 digits); call after validation.</summary>
    public LoginIdentifier Identifier()
    {
        if (!LoginIdentifier.TryParse(Nir ?? ProvisionalId, out var identifier, out _))
        {
            throw new InvalidOperationException("The person reference was not validated.");
        }
        return identifier;
    }

    public static Domain.Accounts.Civility? ParseCivility(string? value) => value switch
    {
        "M" => Domain.Accounts.Civility.Monsieur,
        "MME" => Domain.Accounts.Civility.Madame,
        _ => null,
    };

    public static DateOnly? ParseDate(string? value) =>
        DateOnly.TryParseExact(value, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date) ? date : null;
}

public sealed class PersonReferenceValidator : AbstractValidator<PersonReference>
{
    public PersonReferenceValidator(bool civilStatusRequired = false)
    {
        RuleFor(p => p).Must(p => p.Nir is null != p.ProvisionalId is null).OverridePropertyName("nir")
            .WithMessage("give exactly one of nir and provisional_id");
        RuleFor(p => p.Nir).Must(n => Domain.Identity.Nir.TryParse(n, out _, out _)).When(p => p.Nir is not null).OverridePropertyName("nir")
            .WithMessage("nir: a valid NIR (13 or 15 characters, key checked)");
        RuleFor(p => p.ProvisionalId).Must(n => Domain.Identity.ProvisionalId.TryParse(n, out _, out _)).When(p => p.ProvisionalId is not null).OverridePropertyName("provisional_id")
            .WithMessage("provisional_id: P followed by 8 digits");
        When(p => civilStatusRequired || p.HasCivilStatus, () =>
        {
            RuleFor(p => p.Civility).Must(c => ParseCivilityOk(c)).OverridePropertyName("civility").WithMessage("civility: M or MME");
            RuleFor(p => p.BirthName).Must(n => IsName(n, 100)).OverridePropertyName("birth_name").WithMessage("birth_name: letters, spaces, hyphens, apostrophes; at most 100 characters");
            RuleFor(p => p.UsageName).Must(n => IsName(n, 100)).When(p => p.UsageName is not null).OverridePropertyName("usage_name").WithMessage("usage_name: letters, spaces, hyphens, apostrophes; at most 100 characters");
            RuleFor(p => p.GivenNames).Must(n => IsName(n?.Replace(',', ' '), 200)).OverridePropertyName("given_names").WithMessage("given_names: letters, spaces, commas, hyphens, apostrophes; at most 200 characters");
            RuleFor(p => p.BirthDate).Must(d => PersonReference.ParseDate(d) is { } date && date.Year >= 1900 && date <= DateOnly.FromDateTime(DateTime.UtcNow))
                .OverridePropertyName("birth_date").WithMessage("birth_date: YYYY-MM-DD, from 1900 to today");
        });
    }

    private static bool ParseCivilityOk(string? value) => PersonReference.ParseCivility(value) is not null;

    internal static bool IsName(string? value, int maxLength) =>
        value is { Length: > 0 } && value.Length <= maxLength && value.Trim().Length > 0
        && value.All(c => char.IsLetter(c) || c is ' ' or '-' or '\'' or '’');
}
