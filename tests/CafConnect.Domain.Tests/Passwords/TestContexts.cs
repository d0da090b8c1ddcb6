using CafConnect.Domain.Identity;
using CafConnect.Domain.Passwords;

namespace CafConnect.Domain.Tests.Passwords;

/// <summary>A household as the file knows it, shared by the password tests.</summary>
internal static class TestContexts
{
    public static Nir ParseNir(string input) =>
        Nir.TryParse(input, out var nir, out var error) ? nir : throw new ArgumentException(error.ToString());

    /// <summary>NIR 1 97 06 78 646 489 (first 8 digits 19706786), file 0260311, born 15/06/1997, child born 09/03/2021.</summary>
    public static PasswordContext Household { get; } = new()
    {
        Nir = ParseNir("1 97 06 78 646 489"),
        FileNumbers = ["0260311"],
        BirthDates = [new DateOnly(1997, 6, 15), new DateOnly(2021, 3, 9)],
        PhoneNumbers = ["06 12 15 45 45", "+33 6 45 45 44 55", "3949"],
    };

    /// <summary>Born in Corse-du-Sud: NIR 2 88 03 2A 004 012, first 8 characters 288032A0.</summary>
    public static PasswordContext Corsican { get; } = new() { Nir = ParseNir("2 88 03 2A 004 012") };

    public static PasswordContext For(string name) => name switch
    {
        "household" => Household,
        "corsican" => Corsican,
        "none" => PasswordContext.Empty,
        "file number without its leading zero" => new PasswordContext { FileNumbers = ["260311"] },
        "file number padded to 8 digits" => new PasswordContext { FileNumbers = ["00260311"] },
        "phone written 0033" => new PasswordContext { PhoneNumbers = ["0033 (0)6.11.22.33.44"] },
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, null),
    };
}
