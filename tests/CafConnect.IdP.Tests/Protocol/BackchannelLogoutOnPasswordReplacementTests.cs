using System.Net;
using CafConnect.IdP.Demo;
using CafConnect.IdP.Tests.Features.FirstLogin;
using CafConnect.IdP.Tests.Features.Recovery;
using CafConnect.IdP.Tests.Support;
using CafConnect.Infrastructure.Audit;
using CafConnect.Infrastructure.Clients;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.JsonWebTokens;

namespace CafConnect.IdP.Tests.Protocol;

/// <summary>
/// A password replaced ends every other session of the person (docs/decisions.md #17, #41); a relying party that
/// registered a <c>backchannel_logout_uri</c> is told of each, as after a logout (docs/decisions.md #44). Without it a
/// thief's session at the relying party outlived the reset the person made to get rid of them.
/// </summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
public sealed class BackchannelLogoutOnPasswordReplacementTests(StoreKind kind)
{
    private const string NewPassword = "Lavande6Arles";

    /// <summary>A host where caf.fr registered <paramref name="receiver"/> as its back-channel logout URI.</summary>
    private async Task<JourneyHost> StartWithCafFrListeningAsync(BackchannelLogoutReceiver receiver)
    {
        var host = HostStore.Start(kind);
        await using var scope = host.Host.Services.CreateAsyncScope();
        var clients = scope.ServiceProvider.GetRequiredService<ClientAdministration>();
        var cafFr = (await clients.FindAsync(TestClient.CafFr.ClientId))!;
        await clients.UpdateAsync(cafFr with { BackchannelLogoutUri = receiver.LogoutUri, ClientSecret = null });
        return host;
    }

    [Test]
    public async Task Changing_the_password_tells_the_relying_parties_of_the_other_sessions_it_ended()
    {
        await using var receiver = await BackchannelLogoutReceiver.StartAsync();
        await using var host = await StartWithCafFrListeningAsync(receiver);

        // The thief's browser, signed in at caf.fr with the password they know.
        var thief = new OidcDriver(host.Host.CreateBrowser());
        var thiefTokens = await thief.SignInAndRedeemAsync(TestClient.CafFr, DemoData.LouiseDubois.Nir!, DemoData.LouiseDubois.Password);
        var thiefSession = new JsonWebToken(thiefTokens.IdToken).GetClaim("sid").Value;

        // Louise, in her own browser, replaces the password.
        var louise = new FirstLoginDriver(host.Host.CreateBrowser());
        var login = await louise.Oidc.SubmitLoginAsync(new Uri("/connexion", UriKind.Relative), DemoData.LouiseDubois.Nir!, DemoData.LouiseDubois.Password);
        Assert.That(login.Headers.Location?.OriginalString, Is.EqualTo("/mon-compte"));
        var page = new Uri("/mon-compte/mot-de-passe", UriKind.Relative);
        await louise.GetAsync(page);
        var done = await louise.PostAsync(page, new Dictionary<string, string> { ["Current"] = DemoData.LouiseDubois.Password, ["Password"] = NewPassword, ["Confirmation"] = NewPassword });
        Assert.That(FirstLoginDriver.Next(done).OriginalString, Is.EqualTo("/mon-compte/mot-de-passe?modifie=true"));

        var received = await receiver.WaitForAsync(1);
        Assert.That(received, Has.Count.EqualTo(1), "caf.fr is told that the thief's session ended");
        var jwks = await host.Host.CreateClient().GetStringAsync("/.well-known/jwks");
        var logout = await BackchannelLogoutReceiver.VerifyWithJoseAsync(received[0], jwks, "http://localhost/", TestClient.CafFr.ClientId);
        Assert.That(logout["sid"]?.GetValue<string>(), Is.EqualTo(thiefSession), "the logout token names the session that ended");
        Assert.That(await host.QueryAsync(db => db.AuditEvents.CountAsync(e => e.Type == AuditEventTypes.BackchannelLogout && e.Outcome == "delivered"
            && e.Details == "reason=password_changed")), Is.EqualTo(1));

        // Louise's own session stays: nothing told about it, nothing more sent.
        Assert.That((await louise.Browser.GetAsync("/mon-compte")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        await Task.Delay(500);
        Assert.That(receiver.Tokens, Has.Count.EqualTo(1));
    }

    [Test]
    public async Task A_password_change_refused_tells_nobody()
    {
        await using var receiver = await BackchannelLogoutReceiver.StartAsync();
        await using var host = await StartWithCafFrListeningAsync(receiver);
        var other = new OidcDriver(host.Host.CreateBrowser());
        await other.SignInAndRedeemAsync(TestClient.CafFr, DemoData.LouiseDubois.Nir!, DemoData.LouiseDubois.Password);

        var louise = new FirstLoginDriver(host.Host.CreateBrowser());
        await louise.Oidc.SubmitLoginAsync(new Uri("/connexion", UriKind.Relative), DemoData.LouiseDubois.Nir!, DemoData.LouiseDubois.Password);
        var page = new Uri("/mon-compte/mot-de-passe", UriKind.Relative);
        await louise.GetAsync(page);
        var wrong = await louise.PostAsync(page, new Dictionary<string, string> { ["Current"] = "Mauvais1Passe", ["Password"] = NewPassword, ["Confirmation"] = NewPassword });
        Assert.That(wrong.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));

        await Task.Delay(500);
        Assert.That(receiver.Tokens, Is.Empty);
        Assert.That((await other.Browser.GetAsync("/mon-compte")).StatusCode, Is.EqualTo(HttpStatusCode.OK), "the other session is still on");
    }
}
