using System.Net;
using CafConnect.IdP.Demo;
using CafConnect.IdP.Protocol;
using CafConnect.IdP.Tests.Support;
using CafConnect.Infrastructure.Keys;
using CafConnect.Infrastructure.Persistence;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.JsonWebTokens;

namespace CafConnect.IdP.Tests.Operations;

/// <summary>
/// <c>cafconnect keys rotate</c> while two instances run on one store (docs/decisions.md #29): after their next reload
/// both publish the new keys while the old ones still sign; once the old keys retire, both sign with the new ones —
/// without a restart — and every token issued before, under either key, is still accepted by both instances.
/// </summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
public sealed class KeyRotationWhileRunningTests(StoreKind kind)
{
    private TestStore _store = null!;
    private CafConnectFactory _first = null!;
    private CafConnectFactory _second = null!;

    [OneTimeSetUp]
    public void Start()
    {
        _store = TestStore.Create(kind);
        _first = new CafConnectFactory(_store);
        _ = _first.Server;
        _second = new CafConnectFactory(_store);
        _ = _second.Server;
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        await _second.DisposeAsync();
        await _first.DisposeAsync();
        await _store.DisposeAsync();
    }

    private Task<TokenSet> SignInOnFirstAsync() =>
        new OidcDriver(_first.CreateBrowser()).SignInAndRedeemAsync(TestClient.CafFr, DemoData.JeanneDupont.Nir!, DemoData.JeanneDupont.Password);

    private static string KidOf(string jwt) => new JsonWebToken(jwt).Kid;

    /// <summary>The key that signed one of the provider's own (encrypted) tokens, which must be the EC key.</summary>
    private static string EcKidOf(CafConnectFactory host, string token)
    {
        var inner = CafConnect.IdP.Tests.Protocol.TokenSigningAlgorithmTests.InnerToken(host, token);
        Assert.That(inner.Alg, Is.EqualTo("ES256"));
        return inner.Kid;
    }

    private async Task ReloadBothAsync()
    {
        await _first.Services.GetRequiredService<TokenKeyRingRefresher>().RefreshAsync();
        await _second.Services.GetRequiredService<TokenKeyRingRefresher>().RefreshAsync();
    }

    private async Task<List<string>> PublishedKidsAsync(CafConnectFactory host)
    {
        var jwks = new Microsoft.IdentityModel.Tokens.JsonWebKeySet(await host.CreateBrowser().GetStringAsync("/.well-known/jwks"));
        return jwks.Keys.Select(k => k.Kid).ToList();
    }

    [Test]
    public async Task New_keys_are_published_by_every_instance_before_they_sign_and_no_token_fails_on_either_instance()
    {
        var beforeRotation = await SignInOnFirstAsync();
        var oldKid = KidOf(beforeRotation.IdToken);
        var oldEcKid = EcKidOf(_first, beforeRotation.AccessToken);

        TokenKeyRecord newSigning, newEcSigning;
        await using (var scope = _first.Services.CreateAsyncScope())
        {
            var created = await scope.ServiceProvider.GetRequiredService<TokenKeyStore>().RotateAsync(null, TimeSpan.FromHours(1));
            newSigning = created.Single(k => k.Use == TokenKeyUses.Signing);
            newEcSigning = created.Single(k => k.Use == TokenKeyUses.EcSigning);
        }
        await ReloadBothAsync();

        var duringPublication = await SignInOnFirstAsync();
        Assert.Multiple(async () =>
        {
            Assert.That(await PublishedKidsAsync(_second), Does.Contain(newSigning.KeyId).And.Contain(oldKid).And.Contain(newEcSigning.KeyId).And.Contain(oldEcKid),
                "the other instance publishes both new signing keys at once");
            Assert.That(KidOf(duringPublication.IdToken), Is.EqualTo(oldKid), "the old key still signs during the publication delay");
            Assert.That(EcKidOf(_first, duringPublication.AccessToken), Is.EqualTo(oldEcKid), "the old EC key still signs access tokens during the publication delay");
            Assert.That(EcKidOf(_first, duringPublication.RefreshToken!), Is.EqualTo(oldEcKid), "and refresh tokens");
        });

        // The publication delay passes: the old keys retire (what the clock would do an hour later).
        await using (var scope = _first.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<CafConnectDbContext>();
            foreach (var key in await db.TokenKeys.Where(k => k.RetiredAt != null).ToListAsync())
            {
                key.RetiredAt = DateTimeOffset.UtcNow.AddSeconds(-1);
            }
            await db.SaveChangesAsync();
        }
        await ReloadBothAsync();

        var afterRetirement = await SignInOnFirstAsync();
        Assert.That(KidOf(afterRetirement.IdToken), Is.EqualTo(newSigning.KeyId), "the new key signs, without a restart");
        Assert.That(EcKidOf(_first, afterRetirement.AccessToken), Is.EqualTo(newEcSigning.KeyId), "the new EC key signs access tokens, without a restart");

        var second = new OidcDriver(_second.CreateBrowser());
        foreach (var (name, tokens) in new[] { ("before the rotation", beforeRotation), ("during the publication", duringPublication), ("after the retirement", afterRetirement) })
        {
            var userInfo = await second.UserInfoAsync(tokens.AccessToken);
            Assert.That(userInfo.StatusCode, Is.EqualTo(HttpStatusCode.OK), $"access token issued {name}, on the other instance");
            await second.ValidateIdTokenAsync(tokens.IdToken, TestClient.CafFr.ClientId);
        }
        var refreshed = await second.RefreshAsync(TestClient.CafFr, beforeRotation.RefreshToken!);
        Assert.That(refreshed.StatusCode, Is.EqualTo(HttpStatusCode.OK), "a refresh token encrypted under the retired key: " + await refreshed.Content.ReadAsStringAsync());
        Assert.That(KidOf((await OidcDriver.ReadTokensAsync(refreshed)).IdToken), Is.EqualTo(newSigning.KeyId), "the other instance signs with the new key too");
    }
}
