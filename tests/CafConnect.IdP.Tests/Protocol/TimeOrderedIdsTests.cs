using System.Net;
using CafConnect.IdP.Tests.Support;
using CafConnect.Infrastructure.Persistence;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using OpenIddict.EntityFrameworkCore.Models;

namespace CafConnect.IdP.Tests.Protocol;

/// <summary>
/// Token and authorization rows are keyed by time-ordered ids (UUID version 7), so that new rows land on the primary
/// key's last leaves instead of random ones (<see cref="TimeOrderedIds"/>, docs/decisions.md #58). Checked on rows a
/// real sign-in, code redemption and refresh wrote: a code (written outside the grant's batch), the grant's batched
/// tokens, the refresh's, and the authorization.
/// </summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
public sealed class TimeOrderedIdsTests(StoreKind kind) : HookedHostFixture(kind)
{
    [Test]
    public async Task Tokens_and_authorizations_written_by_a_sign_in_and_a_refresh_have_time_ordered_ids()
    {
        var startedAt = DateTimeOffset.UtcNow;
        var driver = NewBrowser();
        var (code, verifier) = await JeannesCodeAsync(driver);
        var tokens = await OidcDriver.ReadTokensAsync(await driver.RedeemCodeAsync(TestClient.CafFr, code, verifier));
        var refreshed = await driver.RefreshAsync(TestClient.CafFr, tokens.RefreshToken!);
        Assert.That(refreshed.StatusCode, Is.EqualTo(HttpStatusCode.OK), await refreshed.Content.ReadAsStringAsync());
        var endedAt = DateTimeOffset.UtcNow;

        using var scope = Host.Services.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<CafConnectDbContext>();
        var tokenRows = await db.Set<OpenIddictEntityFrameworkCoreToken>().AsNoTracking().Select(t => new { t.Id, t.Type }).ToListAsync();
        var authorizationIds = await db.Set<OpenIddictEntityFrameworkCoreAuthorization>().AsNoTracking().Select(a => a.Id!).ToListAsync();

        // A code, an access token, a refresh token and an ID token at the redemption, then three more at the refresh.
        Assert.That(tokenRows.Select(t => t.Type).Distinct().Count(), Is.GreaterThanOrEqualTo(3), string.Join(", ", tokenRows.Select(t => t.Type)));
        Assert.That(authorizationIds, Is.Not.Empty);
        Assert.Multiple(() =>
        {
            foreach (var id in tokenRows.Select(t => t.Id!).Concat(authorizationIds))
            {
                Assert.That(Guid.TryParse(id, out var key), Is.True, id);
                Assert.That(key.Version, Is.EqualTo(7), $"{id}: a version 7 (time-ordered) UUID");
                Assert.That(TimestampOf(key), Is.InRange(startedAt.AddSeconds(-1), endedAt.AddSeconds(1)), $"{id}: stamped when it was written");
            }
        });
    }

    /// <summary>The Unix time in milliseconds that a version 7 UUID carries in its first 48 bits (RFC 9562 §5.7).</summary>
    private static DateTimeOffset TimestampOf(Guid key)
    {
        var hex = key.ToString("N");
        return DateTimeOffset.FromUnixTimeMilliseconds(Convert.ToInt64(hex[..12], 16));
    }
}
