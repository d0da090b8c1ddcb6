using System.Text.Json;
using CafConnect.IdP.Demo;
using CafConnect.IdP.Tests.Support;
using CafConnect.Infrastructure.Audit;
using CafConnect.Infrastructure.Persistence;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.DependencyInjection;

namespace CafConnect.IdP.Tests.Protocol;

/// <summary>
/// Base of the protocol fixtures that run the host with a hook of their own — in its store (a save or a commit held or
/// failed at a chosen moment) or in OpenIddict's pipeline — on SQLite and on PostgreSQL, and drive grants as Jeanne
/// through the demo relying party.
/// </summary>
public abstract class HookedHostFixture(StoreKind kind) : StoreFixture(kind)
{
    protected const string JeanneNir = "2850375112048";
    protected static string JeannePassword => DemoData.JeanneDupont.Password;

    /// <summary>Adds <paramref name="interceptors"/> to the store context of either provider.</summary>
    protected static void InterceptStore(IServiceCollection services, params IInterceptor[] interceptors)
    {
        services.ConfigureDbContext<SqliteCafConnectDbContext>(o => o.AddInterceptors(interceptors));
        services.ConfigureDbContext<PostgreSqlCafConnectDbContext>(o => o.AddInterceptors(interceptors));
    }

    /// <summary>Jeanne signs in through the demo relying party (<see cref="TestClient.CafFr"/>), which redeems its code.</summary>
    protected Task<TokenSet> SignInJeanneAsync(OidcDriver driver) => driver.SignInAndRedeemAsync(TestClient.CafFr, JeanneNir, JeannePassword);

    /// <summary>The subject an access token names, as userinfo tells it.</summary>
    protected static async Task<string> SubjectOfAsync(OidcDriver driver, string accessToken)
    {
        var userInfo = await driver.UserInfoAsync(accessToken);
        return JsonDocument.Parse(await userInfo.Content.ReadAsStringAsync()).RootElement.GetProperty("sub").GetString()!;
    }

    /// <summary>Jeanne signs in through the demo relying party and stops at its code: the code and its PKCE verifier.</summary>
    protected static async Task<(string Code, string Verifier)> JeannesCodeAsync(OidcDriver driver)
    {
        var pkce = Pkce.Create();
        var code = (await driver.SignInAsync(OidcDriver.AuthorizationParameters(TestClient.CafFr, pkce), JeanneNir, JeannePassword))["code"];
        Assert.That(code, Is.Not.Null, "set-up: a code");
        return (code!, pkce.Verifier);
    }

    /// <summary>How many <c>token.issued</c> lines the store holds for <paramref name="grant"/>.</summary>
    protected async Task<int> TokenIssuedLinesAsync(string grant)
    {
        using var scope = Host.Services.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<CafConnectDbContext>();
        return await db.AuditEvents.AsNoTracking().CountAsync(e => e.Type == AuditEventTypes.TokenIssued && e.Outcome == grant);
    }
}
