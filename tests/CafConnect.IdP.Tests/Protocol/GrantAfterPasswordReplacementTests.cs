using System.Net;
using System.Text.Json;
using CafConnect.IdP.Demo;
using CafConnect.IdP.Tests.Support;
using CafConnect.Infrastructure.Persistence;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace CafConnect.IdP.Tests.Protocol;

/// <summary>
/// A code or a refresh token is refused at its use when the person's password was replaced after the sign-in behind
/// it, and a code when that sign-in has ended (docs/decisions.md #41). The revocations of a reset cannot see a grant
/// that commits just after them (#38); these tests put the store in the state that race leaves: the grant written,
/// valid, and the password newer than its sign-in (or the session ended).
/// </summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
public sealed class GrantAfterPasswordReplacementTests(StoreKind kind) : StoreFixture(kind)
{
    private async Task<T> WithStoreAsync<T>(Func<CafConnectDbContext, Task<T>> work)
    {
        await using var scope = Host.Services.CreateAsyncScope();
        return await work(scope.ServiceProvider.GetRequiredService<CafConnectDbContext>());
    }

    /// <summary>What a reset committing just after the grant leaves: a password set after the sign-in, tokens untouched.</summary>
    private Task<DateTimeOffset?> ReplacePasswordLaterAsync(string nir) => WithStoreAsync(async db =>
    {
        var person = await db.Persons.SingleAsync(p => p.Nir == nir);
        var before = person.PasswordSetAt;
        person.PasswordSetAt = DateTimeOffset.UtcNow.AddSeconds(2);
        await db.SaveChangesAsync();
        return before;
    });

    private Task RestorePasswordDateAsync(string nir, DateTimeOffset? before) => WithStoreAsync(async db =>
    {
        var person = await db.Persons.SingleAsync(p => p.Nir == nir);
        person.PasswordSetAt = before;
        return await db.SaveChangesAsync();
    });

    private static async Task AssertInvalidGrantAsync(HttpResponseMessage response, string because)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), because + ": " + body);
        Assert.That(JsonDocument.Parse(body).RootElement.GetProperty("error").GetString(), Is.EqualTo("invalid_grant"), because);
        Assert.That(body, Does.Not.Contain("access_token"));
    }

    [Test]
    public async Task A_code_issued_under_a_sign_in_older_than_the_password_gives_no_tokens()
    {
        var driver = NewBrowser();
        var pkce = Pkce.Create();
        var response = await driver.SignInAsync(OidcDriver.AuthorizationParameters(TestClient.CafFr, pkce), DemoData.JeanneDupont.Nir!, DemoData.JeanneDupont.Password);
        var before = await ReplacePasswordLaterAsync(DemoData.JeanneDupont.Nir!);
        try
        {
            await AssertInvalidGrantAsync(await driver.RedeemCodeAsync(TestClient.CafFr, response["code"]!, pkce.Verifier),
                "the code was written after the reset's revocations; its sign-in used the old password");
        }
        finally
        {
            await RestorePasswordDateAsync(DemoData.JeanneDupont.Nir!, before);
        }
    }

    [Test]
    public async Task A_refresh_token_issued_under_a_sign_in_older_than_the_password_gives_no_tokens()
    {
        var driver = NewBrowser();
        var tokens = await driver.SignInAndRedeemAsync(TestClient.CafMobile, DemoData.LouiseDubois.Nir!, DemoData.LouiseDubois.Password);
        var before = await ReplacePasswordLaterAsync(DemoData.LouiseDubois.Nir!);
        try
        {
            await AssertInvalidGrantAsync(await driver.RefreshAsync(TestClient.CafMobile, tokens.RefreshToken!),
                "a refresh token the reset's revocation missed still dies with the old password");
        }
        finally
        {
            await RestorePasswordDateAsync(DemoData.LouiseDubois.Nir!, before);
        }
    }

    [Test]
    public async Task A_code_whose_sign_in_has_ended_gives_no_tokens_and_a_live_one_does()
    {
        var driver = NewBrowser();
        var pkce = Pkce.Create();
        var ended = await driver.SignInAsync(OidcDriver.AuthorizationParameters(TestClient.CafFr, pkce), DemoData.JeanneDupont.Nir!, DemoData.JeanneDupont.Password);
        var person = await WithStoreAsync(db => db.Persons.SingleAsync(p => p.Nir == DemoData.JeanneDupont.Nir));
        // A logout or an incident between the code and its redemption: every open session of the person ends.
        await WithStoreAsync(db => db.ProviderSessions.Where(s => s.PersonId == person.Id && s.EndedAt == null)
            .ExecuteUpdateAsync(s => s.SetProperty(x => x.EndedAt, DateTimeOffset.UtcNow).SetProperty(x => x.EndReason, "logout")));
        await AssertInvalidGrantAsync(await driver.RedeemCodeAsync(TestClient.CafFr, ended["code"]!, pkce.Verifier), "the sign-in behind the code has ended");

        var again = NewBrowser();
        var freshPkce = Pkce.Create();
        var live = await again.SignInAsync(OidcDriver.AuthorizationParameters(TestClient.CafFr, freshPkce), DemoData.JeanneDupont.Nir!, DemoData.JeanneDupont.Password);
        var redeemed = await again.RedeemCodeAsync(TestClient.CafFr, live["code"]!, freshPkce.Verifier);
        Assert.That(redeemed.StatusCode, Is.EqualTo(HttpStatusCode.OK), await redeemed.Content.ReadAsStringAsync());
    }
}
