using System.Numerics;
using CafConnect.Domain.Identity;

namespace CafConnect.Domain.Tests.Identity;

/// <summary>
/// Generated (property-style) NIR tests with a fixed seed, so a failure is reproducible.
/// The key is recomputed here with BigInteger, independently of <see cref="Nir.ComputeKeyFor"/>.
/// </summary>
public class NirPropertyTests
{
    private const int Seed = 20_240_601;
    private const int SampleCount = 2_000;

    private static readonly char[] SexDigits = ['1', '2', '3', '4', '7', '8'];

    /// <summary>A random NIR that satisfies every structural rule, as 13 characters.</summary>
    internal static string RandomValidBody(Random random)
    {
        var sex = SexDigits[random.Next(SexDigits.Length)];
        var year = random.Next(100);
        int month = random.Next(3) switch
        {
            0 => random.Next(1, 13),
            1 => random.Next(20, 43),
            _ => random.Next(50, 100),
        };
        var department = random.Next(10) switch
        {
            0 => "2A",
            1 => "2B",
            2 => "99",
            _ => random.Next(1, 100).ToString("00"),
        };
        var commune = random.Next(1, 1000);
        var order = random.Next(1, 1000);
        return $"{sex}{year:00}{month:00}{department}{commune:000}{order:000}";
    }

    internal static int ReferenceKey(string body)
    {
        var digits = body[5..7] switch
        {
            "2A" => body[..5] + "19" + body[7..],
            "2B" => body[..5] + "18" + body[7..],
            _ => body,
        };
        return 97 - (int)(BigInteger.Parse(digits) % 97);
    }

    private static IEnumerable<TestCaseData> Samples()
    {
        var random = new Random(Seed);
        for (var i = 0; i < SampleCount; i++)
        {
            var body = RandomValidBody(random);
            yield return new TestCaseData(body + ReferenceKey(body).ToString("00"));
        }
    }

    [Test]
    public void Every_generated_valid_nir_with_its_key_parses()
    {
        foreach (TestCaseData sample in Samples())
        {
            var fifteen = (string)sample.Arguments[0]!;
            var ok = Nir.TryParse(fifteen, out var nir, out var error);
            Assert.That(ok, Is.True, $"{fifteen} refused with {error}");
            Assert.That(nir.Value, Is.EqualTo(fifteen[..13]));
            Assert.That(nir.ComputeKey(), Is.EqualTo(int.Parse(fifteen[13..])));
        }
    }

    [Test]
    public void Every_generated_valid_nir_parses_in_its_displayed_form()
    {
        foreach (TestCaseData sample in Samples())
        {
            var fifteen = (string)sample.Arguments[0]!;
            Nir.TryParse(fifteen, out var nir, out _);
            Assert.That(Nir.TryParse(nir.ToDisplayString(includeKey: true), out var again, out _), Is.True);
            Assert.That(again, Is.EqualTo(nir));
        }
    }

    [Test]
    public void Every_single_digit_change_of_a_15_character_nir_is_detected()
    {
        var checkedVariants = 0;
        foreach (TestCaseData sample in Samples().Take(500))
        {
            var fifteen = (string)sample.Arguments[0]!;
            for (var position = 0; position < 15; position++)
            {
                for (var digit = '0'; digit <= '9'; digit++)
                {
                    if (fifteen[position] == digit) continue;
                    var altered = fifteen[..position] + digit + fifteen[(position + 1)..];
                    var ok = Nir.TryParse(altered, out _, out var error);
                    Assert.That(ok, Is.False, $"{fifteen} → {altered} was accepted");
                    Assert.That(error, Is.Not.EqualTo(NirError.InvalidLength));
                    checkedVariants++;
                }
            }
        }
        Assert.That(checkedVariants, Is.GreaterThan(60_000));
    }

    [Test]
    public void Every_wrong_key_is_a_key_mismatch()
    {
        foreach (TestCaseData sample in Samples().Take(100))
        {
            var body = ((string)sample.Arguments[0]!)[..13];
            var right = ReferenceKey(body);
            for (var key = 0; key <= 99; key++)
            {
                if (key == right) continue;
                Nir.TryParse(body + key.ToString("00"), out _, out var error);
                Assert.That(error, Is.EqualTo(NirError.KeyMismatch), $"{body} key {key:00}");
            }
        }
    }

    [Test]
    public void Generator_covers_every_kind_of_sample()
    {
        var bodies = Samples().Select(s => ((string)s.Arguments[0]!)[..13]).ToList();
        Assert.That(bodies.Any(b => b[5..7] == "2A"), Is.True);
        Assert.That(bodies.Any(b => b[5..7] == "2B"), Is.True);
        Assert.That(bodies.Any(b => b[5..7] == "99"), Is.True);
        Assert.That(bodies.Any(b => int.Parse(b[3..5]) is >= 20 and <= 42), Is.True);
        Assert.That(bodies.Any(b => int.Parse(b[3..5]) >= 50), Is.True);
        Assert.That(bodies.Select(b => b[0]).Distinct().Count(), Is.EqualTo(6));
    }
}
