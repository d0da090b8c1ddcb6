using CafConnect.Domain.Households;
using CafConnect.Domain.Identity;
using FluentValidation;

namespace CafConnect.Application.Admin;

/// <summary>The event types of <c>POST /admin/v1/file-events</c> (docs/admin-api.md).</summary>
public static class FileEventTypes
{
    public const string PersonAdded = "person_added";
    public const string PersonRemoved = "person_removed";
    public const string Separation = "separation";
    public const string Mutation = "mutation";
    public const string NirAttached = "nir_attached";
    public const string Death = "death";
    /// <summary>The benefits system finished processing a first-time applicant's file: its members are no longer primo-demandeurs.</summary>
    public const string FileOpened = "file_opened";

    public static readonly IReadOnlyList<string> All = [PersonAdded, PersonRemoved, Separation, Mutation, NirAttached, Death, FileOpened];
}

/// <summary>
/// One event of a Caf file, from the benefits system (API) or an operator (CLI). Which fields each type needs is
/// checked by <see cref="FileEventRequestValidator"/>.
/// </summary>
public sealed record FileEventRequest
{
    /// <summary>The sender's unique id for this event: a replay with the same id is answered once.</summary>
    public string? EventId { get; init; }
    public string? Type { get; init; }
    public string? FileNumber { get; init; }
    /// <summary>Separation: the file the leaving partner now holds; mutation: the file's new number.</summary>
    public string? NewFileNumber { get; init; }
    public PersonReference? Person { get; init; }
    /// <summary>Person added: allocataire, conjoint, conjoint_allocataire, enfant or autre.</summary>
    public string? Role { get; init; }
    /// <summary>NIR attached: the person's NIR, which becomes their login.</summary>
    public string? Nir { get; init; }

    /// <summary>
    /// Separation: for each child (<c>enfant</c>) of the file, the file that keeps them — <see cref="FileNumber"/> or
    /// <see cref="NewFileNumber"/>. Every child must be named (issue 16, item 12): CafConnect does not guess custody.
    /// </summary>
    public IReadOnlyList<ChildPlacement>? Children { get; init; }

    public static IReadOnlyDictionary<string, HouseholdRole> Roles => HouseholdRoleNames.ByName;
}

/// <summary>One child of a separation and the file that keeps them.</summary>
public sealed record ChildPlacement
{
    public PersonReference? Person { get; init; }
    public string? FileNumber { get; init; }
}

public sealed class FileEventRequestValidator : AbstractValidator<FileEventRequest>
{
    public FileEventRequestValidator()
    {
        RuleFor(e => e.EventId).NotEmpty().OverridePropertyName("event_id").WithMessage("event_id is required")
            .Matches("^[A-Za-z0-9._:-]{1,100}$").OverridePropertyName("event_id").WithMessage("event_id: 1 to 100 letters, digits, '.', '_', ':' or '-'");
        RuleFor(e => e.Type).NotEmpty().OverridePropertyName("type").WithMessage("type is required")
            .Must(t => FileEventTypes.All.Contains(t)).When(e => !string.IsNullOrEmpty(e.Type), ApplyConditionTo.CurrentValidator).OverridePropertyName("type")
            .WithMessage($"type: one of {string.Join(", ", FileEventTypes.All)}");

        var needsFile = new[] { FileEventTypes.PersonAdded, FileEventTypes.PersonRemoved, FileEventTypes.Separation, FileEventTypes.Mutation, FileEventTypes.FileOpened };
        var needsPerson = new[] { FileEventTypes.PersonAdded, FileEventTypes.PersonRemoved, FileEventTypes.Separation, FileEventTypes.NirAttached, FileEventTypes.Death };
        var needsNewFile = new[] { FileEventTypes.Separation, FileEventTypes.Mutation };

        RuleFor(e => e.FileNumber).Must(IsFileNumber).When(e => needsFile.Contains(e.Type)).OverridePropertyName("file_number")
            .WithMessage("file_number: exactly 7 digits");
        RuleFor(e => e.NewFileNumber).Must(IsFileNumber).When(e => needsNewFile.Contains(e.Type)).OverridePropertyName("new_file_number")
            .WithMessage("new_file_number: exactly 7 digits");
        RuleFor(e => e.NewFileNumber).NotEqual(e => e.FileNumber).When(e => needsNewFile.Contains(e.Type) && e.NewFileNumber is not null)
            .OverridePropertyName("new_file_number").WithMessage("new_file_number must differ from file_number");
        RuleFor(e => e.Person).NotNull().When(e => needsPerson.Contains(e.Type)).OverridePropertyName("person").WithMessage("person is required");
        // person_added attaches someone to a family's file: the benefits system states who (civil status), and an account
        // found by the identifier is that person only if it matches (never by NIR alone).
        RuleFor(e => e.Person!).SetValidator(new PersonReferenceValidator(civilStatusRequired: true)).When(e => e.Person is not null && e.Type == FileEventTypes.PersonAdded).OverridePropertyName("person");
        RuleFor(e => e.Person!).SetValidator(new PersonReferenceValidator()).When(e => e.Person is not null && e.Type != FileEventTypes.PersonAdded).OverridePropertyName("person");
        RuleFor(e => e.Person!.ProvisionalId).NotEmpty().When(e => e.Type == FileEventTypes.NirAttached && e.Person is not null)
            .OverridePropertyName("person.provisional_id").WithMessage("nir_attached: the person is named by their provisional_id");
        RuleFor(e => e.Role).Must(r => r is not null && FileEventRequest.Roles.ContainsKey(r)).When(e => e.Type == FileEventTypes.PersonAdded)
            .OverridePropertyName("role").WithMessage("role: allocataire, conjoint, conjoint_allocataire, enfant or autre");
        RuleFor(e => e.Nir).Must(n => Domain.Identity.Nir.TryParse(n, out _, out _)).When(e => e.Type == FileEventTypes.NirAttached)
            .OverridePropertyName("nir").WithMessage("nir: a valid NIR (13 or 15 characters)");
        RuleFor(e => e.Children).Null().When(e => e.Type != FileEventTypes.Separation)
            .OverridePropertyName("children").WithMessage("children: only for a separation");
        RuleForEach(e => e.Children).ChildRules(child =>
        {
            child.RuleFor(c => c.Person).NotNull().OverridePropertyName("person").WithMessage("person is required");
            child.RuleFor(c => c.Person!).SetValidator(new PersonReferenceValidator()).When(c => c.Person is not null).OverridePropertyName("person");
        }).When(e => e.Type == FileEventTypes.Separation).OverridePropertyName("children");
        RuleForEach(e => e.Children).Must((e, c) => c.FileNumber is not null && (c.FileNumber == e.FileNumber || c.FileNumber == e.NewFileNumber))
            .When(e => e.Type == FileEventTypes.Separation).OverridePropertyName("children")
            .WithMessage("children: each child's file_number must be the separation's file_number or new_file_number");
        RuleFor(e => e.Children).Must(c => c!.Where(x => x.Person is not null).Select(x => (x.Person!.Nir ?? string.Empty) + "|" + (x.Person!.ProvisionalId ?? string.Empty)).Distinct().Count() == c!.Count(x => x.Person is not null))
            .When(e => e.Type == FileEventTypes.Separation && e.Children is not null).OverridePropertyName("children")
            .WithMessage("children: a child is named more than once");
    }

    private static bool IsFileNumber(string? value) => value is not null && Domain.Identity.FileNumber.TryParse(value, out var parsed, out _) && parsed.Value == value;
}
