using System.Net;
using CafConnect.IdP.Demo;
using CafConnect.IdP.Protocol;
using CafConnect.IdP.Tests.Protocol;
using CafConnect.IdP.Tests.Support;
using CafConnect.Infrastructure.Keys;
using CafConnect.Infrastructure.Persistence;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace CafConnect.IdP.Tests.Operations;

/// <summary>
/// A store of the version before ES256 (docs/decisions.md #33): it gets an EC key at start, which is published at once but
/// signs only once it has been for <c>Keys:PublicationDelay</c> (instances of the earlier version, still running during a
/// rolling upgrade, do not know it); tokens signed RS256 before the change keep working, and a refresh token minted then
/// redeems into ES256 tokens.
/// </summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
public sealed class EcSigningKeyUpgradeTests(StoreKind kind) : StoreFixture(kind)
{
    private async Task ReloadAsync() => await Host.Services.GetRequiredService<TokenKeyRingRefresher>().RefreshAsync();

    private async Task WithStoreAsync(Func<CafConnectDbContext, Task> change)
    {
        await using var scope = Host.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<CafConnectDbContext>();
        await change(db);
        await db.SaveChangesAsync();
    }

    [Test]
    public async Task A_store_without_an_EC_key_gets_one_that_signs_after_the_publication_delay_and_RS256_tokens_keep_working()
    {
        // The store as the earlier version left it: RSA and AES keys only.
        await WithStoreAsync(async db => db.TokenKeys.RemoveRange(await db.TokenKeys.Where(k => k.Use == TokenKeyUses.EcSigning).ToListAsync()));
        await ReloadAsync();
        var driver = NewBrowser();
        var before = await driver.SignInAndRedeemAsync(TestClient.CafFr, DemoData.JeanneDupont.Nir!, DemoData.JeanneDupont.Password);
        Assert.That(TokenSigningAlgorithmTests.InnerToken(Host, before.RefreshToken!).Alg, Is.EqualTo("RS256"), "minted before the change");

        // The new version starts: the EC key is created beside the RSA key that signs, later than it.
        await using (var scope = Host.Services.CreateAsyncScope())
        {
            await scope.ServiceProvider.GetRequiredService<TokenKeyStore>().LoadOrCreateAsync();
        }
        await ReloadAsync();
        var ring = Host.Services.GetRequiredService<TokenKeyRing>();
        var ec = ring.Keys.Single(k => k.Record.Use == TokenKeyUses.EcSigning);
        var published = new Microsoft.IdentityModel.Tokens.JsonWebKeySet(await Host.CreateBrowser().GetStringAsync("/.well-known/jwks")).Keys.Select(k => k.Kid);
        var duringPublication = await NewBrowser().SignInAndRedeemAsync(TestClient.CafFr, DemoData.JeanneDupont.Nir!, DemoData.JeanneDupont.Password);
        Assert.Multiple(() =>
        {
            Assert.That(published, Does.Contain(ec.Record.KeyId), "published at once");
            Assert.That(TokenSigningAlgorithmTests.InnerToken(Host, duringPublication.AccessToken).Alg, Is.EqualTo("RS256"),
                "not signing yet: an instance of the earlier version would refuse it");
        });

        // The publication delay (1 hour by default) has passed.
        await WithStoreAsync(async db =>
        {
            var key = await db.TokenKeys.SingleAsync(k => k.KeyId == ec.Record.KeyId);
            key.CreatedAt = key.CreatedAt - TokenKeyStore.DefaultPublicationDelay - TimeSpan.FromMinutes(1);
        });
        await ReloadAsync();

        var refreshed = await driver.RefreshAsync(TestClient.CafFr, before.RefreshToken!);
        var userInfo = await driver.UserInfoAsync(before.AccessToken);
        var after = await OidcDriver.ReadTokensAsync(refreshed);
        Assert.Multiple(() =>
        {
            Assert.That(userInfo.StatusCode, Is.EqualTo(HttpStatusCode.OK), "an RS256 access token of before the change");
            Assert.That(TokenSigningAlgorithmTests.InnerToken(Host, after.AccessToken).Alg, Is.EqualTo("ES256"));
            Assert.That(TokenSigningAlgorithmTests.InnerToken(Host, after.RefreshToken!).Alg, Is.EqualTo("ES256"), "the RS256 refresh token redeemed into an ES256 one");
            Assert.That(new Microsoft.IdentityModel.JsonWebTokens.JsonWebToken(after.IdToken).Alg, Is.EqualTo("RS256"));
        });
    }
}
