using CafConnect.Infrastructure.Keys;

namespace CafConnect.Infrastructure.Tests.Keys;

/// <summary>
/// The one rule that says which RSA key signs (<see cref="TokenSigning.RsaSignerRecord"/>): the host's key ring and
/// <c>cafconnect keys list</c> both follow it, so what the CLI shows is what the instances do.
/// </summary>
public sealed class TokenSigningRuleTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 5, 10, 0, 0, TimeSpan.Zero);

    private static TokenKeyRecord Key(string keyId, string use, DateTimeOffset createdAt, DateTimeOffset? retiredAt = null) =>
        new() { KeyId = keyId, Use = use, Algorithm = "RS256", CreatedAt = createdAt, RetiredAt = retiredAt };

    [Test]
    public void The_RSA_signer_is_the_oldest_active_sig_key_and_a_creation_tie_goes_to_the_smaller_key_id()
    {
        var records = new[]
        {
            // Oldest of all, but retired: never signs again.
            Key("a-retired", TokenKeyUses.Signing, Now.AddDays(-3), retiredAt: Now.AddMinutes(-1)),
            // Older EC and encryption keys: not RSA signing keys.
            Key("b-ec", TokenKeyUses.EcSigning, Now.AddDays(-2)),
            Key("c-enc", TokenKeyUses.Encryption, Now.AddDays(-2)),
            // Two instances racing at a first start created these at the same instant (listed in the wrong order).
            Key("z-active", TokenKeyUses.Signing, Now.AddHours(-1)),
            Key("m-active", TokenKeyUses.Signing, Now.AddHours(-1)),
            // Created last: only published, it signs once the others retire.
            Key("d-new", TokenKeyUses.Signing, Now.AddMinutes(-5)),
        };

        Assert.That(TokenSigning.RsaSignerRecord(records, Now)?.KeyId, Is.EqualTo("m-active"));
    }

    [Test]
    public void A_key_whose_retirement_is_scheduled_signs_until_then_and_the_next_oldest_after()
    {
        var records = new[]
        {
            Key("new", TokenKeyUses.Signing, Now.AddMinutes(-10)),
            // A rotation published "new" and scheduled this one's retirement an hour later (docs/decisions.md #29).
            Key("retiring", TokenKeyUses.Signing, Now.AddDays(-10), retiredAt: Now.AddMinutes(50)),
        };

        Assert.Multiple(() =>
        {
            Assert.That(TokenSigning.RsaSignerRecord(records, Now)?.KeyId, Is.EqualTo("retiring"), "before its retirement");
            Assert.That(TokenSigning.RsaSignerRecord(records, Now.AddMinutes(50))?.KeyId, Is.EqualTo("new"), "at its retirement");
            Assert.That(TokenSigning.RsaSignerRecord([records[1]], Now.AddMinutes(50)), Is.Null, "no active sig key: none signs");
        });
    }
}
