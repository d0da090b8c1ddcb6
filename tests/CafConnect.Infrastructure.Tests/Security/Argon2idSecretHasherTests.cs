using CafConnect.Infrastructure.Security;

namespace CafConnect.Infrastructure.Tests.Security;

public sealed class Argon2idSecretHasherTests
{
    private static readonly Argon2idSecretHasher Default = new(new Argon2idOptions());

    [Test]
    public void Hash_is_a_PHC_string_with_the_configured_parameters_and_a_16_byte_salt()
    {
        var hash = Default.Hash("Soleil2Paris");

        Assert.That(hash, Does.Match(@"^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$"));
    }

    [Test]
    public void Same_secret_hashes_differently_each_time()
    {
        Assert.That(Default.Hash("Soleil2Paris"), Is.Not.EqualTo(Default.Hash("Soleil2Paris")));
    }

    [Test]
    public void Right_secret_verifies_and_a_wrong_one_does_not()
    {
        var hash = Default.Hash("Soleil2Paris");

        Assert.Multiple(() =>
        {
            Assert.That(Default.Verify("Soleil2Paris", hash), Is.EqualTo(SecretVerification.Succeeded));
            Assert.That(Default.Verify("soleil2Paris", hash), Is.EqualTo(SecretVerification.Failed));
            Assert.That(Default.Verify("Soleil2Paris ", hash), Is.EqualTo(SecretVerification.Failed));
            Assert.That(Default.Verify("", hash), Is.EqualTo(SecretVerification.Failed));
        });
    }

    [Test]
    public void Hash_made_with_weaker_parameters_verifies_and_asks_for_a_rehash()
    {
        var weak = new Argon2idSecretHasher(new Argon2idOptions { MemoryKiB = 8192, Iterations = 1 }).Hash("Soleil2Paris");

        Assert.That(Default.Verify("Soleil2Paris", weak), Is.EqualTo(SecretVerification.SucceededRehashNeeded));
        Assert.That(Default.Verify("Autre1Secret", weak), Is.EqualTo(SecretVerification.Failed));
    }

    [Test]
    public void Hash_made_with_stronger_parameters_needs_no_rehash()
    {
        var strong = new Argon2idSecretHasher(new Argon2idOptions { MemoryKiB = 32768, Iterations = 3 }).Hash("Soleil2Paris");

        Assert.That(Default.Verify("Soleil2Paris", strong), Is.EqualTo(SecretVerification.Succeeded));
    }

    // Produced by the reference implementation (Debian package argon2), e.g.
    // echo -n password | argon2 somesaltsomesalt -id -t 2 -k 19456 -p 1 -l 32 -e
    [TestCase("$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$K13EBUiG7JV+9ZxztmHFTdb7J0WQsnj2V8bZaqyPptE", SecretVerification.Succeeded, TestName = "Reference vector at today's parameters verifies")]
    [TestCase("$argon2id$v=19$m=8192,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$hPsAa7w81piVcitktb9zUlGp6Onz7Lk/9ZW5iut6zLc", SecretVerification.SucceededRehashNeeded, TestName = "Reference vector at weaker parameters verifies and asks for a rehash")]
    public void Reference_vectors_from_the_argon2_reference_tool_verify(string reference, SecretVerification expected)
    {
        Assert.That(Default.Verify("password", reference), Is.EqualTo(expected));
        Assert.That(Default.Verify("passwore", reference), Is.EqualTo(SecretVerification.Failed));
    }

    [Test]
    public void Reference_vector_with_an_8_byte_salt_fails_closed()
    {
        // libsodium only takes 16-byte salts; such hashes (legacy imports) need another verifier, never a crash.
        Assert.That(Default.Verify("password", "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$PL01amPyeUuxG7H0vIr5X+qHkZvWnHmGBGXFYvh8z2E"), Is.EqualTo(SecretVerification.Failed));
    }

    [TestCase("", TestName = "Empty stored hash fails")]
    [TestCase("$argon2i$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g", TestName = "Argon2i (not id) fails")]
    [TestCase("$argon2id$v=16$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g", TestName = "Version 16 fails")]
    [TestCase("$argon2id$v=19$m=19456,t=2,p=4$c29tZXNhbHRzb21lc2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g", TestName = "Parallelism other than 1 fails")]
    [TestCase("$argon2id$v=19$m=4194304,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g", TestName = "Memory above the ceiling fails without being computed")]
    [TestCase("$argon2id$v=19$m=19456,t=1000,p=1$c29tZXNhbHRzb21lc2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g", TestName = "Iterations above the ceiling fail without being computed")]
    [TestCase("$argon2id$v=19$m=19456,t=2,p=1$!!!$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g", TestName = "Salt that is not base64 fails")]
    [TestCase("$argon2id$v=19$m=19456,t=2,p=1,x=3$c29tZXNhbHRzb21lc2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g", TestName = "Unknown parameter fails")]
    [TestCase("$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA", TestName = "Missing hash part fails")]
    [TestCase("12345678", TestName = "A legacy code stored in clear never verifies")]
    public void Malformed_or_hostile_stored_hashes_fail_closed(string stored)
    {
        Assert.That(Default.Verify("password", stored), Is.EqualTo(SecretVerification.Failed));
        Assert.That(Argon2idSecretHasher.IsSupported(stored), Is.False);
    }

    [Test]
    public void Dummy_verification_runs_without_a_stored_hash()
    {
        Assert.DoesNotThrow(() => Default.VerifyAgainstDummy("n'importe quoi"));
    }

    [TestCase(1024, 2, TestName = "Memory below 8 MiB is refused at start-up")]
    [TestCase(19456, 0, TestName = "Zero iterations are refused at start-up")]
    public void Unsafe_configuration_is_refused(int memoryKiB, int iterations)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new Argon2idSecretHasher(new Argon2idOptions { MemoryKiB = memoryKiB, Iterations = iterations }));
    }
}
