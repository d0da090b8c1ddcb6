using CafConnect.Infrastructure.Security;

namespace CafConnect.Infrastructure.Tests.Security;

public sealed class LegacySecretVerifiersTests
{
    /// <summary>Computed independently with Python's hashlib.pbkdf2_hmac('sha256', b'58231947', b'CafConnectSalt16', 29000, 32), passlib's encoding.</summary>
    private const string PythonVector = "$pbkdf2-sha256$29000$Q2FmQ29ubmVjdFNhbHQxNg$Ilo3K5KbeOeB8L8VrgGdENFaxMDnejZk61beZHn6gIA";

    private static readonly Argon2idSecretHasher Hasher = new(new Argon2idOptions { MemoryKiB = 8192, Iterations = 1 });
    private static readonly Pbkdf2Sha256LegacySecretVerifier Pbkdf2 = new();

    [Test]
    public void The_pbkdf2_verifier_accepts_a_value_made_by_another_implementation_and_only_with_the_right_secret()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Pbkdf2.IsWellFormed(PythonVector), Is.True);
            Assert.That(Pbkdf2.Verify("58231947", PythonVector), Is.True);
            Assert.That(Pbkdf2.Verify("58231948", PythonVector), Is.False);
            Assert.That(Pbkdf2.Verify("", PythonVector), Is.False);
        });
    }

    [Test]
    public void Values_it_makes_verify()
    {
        var stored = Pbkdf2Sha256LegacySecretVerifier.Create("Ancien8Code", iterations: 1000);
        Assert.That(Pbkdf2.Verify("Ancien8Code", stored), Is.True);
        Assert.That(Pbkdf2.Verify("Ancien8code", stored), Is.False);
    }

    [TestCase("", TestName = "Empty is malformed")]
    [TestCase("$pbkdf2-sha256$29000$Q2FmQ29ubmVjdFNhbHQxNg", TestName = "A missing hash is malformed")]
    [TestCase("$pbkdf2-sha256$10$Q2FmQ29ubmVjdFNhbHQxNg$Ilo3K5KbeOeB8L8VrgGdENFaxMDnejZk61beZHn6gIA", TestName = "Too few iterations are refused")]
    [TestCase("$pbkdf2-sha256$99999999$Q2FmQ29ubmVjdFNhbHQxNg$Ilo3K5KbeOeB8L8VrgGdENFaxMDnejZk61beZHn6gIA", TestName = "Too many iterations are refused (cost bound)")]
    [TestCase("$pbkdf2-sha256$29000$!!!$Ilo3K5KbeOeB8L8VrgGdENFaxMDnejZk61beZHn6gIA", TestName = "Bad base64 is malformed")]
    [TestCase("$pbkdf2-sha1$29000$Q2FmQ29ubmVjdFNhbHQxNg$Ilo3K5KbeOeB8L8VrgGdENFaxMDnejZk61beZHn6gIA", TestName = "Another algorithm is not this format")]
    public void Malformed_values_are_refused_and_never_verify(string stored)
    {
        Assert.That(Pbkdf2.IsWellFormed(stored), Is.False);
        Assert.That(Pbkdf2.Verify("58231947", stored), Is.False);
    }

    [Test]
    public void The_registry_sends_wrapped_values_to_their_verifier_and_asks_for_an_Argon2id_rehash()
    {
        var verifiers = new LegacySecretVerifiers([Pbkdf2], Hasher);
        var wrapped = verifiers.Wrap("pbkdf2-sha256", PythonVector);
        Assert.Multiple(() =>
        {
            Assert.That(wrapped, Is.EqualTo("$legacy$pbkdf2-sha256$" + PythonVector));
            Assert.That(verifiers.Verify("58231947", wrapped), Is.EqualTo(SecretVerification.SucceededRehashNeeded));
            Assert.That(verifiers.Verify("00000000", wrapped), Is.EqualTo(SecretVerification.Failed));
            Assert.That(verifiers.Verify("58231947", "$legacy$md5-crypt$abc"), Is.EqualTo(SecretVerification.Failed), "a format without verifier fails closed");
            Assert.That(verifiers.Verify("Soleil2Paris", Hasher.Hash("Soleil2Paris")), Is.EqualTo(SecretVerification.Succeeded), "Argon2id goes to the hasher");
            Assert.That(verifiers.Formats.Keys, Is.EqualTo(new[] { "pbkdf2-sha256" }));
        });
    }

    [Test]
    public void Every_check_costs_an_Argon2id_computation_whatever_the_stored_format()
    {
        var counting = new CountingHasher(Hasher);
        var verifiers = new LegacySecretVerifiers([Pbkdf2], counting);
        var wrapped = verifiers.Wrap("pbkdf2-sha256", PythonVector);
        var argon2 = Hasher.Hash("58231947");

        int ArgonWorkOf(Action check)
        {
            var before = counting.Computations;
            check();
            return counting.Computations - before;
        }

        Assert.Multiple(() =>
        {
            Assert.That(ArgonWorkOf(() => verifiers.VerifyAndUpgrade("00000000", wrapped, out _)), Is.EqualTo(1), "a wrong code on a legacy value");
            Assert.That(ArgonWorkOf(() => verifiers.VerifyAndUpgrade("58231947", wrapped, out _)), Is.EqualTo(1), "the right code on a legacy value (its re-hash)");
            Assert.That(ArgonWorkOf(() => verifiers.VerifyAndUpgrade("58231947", "$legacy$md5-crypt$abc", out _)), Is.EqualTo(1), "a format without verifier");
            Assert.That(ArgonWorkOf(() => verifiers.VerifyAndUpgrade("00000000", argon2, out _)), Is.EqualTo(1), "a wrong code on Argon2id");
        });
    }

    [Test]
    public void Verify_and_upgrade_gives_an_Argon2id_hash_for_a_legacy_value_and_nothing_to_store_otherwise()
    {
        var verifiers = new LegacySecretVerifiers([Pbkdf2], Hasher);
        var wrapped = verifiers.Wrap("pbkdf2-sha256", PythonVector);

        Assert.That(verifiers.VerifyAndUpgrade("58231947", wrapped, out var upgraded), Is.True);
        Assert.That(upgraded, Does.StartWith("$argon2id$v=19$"));
        Assert.That(Hasher.Verify("58231947", upgraded!), Is.EqualTo(SecretVerification.Succeeded), "the upgrade is a hash of the same code");

        Assert.That(verifiers.VerifyAndUpgrade("00000000", wrapped, out var afterWrong), Is.False);
        Assert.That(afterWrong, Is.Null);
        Assert.That(verifiers.VerifyAndUpgrade("58231947", upgraded!, out var afterArgon2), Is.True);
        Assert.That(afterArgon2, Is.Null, "an Argon2id hash with today's parameters stays as it is");
    }

    /// <summary>Counts the Argon2id computations (hash, verification, dummy verification) a check asks of the hasher.</summary>
    private sealed class CountingHasher(ISecretHasher inner) : ISecretHasher
    {
        public int Computations { get; private set; }

        public string Hash(string secret)
        {
            Computations++;
            return inner.Hash(secret);
        }

        public SecretVerification Verify(string secret, string storedHash)
        {
            Computations++;
            return inner.Verify(secret, storedHash);
        }

        public void VerifyAgainstDummy(string secret)
        {
            Computations++;
            inner.VerifyAgainstDummy(secret);
        }
    }

    private sealed class Named(string format) : ILegacySecretVerifier
    {
        public string Format => format;
        public bool IsWellFormed(string stored) => true;
        public bool Verify(string secret, string stored) => false;
    }

    [TestCase("plain")]
    [TestCase("argon2id")]
    [TestCase("none")]
    [TestCase("Bad Name")]
    public void Reserved_or_malformed_format_names_cannot_be_registered(string name)
    {
        Assert.That(() => new LegacySecretVerifiers([new Named(name)], Hasher), Throws.InvalidOperationException);
    }

    [Test]
    public void Two_verifiers_for_one_format_cannot_be_registered()
    {
        Assert.That(() => new LegacySecretVerifiers([new Named("x-format"), new Named("x-format")], Hasher), Throws.InvalidOperationException);
    }
}
