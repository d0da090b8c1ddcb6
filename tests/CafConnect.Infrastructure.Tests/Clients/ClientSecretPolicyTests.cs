using System.Security.Cryptography;
using CafConnect.Infrastructure.Clients;
using CafConnect.Infrastructure.Keys;

namespace CafConnect.Infrastructure.Tests.Clients;

/// <summary>Which secrets get the keyed hash (docs/decisions.md #28): the generator's output, never a typed phrase.</summary>
public sealed class ClientSecretPolicyTests
{
    [Test]
    public void Every_generated_secret_has_the_generated_shape()
    {
        // As CafConnect.Cli's ClientCommands.NewSecret: 32 random bytes, base64url.
        var misses = Enumerable.Range(0, 10_000)
            .Select(_ => System.Buffers.Text.Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32)))
            .Count(secret => !ClientSecretPolicy.IsGeneratedShape(secret));
        Assert.That(misses, Is.Zero);
    }

    [TestCase("demo-secret-systeme-prestations-not-for-production", TestName = "A long dashed phrase is not the generated shape")]
    [TestCase("demo-secret-caf-fr-not-for-production", TestName = "A demo secret is not the generated shape")]
    [TestCase("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAa", TestName = "A repetitive secret is not the generated shape")]
    [TestCase("Abcdefghijklmnopqrstuvwxyz0123456789+/ABCDEFG", TestName = "A secret outside base64url is not the generated shape")]
    [TestCase("Abcdefghijklmnopqrstuvwxyz0123456789", TestName = "A short secret is not the generated shape")]
    public void Typed_secrets_keep_PBKDF2(string secret) => Assert.That(ClientSecretPolicy.IsGeneratedShape(secret), Is.False);

    [Test]
    public void The_keyed_hash_names_its_key_and_parses_back()
    {
        var key = new MacKey("kid-1", RandomNumberGenerator.GetBytes(32), IsActive: true);
        var stored = ClientSecretPolicy.KeyedHash("secret", key);

        var parsed = ClientSecretPolicy.Parse(stored);

        Assert.Multiple(() =>
        {
            Assert.That(ClientSecretPolicy.IsKeyedHash(stored), Is.True);
            Assert.That(parsed?.KeyId, Is.EqualTo("kid-1"));
            Assert.That(parsed?.Mac, Is.EqualTo(HMACSHA256.HashData(key.Material, "secret"u8)));
            Assert.That(ClientSecretPolicy.Parse(ClientSecretPolicy.KeyedHashPrefix + "kid-1$not-base64"), Is.Null);
        });
    }
}
