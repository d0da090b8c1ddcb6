using System.Net;
using System.Text.Json;
using CafConnect.IdP.Tests.Support;
using CafConnect.Infrastructure.Persistence;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using OpenIddict.Abstractions;
using OpenIddict.EntityFrameworkCore.Models;

namespace CafConnect.IdP.Tests.Protocol;

/// <summary>
/// A redeemed authorization code's row keeps no payload (docs/decisions.md #37): the write that redeems the code clears
/// it. A replayed code must still be refused with OpenIddict's answer and revoke what the code gave (RFC 6749 §4.1.2),
/// from what the row still holds. The answers asserted here are OpenIddict's for the same requests before the change
/// (ID2010 for a replay, ID2016 for a code expired or revoked): a relying party sees no difference.
/// </summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
public sealed class RedeemedCodePayloadTests(StoreKind kind) : HookedHostFixture(kind)
{
    private const string AlreadyRedeemed = "The specified authorization code has already been redeemed.";
    private const string AlreadyRedeemedUri = "https://documentation.openiddict.com/errors/ID2010";
    private const string NoLongerValid = "The specified authorization code is no longer valid.";

    private readonly ManualClock _clock = new();

    protected override void ConfigureServices(IServiceCollection services)
    {
        services.AddSingleton<TimeProvider>(_clock);
        services.AddFakeLogging();
    }

    [Test]
    public async Task A_redeemed_codes_row_keeps_no_payload_and_a_code_not_yet_redeemed_keeps_it()
    {
        var (driver, code, verifier) = await SignInAsync();
        var before = await CodeRowAsync(code);
        Assert.That(before.Payload?.Length, Is.GreaterThan(0), "a code not yet redeemed: OpenIddict needs its payload to redeem it");
        Assert.That(before.Status, Is.EqualTo(OpenIddictConstants.Statuses.Valid));

        var redeemed = await driver.RedeemCodeAsync(TestClient.CafFr, code, verifier);

        Assert.That(redeemed.StatusCode, Is.EqualTo(HttpStatusCode.OK), await redeemed.Content.ReadAsStringAsync());
        var after = await CodeRowAsync(code);
        Assert.Multiple(() =>
        {
            Assert.That(after.Payload?.Length, Is.Null, "the payload goes in the write that redeems the code");
            Assert.That(after.Status, Is.EqualTo(OpenIddictConstants.Statuses.Redeemed));
            Assert.That(after.RedemptionDate, Is.Not.Null);
            Assert.That(after.AuthorizationId, Is.EqualTo(before.AuthorizationId), "what a replay needs stays: its authorization");
            Assert.That(after.ExpirationDate, Is.EqualTo(before.ExpirationDate));
        });
    }

    [Test]
    public async Task A_replayed_code_gets_OpenIddicts_answer_and_revokes_the_access_and_refresh_tokens_it_gave()
    {
        var (driver, code, verifier) = await SignInAsync();
        var first = await OidcDriver.ReadTokensAsync(await driver.RedeemCodeAsync(TestClient.CafFr, code, verifier));
        Assert.That(await IntrospectAsync(driver, first.AccessToken), Is.True, "control: active before the replay");
        var logs = Host.Services.GetFakeLogCollector();
        logs.Clear();

        var replay = await driver.RedeemCodeAsync(TestClient.CafFr, code, verifier);

        var error = await ErrorAsync(replay);
        Assert.Multiple(() =>
        {
            Assert.That(replay.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
            Assert.That(error.Error, Is.EqualTo("invalid_grant"));
            Assert.That(error.Description, Is.EqualTo(AlreadyRedeemed));
            Assert.That(error.Uri, Is.EqualTo(AlreadyRedeemedUri));
        });
        Assert.Multiple(async () =>
        {
            Assert.That(await IntrospectAsync(driver, first.AccessToken), Is.False, "access token of the first use revoked");
            Assert.That(await IntrospectAsync(driver, first.RefreshToken!), Is.False, "refresh token of the first use revoked");
            Assert.That((await ErrorAsync(await driver.RefreshAsync(TestClient.CafFr, first.RefreshToken!))).Error, Is.EqualTo("invalid_grant"));
            Assert.That((await driver.UserInfoAsync(first.AccessToken)).StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        });
        var warnings = logs.GetSnapshot().Where(r => r.Level == LogLevel.Warning && r.Id.Id == 3402).ToList();
        Assert.That(warnings, Has.Count.EqualTo(1), "the replay is logged as a warning, like a lost race (3401)");
        Assert.That(warnings[0].Message, Does.Contain((await CodeRowAsync(code)).AuthorizationId));
    }

    [Test]
    public async Task A_code_replayed_again_after_the_revocation_is_refused_as_no_longer_valid()
    {
        var (driver, code, verifier) = await SignInAsync();
        await OidcDriver.ReadTokensAsync(await driver.RedeemCodeAsync(TestClient.CafFr, code, verifier));
        await driver.RedeemCodeAsync(TestClient.CafFr, code, verifier);

        var again = await driver.RedeemCodeAsync(TestClient.CafFr, code, verifier);

        // The first replay revoked the code's row with the rest of the authorization: OpenIddict's answer for a revoked code.
        var error = await ErrorAsync(again);
        Assert.That(again.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), error.ToString());
        Assert.That(error.Error, Is.EqualTo("invalid_grant"));
        Assert.That(error.Description, Is.EqualTo(NoLongerValid));
    }

    [Test]
    public async Task A_redeemed_code_replayed_after_its_lifetime_is_refused_as_expired_as_before()
    {
        // OpenIddict checks a code's expiry before its entry: a late replay is "no longer valid" and revokes nothing.
        // Unchanged by decision 37 (the row keeps the expiry).
        var (driver, code, verifier) = await SignInAsync();
        var first = await OidcDriver.ReadTokensAsync(await driver.RedeemCodeAsync(TestClient.CafFr, code, verifier));
        _clock.Advance(TimeSpan.FromSeconds(61));

        var replay = await driver.RedeemCodeAsync(TestClient.CafFr, code, verifier);

        var error = await ErrorAsync(replay);
        Assert.That(replay.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), error.ToString());
        Assert.That(error.Error, Is.EqualTo("invalid_grant"));
        Assert.That(error.Description, Is.EqualTo(NoLongerValid));
        Assert.That((await driver.RefreshAsync(TestClient.CafFr, first.RefreshToken!)).StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    [Test]
    public async Task A_redeemed_code_sent_to_introspection_is_inactive_and_to_revocation_is_answered_without_a_failure()
    {
        var (driver, code, verifier) = await SignInAsync();
        await OidcDriver.ReadTokensAsync(await driver.RedeemCodeAsync(TestClient.CafFr, code, verifier));

        Assert.That(await IntrospectAsync(driver, code), Is.False);
        var revocation = await driver.TokenRequestAsyncAt("/connect/revoke", TestClient.CafFr, new Dictionary<string, string> { ["token"] = code });
        Assert.That((int)revocation.StatusCode, Is.LessThan(500), await revocation.Content.ReadAsStringAsync());
    }

    [Test]
    public async Task A_code_never_redeemed_still_gives_tokens()
    {
        var (driver, code, verifier) = await SignInAsync();

        var tokens = await OidcDriver.ReadTokensAsync(await driver.RedeemCodeAsync(TestClient.CafFr, code, verifier));

        Assert.That(await IntrospectAsync(driver, tokens.AccessToken), Is.True);
        Assert.That((await driver.RefreshAsync(TestClient.CafFr, tokens.RefreshToken!)).StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    private async Task<(OidcDriver Driver, string Code, string Verifier)> SignInAsync()
    {
        var driver = NewBrowser();
        var (code, verifier) = await JeannesCodeAsync(driver);
        return (driver, code, verifier);
    }

    /// <summary>The code's row as stored, found as OpenIddict finds it (by its reference id), read without any cache.</summary>
    private async Task<CodeRow> CodeRowAsync(string code)
    {
        using var scope = Host.Services.CreateScope();
        var manager = scope.ServiceProvider.GetRequiredService<IOpenIddictTokenManager>();
        var token = await manager.FindByReferenceIdAsync(code);
        Assert.That(token, Is.Not.Null, "the code's row");
        var id = await manager.GetIdAsync(token!);
        var db = scope.ServiceProvider.GetRequiredService<CafConnectDbContext>();
        return await db.Set<OpenIddictEntityFrameworkCoreToken>().AsNoTracking().Where(t => t.Id == id)
            .Select(t => new CodeRow(t.Payload, t.Status, t.RedemptionDate, t.ExpirationDate, t.Authorization!.Id))
            .SingleAsync();
    }

    private static async Task<bool> IntrospectAsync(OidcDriver driver, string token)
    {
        var response = await driver.TokenRequestAsyncAt("/connect/introspect", TestClient.CafFr, new Dictionary<string, string> { ["token"] = token });
        var body = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), body);
        return JsonDocument.Parse(body).RootElement.GetProperty("active").GetBoolean();
    }

    private static async Task<TokenError> ErrorAsync(HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsStringAsync();
        var json = JsonDocument.Parse(body).RootElement;
        string? Member(string name) => json.TryGetProperty(name, out var value) ? value.GetString() : null;
        return new TokenError(Member("error"), Member("error_description"), Member("error_uri"), body);
    }

    private sealed record CodeRow(string? Payload, string? Status, DateTime? RedemptionDate, DateTime? ExpirationDate, string? AuthorizationId);

    private sealed record TokenError(string? Error, string? Description, string? Uri, string Body);
}
