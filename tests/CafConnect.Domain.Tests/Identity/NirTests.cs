using CafConnect.Domain.Identity;

namespace CafConnect.Domain.Tests.Identity;

/// <summary>
/// Table-driven NIR rules. Every key below was computed by hand as 97 − (n mod 97), with 2A → 19 and 2B → 18,
/// independently of the production code (see also <see cref="NirPropertyTests"/> which recomputes them).
/// The first argument of each case names the rule it checks.
/// </summary>
public class NirTests
{
    // ---- Accepted: 15 characters with the right key ----------------------------------------------------------

    [TestCase("seed example, grouped as on the carte Vitale", "1 97 06 78 646 489 90", "1970678646489")]
    [TestCase("woman, mainland department", "2 69 05 49 588 157 80", "2690549588157")]
    [TestCase("man born in December", "1 85 12 75 112 045 53", "1851275112045")]
    [TestCase("foreign-born: department 99, country code 135", "2 83 09 99 135 123 92", "2830999135123")]
    [TestCase("department 20: Corsica before 1976", "1 56 01 20 004 321 24", "1560120004321")]
    [TestCase("Corsica 2A: key computed with 19", "2 88 03 2A 004 012 35", "288032A004012")]
    [TestCase("Corsica 2B: key computed with 18", "1 75 11 2B 200 010 43", "175112B200010")]
    [TestCase("Corsica 2A, born in the 2000s", "2 02 07 2A 247 001 41", "202072A247001")]
    [TestCase("Corsica lower-case 2a is upper-cased", "2 02 07 2a 247 001 41", "202072A247001")]
    [TestCase("Corsica lower-case 2b is upper-cased", "1751 12b2 0001 043", "175112B200010")]
    [TestCase("foreign-born: Algeria 352", "1 99 02 99 352 012 25", "1990299352012")]
    [TestCase("foreign-born: country code 217", "2 99 10 99 217 045 46", "2991099217045")]
    [TestCase("sex digit 3: temporary registration (man)", "3 85 01 25 123 456 95", "3850125123456")]
    [TestCase("sex digit 4: temporary registration (woman)", "4 63 10 99 352 888 18", "4631099352888")]
    [TestCase("sex digit 7: temporary foreign-born (man), pseudo-month 31", "7 89 31 99 126 045 54", "7893199126045")]
    [TestCase("sex digit 8: temporary foreign-born (woman)", "8 78 05 78 050 001 11", "8780578050001")]
    [TestCase("pseudo-month 22", "1 85 22 99 001 002 28", "1852299001002")]
    [TestCase("pseudo-month 42 (upper bound of 20–42)", "2 85 42 99 352 010 42", "2854299352010")]
    [TestCase("pseudo-month 50 (lower bound of 50–99)", "1 80 50 75 056 123 83", "1805075056123")]
    [TestCase("pseudo-month 99 and all-9 commune/order", "2 88 99 99 999 999 02", "2889999999999")]
    [TestCase("smallest values everywhere, year 00", "1 00 01 01 001 001 05", "1000101001001")]
    [TestCase("overseas department 971", "1 96 01 97 101 001 88", "1960197101001")]
    [TestCase("overseas department 974", "2 01 06 97 411 236 88", "2010697411236")]
    [TestCase("overseas department 975", "1 93 03 97 502 003 69", "1930397502003")]
    [TestCase("Corsica 2B with pseudo-month 20", "1 62 20 2B 050 120 73", "162202B050120")]
    [TestCase("Corsica 2A with pseudo-month 30", "2 75 30 2A 041 230 67", "275302A041230")]
    [TestCase("pseudo-month 20 (lower bound of 20–42)", "1 70 20 60 004 005 42", "1702060004005")]
    [TestCase("key 01 (n mod 97 = 96)", "1 85 03 75 056 081 01", "1850375056081")]
    [TestCase("key 97 (n mod 97 = 0)", "1 85 03 75 056 082 97", "1850375056082")]
    [TestCase("Corsica 2A with key 01", "2 82 05 2A 123 003 01", "282052A123003")]
    [TestCase("Corsica 2A with key 97", "2 82 05 2A 123 004 97", "282052A123004")]
    [TestCase("separators: dots tolerated", "2.23.11.59.350.250.89", "2231159350250")]
    [TestCase("separators: no spaces at all", "177123523800120", "1771235238001")]
    [TestCase("separators: non-breaking spaces from copy-paste", "1\u00A099\u00A005\u00A076\u00A0255\u00A0001\u00A026", "1990576255001")]
    [TestCase("separators: narrow nbsp, tab and surrounding spaces", "  2\u202F05\t20 92 123 456 38 ", "2052092123456")]
    [TestCase("separators: mixed dots and spaces", "1 84. 41 .13 055.002 16", "1844113055002")]
    public void Accepts_a_15_character_nir_with_its_key(string rule, string input, string expected)
    {
        Assert.That(Nir.TryParse(input, out var nir, out _), Is.True, rule);
        Assert.That(nir.Value, Is.EqualTo(expected), rule);
    }

    // ---- Accepted: 13 characters (no key given, nothing to check) -------------------------------------------

    [TestCase("13 characters, grouped", "1 97 06 78 646 489", "1970678646489")]
    [TestCase("13 characters, compact", "2916069123077", "2916069123077")]
    [TestCase("13 characters, Corsica 2A", "288032A004012", "288032A004012")]
    [TestCase("13 characters, Corsica 2b lower-case", "175112b200010", "175112B200010")]
    [TestCase("13 characters, foreign-born 99", "1 99 02 99 352 012", "1990299352012")]
    [TestCase("13 characters, sex digit 8, pseudo-month 60", "8 91 60 69 123 077", "8916069123077")]
    [TestCase("13 characters, dots", "1.55.01.20.004.321", "1550120004321")]
    public void Accepts_a_13_character_nir(string rule, string input, string expected)
    {
        Assert.That(Nir.TryParse(input, out var nir, out _), Is.True, rule);
        Assert.That(nir.Value, Is.EqualTo(expected), rule);
    }

    // ---- Refused ----------------------------------------------------------------------------------------------

    [TestCase("empty: null", null, NirError.Empty)]
    [TestCase("empty: empty string", "", NirError.Empty)]
    [TestCase("empty: only spaces", "   ", NirError.Empty)]
    [TestCase("empty: only dots and spaces", " . . ", NirError.Empty)]
    [TestCase("length: 12 characters", "197067864648", NirError.InvalidLength)]
    [TestCase("length: 14 characters (one key digit missing)", "19706786464899", NirError.InvalidLength)]
    [TestCase("length: 16 characters", "1970678646489901", NirError.InvalidLength)]
    [TestCase("length: 1 character", "1", NirError.InvalidLength)]
    [TestCase("length: 8-digit code typed in the NIR field", "12345678", NirError.InvalidLength)]
    [TestCase("characters: letter O instead of zero", "1 97 O6 78 646 489", NirError.InvalidCharacters)]
    [TestCase("characters: letter in the order number", "1 97 06 78 646 48A", NirError.InvalidCharacters)]
    [TestCase("characters: letter in the key", "1 97 06 78 646 489 9O", NirError.InvalidCharacters)]
    [TestCase("characters: hyphens are not tolerated", "1-97-06-78-646-489", NirError.InvalidCharacters)]
    [TestCase("characters: slash", "1/97/06/78/646/489", NirError.InvalidCharacters)]
    [TestCase("characters: full-width digits", "１９７０６７８６４６４８９", NirError.InvalidCharacters)]
    [TestCase("characters: accented letter", "1970678646é89", NirError.InvalidCharacters)]
    [TestCase("characters: letters only", "abcdefghijklm", NirError.InvalidCharacters)]
    [TestCase("characters: 2A in the wrong place", "12A0678646489", NirError.InvalidCharacters)]
    [TestCase("sex: 0", "0 97 06 78 646 489", NirError.InvalidSex)]
    [TestCase("sex: 5", "5 97 06 78 646 489", NirError.InvalidSex)]
    [TestCase("sex: 6", "6 97 06 78 646 489", NirError.InvalidSex)]
    [TestCase("sex: 9", "9 97 06 78 646 489", NirError.InvalidSex)]
    [TestCase("month: 00", "1 97 00 78 646 489", NirError.InvalidMonth)]
    [TestCase("month: 13", "1 97 13 78 646 489", NirError.InvalidMonth)]
    [TestCase("month: 15", "1 97 15 78 646 489", NirError.InvalidMonth)]
    [TestCase("month: 19", "1 97 19 78 646 489", NirError.InvalidMonth)]
    [TestCase("month: 43", "1 97 43 78 646 489", NirError.InvalidMonth)]
    [TestCase("month: 45", "1 97 45 78 646 489", NirError.InvalidMonth)]
    [TestCase("month: 49", "1 97 49 78 646 489", NirError.InvalidMonth)]
    [TestCase("department: 00", "1 97 06 00 646 489", NirError.InvalidDepartment)]
    [TestCase("department: 2C is not Corsica", "1 97 06 2C 646 489", NirError.InvalidDepartment)]
    [TestCase("department: 3A", "1 97 06 3A 646 489", NirError.InvalidDepartment)]
    [TestCase("department: AB", "1 97 06 AB 646 489", NirError.InvalidDepartment)]
    [TestCase("commune: 000", "1 97 06 78 000 489", NirError.InvalidCommune)]
    [TestCase("commune: country code 000 for foreign-born", "1 97 06 99 000 489", NirError.InvalidCommune)]
    [TestCase("commune: 000 in Corsica", "1 97 06 2A 000 489", NirError.InvalidCommune)]
    [TestCase("order: 000", "1 97 06 78 646 000", NirError.InvalidOrder)]
    [TestCase("order: 000 with a 15-character input", "1 97 06 78 646 000 12", NirError.InvalidOrder)]
    [TestCase("key: off by one", "1 97 06 78 646 489 91", NirError.KeyMismatch)]
    [TestCase("key: 00 is never a key", "1 97 06 78 646 489 00", NirError.KeyMismatch)]
    [TestCase("key: 98 is never a key", "1 97 06 78 646 489 98", NirError.KeyMismatch)]
    [TestCase("key: 99 is never a key", "1 97 06 78 646 489 99", NirError.KeyMismatch)]
    [TestCase("key: two digits swapped in the body", "1 97 06 78 664 489 90", NirError.KeyMismatch)]
    [TestCase("key: swapped key digits", "1 97 06 78 646 489 09", NirError.KeyMismatch)]
    [TestCase("key: Corsica 2A key computed with 20 instead of 19", "2 88 03 2A 004 012 08", NirError.KeyMismatch)]
    [TestCase("key: Corsica 2B given the 2A key", "2 88 03 2B 004 012 35", NirError.KeyMismatch)]
    [TestCase("key: sex digit changed 1 → 2", "2 97 06 78 646 489 90", NirError.KeyMismatch)]
    public void Refuses_an_invalid_nir(string rule, string? input, NirError expected)
    {
        Assert.That(Nir.TryParse(input, out var nir, out var error), Is.False, rule);
        Assert.That(error, Is.EqualTo(expected), rule);
        Assert.That(nir, Is.EqualTo(default(Nir)), rule);
    }

    [Test]
    public void Key_mismatch_message_says_the_key_does_not_match()
    {
        Nir.TryParse("1 97 06 78 646 489 91", out _, out var error);
        Assert.That(Nir.MessageFor(error), Does.Contain("la clé ne correspond pas"));
    }

    [Test]
    public void Every_error_has_its_own_french_message()
    {
        var messages = Enum.GetValues<NirError>().Select(Nir.MessageFor).ToList();
        Assert.That(messages, Is.Unique);
        Assert.That(messages, Has.All.Contains("numéro de Sécurité sociale"));
        Assert.That(messages, Has.None.EqualTo("Le numéro de Sécurité sociale n'est pas valide."), "no error falls into the generic message");
    }

    // ---- Key computation --------------------------------------------------------------------------------------

    [TestCase("1970678646489", 90)]
    [TestCase("288032A004012", 35)]
    [TestCase("175112B200010", 43)]
    [TestCase("1850375056082", 97)]
    [TestCase("1850375056081", 1)]
    public void Computes_the_key(string value, int expectedKey)
    {
        Assert.That(Nir.ComputeKeyFor(value), Is.EqualTo(expectedKey));
        Assert.That(Nir.TryParse(value, out var nir, out _), Is.True);
        Assert.That(nir.ComputeKey(), Is.EqualTo(expectedKey));
    }

    [TestCase("123")]
    [TestCase("1970678646A89")]
    public void Key_helper_refuses_a_non_normalised_value(string value) =>
        Assert.That(() => Nir.ComputeKeyFor(value), Throws.ArgumentException);

    // ---- Display, masking, flags ------------------------------------------------------------------------------

    [TestCase("197067864648990", "1 97 06 78 646 489", "1 97 06 78 646 489 90")]
    [TestCase("2 88 03 2a 004 012", "2 88 03 2A 004 012", "2 88 03 2A 004 012 35")]
    public void Displays_grouped(string input, string display, string displayWithKey)
    {
        Nir.TryParse(input, out var nir, out _);
        Assert.That(nir.ToDisplayString(), Is.EqualTo(display));
        Assert.That(nir.ToDisplayString(includeKey: true), Is.EqualTo(displayWithKey));
        Assert.That(nir.ToDisplayString(includeKey: false), Is.EqualTo(display));
    }

    [Test]
    public void Is_never_shown_in_clear_by_ToString_or_interpolation()
    {
        Nir.TryParse("1 97 06 78 646 489 90", out var nir, out _);
        Assert.That(nir.ToMaskedString(), Is.EqualTo("**********489"));
        Assert.That(nir.ToString(), Is.EqualTo("**********489"));
        Assert.That($"login for {nir}", Does.Not.Contain("1970678"));
        Assert.That(default(Nir).ToString(), Is.Empty, "default value must not throw when logged");
        Assert.That(default(Nir).ToDisplayString(), Is.Empty);
    }

    [Test]
    public void Equal_inputs_in_different_forms_give_equal_values()
    {
        Nir.TryParse("1 97 06 78 646 489", out var a, out _);
        Nir.TryParse("1.97.06.78.646.489.90", out var b, out _);
        Assert.That(a, Is.EqualTo(b));
    }

    [TestCase("1 99 02 99 352 012", true, false)]
    [TestCase("7 89 31 99 126 045", true, true)]
    [TestCase("3 85 01 25 123 456", false, true)]
    [TestCase("1 97 06 78 646 489", false, false)]
    public void Exposes_foreign_born_and_temporary_flags(string input, bool foreignBorn, bool temporary)
    {
        Nir.TryParse(input, out var nir, out _);
        Assert.That(nir.IsForeignBorn, Is.EqualTo(foreignBorn));
        Assert.That(nir.IsTemporaryRegistration, Is.EqualTo(temporary));
    }
}

/// <summary>What a NIR says of its holder: the sex digit and the birth place (used to confirm a FranceConnect identity).</summary>
public class NirDecodingTests
{
    private static Nir Parse(string input) =>
        Nir.TryParse(input, out var nir, out var error) ? nir : throw new AssertionException($"{input}: {error}");

    [TestCase("1970678646489", NirSex.Male)]
    [TestCase("2690549588157", NirSex.Female)]
    [TestCase("3850125123456", NirSex.Male)]
    [TestCase("4631099352888", NirSex.Female)]
    [TestCase("7893199126045", NirSex.Male)]
    [TestCase("8780578050001", NirSex.Female)]
    public void The_first_digit_is_the_sex(string nir, NirSex sex) => Assert.That(Parse(nir).Sex, Is.EqualTo(sex));

    [TestCase("1970678646489", "78646")]
    [TestCase("288032A004012", "2A004")]
    [TestCase("2830999135123", "99135")]
    public void Characters_6_to_10_are_the_birth_place_code(string nir, string code) =>
        Assert.That(Parse(nir).BirthPlaceCode, Is.EqualTo(code));

    [TestCase("1970678646489", "78646", true)]
    [TestCase("1970678646489", " 78646 ", true)]
    [TestCase("1970678646489", "78647", false)]
    [TestCase("1970678646489", "7864", false)]
    [TestCase("1970678646489", null, false)]
    [TestCase("1560120004321", "2A004", true)] // département 20 (Corsica before 1976): 2A or 2B, same commune
    [TestCase("1560120004321", "2b004", true)]
    [TestCase("1560120004321", "2A005", false)]
    [TestCase("1560120004321", "20004", true)]
    [TestCase("288032A004012", "2A004", true)]
    [TestCase("288032A004012", "2B004", false)] // a NIR of 2A is not a commune of 2B
    [TestCase("2830999135123", "99135", false)] // born abroad: a country, never a commune
    public void A_commune_code_is_the_birth_commune_of_the_NIR(string nir, string? commune, bool same) =>
        Assert.That(Parse(nir).IsBirthCommune(commune), Is.EqualTo(same));
}
