namespace CafConnect.IdP.Features.Shared;

/// <summary>One text input of a form, with what RGAA asks: label, hint, autocomplete, error tied by aria-describedby.</summary>
public sealed record TextField(string Id, string Name, string Label, string? Value, string? Error, string? Hint = null,
    string? Autocomplete = null, string? InputMode = null, int MaxLength = 100, string Type = "text", bool Required = true);
