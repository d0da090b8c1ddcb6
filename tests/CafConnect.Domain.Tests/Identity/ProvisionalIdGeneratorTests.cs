using System.Security.Cryptography;
using CafConnect.Domain.Identity;

namespace CafConnect.Domain.Tests.Identity;

public class ProvisionalIdGeneratorTests
{
    /// <summary>Replays scripted 32-bit values (little-endian) so retries can be observed deterministically.</summary>
    private sealed class ScriptedRng(params uint[] values) : RandomNumberGenerator
    {
        private int _next;
        public int Calls => _next;

        public override void GetBytes(byte[] data) => GetBytes(data.AsSpan());

        public override void GetBytes(Span<byte> data)
        {
            Assert.That(data.Length, Is.EqualTo(4));
            BitConverter.TryWriteBytes(data, values[_next++ % values.Length]);
        }
    }

    [Test]
    public void Generated_ids_are_well_formed_and_unique()
    {
        var generator = new ProvisionalIdGenerator();
        var taken = new HashSet<string>();
        for (var i = 0; i < 10_000; i++)
        {
            var id = generator.Generate(taken.Contains);
            Assert.That(ProvisionalId.TryParse(id.Value, out var parsed, out _), Is.True, id.Value);
            Assert.That(parsed, Is.EqualTo(id));
            Assert.That(taken.Add(id.Value), Is.True, "isTaken was honoured");
        }
    }

    [Test]
    public void Generated_ids_are_not_sequential()
    {
        var generator = new ProvisionalIdGenerator();
        var numbers = Enumerable.Range(0, 1_000).Select(_ => int.Parse(generator.Generate(_ => false).Value[1..])).ToList();
        var consecutive = numbers.Zip(numbers.Skip(1)).Count(p => Math.Abs(p.Second - p.First) <= 1_000);
        // Uniform draws over 10^8 are almost never within 1,000 of each other (p ≈ 2·10^-5 per pair).
        Assert.That(consecutive, Is.LessThanOrEqualTo(2));
        Assert.That(numbers, Is.Not.Ordered.Ascending);
        Assert.That(numbers, Is.Not.Ordered.Descending);
    }

    [Test]
    public void Generated_ids_spread_over_the_whole_range()
    {
        var generator = new ProvisionalIdGenerator();
        var firstDigits = Enumerable.Range(0, 2_000).Select(_ => generator.Generate(_ => false).Value[1]).Distinct().Count();
        Assert.That(firstDigits, Is.EqualTo(10), "all leading digits 0–9 appear, leading zeros included");
    }

    [Test]
    public void Retries_on_collision_until_a_free_id_is_found()
    {
        var rng = new ScriptedRng(12_345_678, 12_345_678, 87_654_321);
        var generator = new ProvisionalIdGenerator(rng);
        var asked = new List<string>();
        var id = generator.Generate(candidate => { asked.Add(candidate); return candidate == "P12345678"; });
        Assert.That(id.Value, Is.EqualTo("P87654321"));
        Assert.That(asked, Is.EqualTo(new[] { "P12345678", "P12345678", "P87654321" }));
    }

    [Test]
    public void Gives_up_after_the_maximum_number_of_attempts()
    {
        var generator = new ProvisionalIdGenerator(new ScriptedRng(1, 2, 3), maxAttempts: 5);
        var attempts = 0;
        Assert.That(() => generator.Generate(_ => { attempts++; return true; }), Throws.InvalidOperationException);
        Assert.That(attempts, Is.EqualTo(5));
    }

    [Test]
    public void Values_that_would_bias_the_modulo_are_redrawn()
    {
        // 4,200,000,000 and above are rejected; 4,200,000,005 would otherwise give P00000005.
        var rng = new ScriptedRng(4_200_000_005, uint.MaxValue, 4_199_999_999);
        var id = new ProvisionalIdGenerator(rng).Generate(_ => false);
        Assert.That(id.Value, Is.EqualTo("P99999999"));
        Assert.That(rng.Calls, Is.EqualTo(3));
    }

    [Test]
    public void Formats_small_numbers_with_leading_zeros()
    {
        var id = new ProvisionalIdGenerator(new ScriptedRng(7)).Generate(_ => false);
        Assert.That(id.Value, Is.EqualTo("P00000007"));
    }

    [Test]
    public async Task Async_variant_retries_on_collision()
    {
        var generator = new ProvisionalIdGenerator(new ScriptedRng(11_111_111, 22_222_222));
        var id = await generator.GenerateAsync((candidate, _) => ValueTask.FromResult(candidate == "P11111111"));
        Assert.That(id.Value, Is.EqualTo("P22222222"));
    }

    [Test]
    public void Async_variant_gives_up_too()
    {
        var generator = new ProvisionalIdGenerator(new ScriptedRng(1), maxAttempts: 3);
        Assert.That(async () => await generator.GenerateAsync((_, _) => ValueTask.FromResult(true)), Throws.InvalidOperationException);
    }

    [Test]
    public void Rejects_invalid_arguments()
    {
        Assert.That(() => new ProvisionalIdGenerator(null!), Throws.ArgumentNullException);
        Assert.That(() => new ProvisionalIdGenerator(RandomNumberGenerator.Create(), 0), Throws.InstanceOf<ArgumentOutOfRangeException>());
        Assert.That(() => new ProvisionalIdGenerator().Generate(null!), Throws.ArgumentNullException);
    }
}
