using System.Net;
using System.Text.Json;
using CafConnect.IdP.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using OpenIddict.Abstractions;
using OpenIddict.Server;

namespace CafConnect.IdP.Tests.Protocol;

/// <summary>
/// A refresh token or a code is good for one use, also when two requests carry it at the same moment (a stolen token
/// raced against its owner, a client retrying): exactly one gets tokens, the other is refused as a reuse and, like a
/// reuse, revokes what the authorization holds (docs/decisions.md #34). The two requests are held together right after
/// OpenIddict validated the token (both found it unused) and before either marks it redeemed, so the race is run, not
/// hoped for.
/// </summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
public sealed class ConcurrentRedemptionTests(StoreKind kind) : HookedHostFixture(kind)
{
    private readonly Rendezvous _rendezvous = new();

    protected override void ConfigureServices(IServiceCollection services)
    {
        services.AddSingleton(_rendezvous);
        services.AddOpenIddict().AddServer(options => options.AddEventHandler(HoldBeforeRedeeming.Descriptor));
    }

    [Test]
    public async Task Two_simultaneous_redemptions_of_one_refresh_token_give_exactly_one_success_and_revoke_the_authorization()
    {
        var driver = NewBrowser();
        var issued = await SignInJeanneAsync(driver);
        var auditedBefore = await TokenIssuedLinesAsync("refresh_token");

        var answers = await RaceAsync(() => driver.RefreshAsync(TestClient.CafFr, issued.RefreshToken!));

        var winners = answers.Where(a => a.StatusCode == HttpStatusCode.OK).ToList();
        Assert.That(winners, Has.Count.EqualTo(1), "one refresh token, one success: " + await DescribeAsync(answers));
        var loser = answers.Single(a => a.StatusCode != HttpStatusCode.OK);
        Assert.That(await ErrorOfAsync(loser), Is.EqualTo("invalid_grant"));
        Assert.That(await TokenIssuedLinesAsync("refresh_token") - auditedBefore, Is.EqualTo(1), "one audit line, for the tokens handed out");

        // The lost race is a reuse: like any reuse of a refresh token it revokes the authorization's tokens, the winner's too.
        var rotated = await OidcDriver.ReadTokensAsync(winners[0]);
        Assert.That((await driver.RefreshAsync(TestClient.CafFr, rotated.RefreshToken!)).StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That((await driver.UserInfoAsync(rotated.AccessToken)).StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
    }

    [Test]
    public async Task Two_simultaneous_redemptions_of_one_code_give_exactly_one_success_and_revoke_its_tokens()
    {
        var driver = NewBrowser();
        var (code, verifier) = await JeannesCodeAsync(driver);
        var auditedBefore = await TokenIssuedLinesAsync("authorization_code");

        var answers = await RaceAsync(() => driver.RedeemCodeAsync(TestClient.CafFr, code, verifier));

        var winners = answers.Where(a => a.StatusCode == HttpStatusCode.OK).ToList();
        Assert.That(winners, Has.Count.EqualTo(1), "one code, one success: " + await DescribeAsync(answers));
        Assert.That(await ErrorOfAsync(answers.Single(a => a.StatusCode != HttpStatusCode.OK)), Is.EqualTo("invalid_grant"));
        Assert.That(await TokenIssuedLinesAsync("authorization_code") - auditedBefore, Is.EqualTo(1), "one audit line, for the tokens handed out");

        // RFC 6749 §4.1.2: a code used twice revokes the tokens issued on it.
        var tokens = await OidcDriver.ReadTokensAsync(winners[0]);
        Assert.That((await driver.UserInfoAsync(tokens.AccessToken)).StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That((await driver.RefreshAsync(TestClient.CafFr, tokens.RefreshToken!)).StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
    }

    [Test]
    public async Task A_refresh_token_used_after_a_race_was_lost_stays_refused()
    {
        var driver = NewBrowser();
        var issued = await SignInJeanneAsync(driver);

        await RaceAsync(() => driver.RefreshAsync(TestClient.CafFr, issued.RefreshToken!));

        Assert.That(await ErrorOfAsync(await driver.RefreshAsync(TestClient.CafFr, issued.RefreshToken!)), Is.EqualTo("invalid_grant"));
    }

    [Test]
    public async Task A_code_presented_after_a_race_was_lost_stays_refused_and_its_row_keeps_no_payload()
    {
        var driver = NewBrowser();
        var (code, verifier) = await JeannesCodeAsync(driver);

        await RaceAsync(() => driver.RedeemCodeAsync(TestClient.CafFr, code, verifier));

        // The winner's write cleared the payload (decision 37), the loser's reuse revoked the row: a third presentation
        // is answered from the row alone, with OpenIddict's answer for a revoked code.
        using (var scope = Host.Services.CreateScope())
        {
            var manager = scope.ServiceProvider.GetRequiredService<IOpenIddictTokenManager>();
            var row = await manager.FindByReferenceIdAsync(code);
            Assert.That(row, Is.Not.Null);
            Assert.That((await manager.GetPayloadAsync(row!))?.Length ?? 0, Is.Zero, "the winner's write cleared the payload");
            Assert.That(await manager.GetStatusAsync(row!), Is.EqualTo(OpenIddictConstants.Statuses.Revoked));
        }
        var again = await driver.RedeemCodeAsync(TestClient.CafFr, code, verifier);
        Assert.That(again.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), await DescribeAsync([again]));
        Assert.That(await ErrorOfAsync(again), Is.EqualTo("invalid_grant"));
    }

    [Test]
    public async Task A_refresh_in_flight_when_the_persons_grants_are_revoked_hands_out_nothing()
    {
        // A password reset, a file event or an incident revokes a person's tokens while a refresh that already validated
        // one of them is still running (a thief refreshing at that moment): the refresh must not write "redeemed" over
        // "revoked" and hand out fresh tokens.
        var driver = NewBrowser();
        var issued = await SignInJeanneAsync(driver);
        var subject = await SubjectOfAsync(driver, issued.AccessToken);

        _rendezvous.Arm(parties: 2);
        HttpResponseMessage answer;
        try
        {
            var refresh = Task.Run(() => driver.RefreshAsync(TestClient.CafFr, issued.RefreshToken!));
            await _rendezvous.FirstArrival.WaitAsync(TimeSpan.FromSeconds(30));
            using (var scope = Host.Services.CreateScope())
            {
                // What CredentialReset.RevokeGrantsAsync does for every journey that revokes a person's grants.
                await scope.ServiceProvider.GetRequiredService<IOpenIddictAuthorizationManager>().RevokeBySubjectAsync(subject);
                await scope.ServiceProvider.GetRequiredService<IOpenIddictTokenManager>().RevokeBySubjectAsync(subject);
            }
            await _rendezvous.ArriveAsync();
            answer = await refresh;
        }
        finally
        {
            _rendezvous.Disarm();
        }

        Assert.That(answer.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), await DescribeAsync([answer]));
        Assert.That(await ErrorOfAsync(answer), Is.EqualTo("invalid_grant"));
        Assert.That((await driver.RefreshAsync(TestClient.CafFr, issued.RefreshToken!)).StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
    }

    private async Task<HttpResponseMessage[]> RaceAsync(Func<Task<HttpResponseMessage>> request)
    {
        _rendezvous.Arm(parties: 2);
        try
        {
            return await Task.WhenAll(Task.Run(request), Task.Run(request));
        }
        finally
        {
            _rendezvous.Disarm();
        }
    }

    private static async Task<string?> ErrorOfAsync(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.TryGetProperty("error", out var error) ? error.GetString() : null;

    private static async Task<string> DescribeAsync(IEnumerable<HttpResponseMessage> answers) =>
        string.Join(" | ", await Task.WhenAll(answers.Select(async a => $"{(int)a.StatusCode} {await a.Content.ReadAsStringAsync()}")));

    /// <summary>Holds each armed request until the other one arrives too (or 10 s pass: a store that serialises them still finishes).</summary>
    public sealed class Rendezvous
    {
        private readonly Lock _lock = new();
        private TaskCompletionSource? _all;
        private TaskCompletionSource _first = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _expected;
        private int _arrived;

        public void Arm(int parties)
        {
            lock (_lock)
            {
                _all = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                _first = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                _expected = parties;
                _arrived = 0;
            }
        }

        public void Disarm()
        {
            lock (_lock)
            {
                _all?.TrySetResult();
                _all = null;
            }
        }

        /// <summary>Completes when the first armed request is held.</summary>
        public Task FirstArrival
        {
            get
            {
                lock (_lock)
                {
                    return _first.Task;
                }
            }
        }

        public async Task ArriveAsync()
        {
            Task wait;
            lock (_lock)
            {
                if (_all is null)
                {
                    return;
                }
                _first.TrySetResult();
                if (++_arrived >= _expected)
                {
                    _all.TrySetResult();
                }
                wait = _all.Task;
            }
            try
            {
                await wait.WaitAsync(TimeSpan.FromSeconds(10));
            }
            catch (TimeoutException)
            {
            }
        }
    }

    /// <summary>After OpenIddict validated the code or refresh token, before it is redeemed.</summary>
    public sealed class HoldBeforeRedeeming(Rendezvous rendezvous) : IOpenIddictServerHandler<OpenIddictServerEvents.ProcessSignInContext>
    {
        public static OpenIddictServerHandlerDescriptor Descriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<OpenIddictServerEvents.ProcessSignInContext>()
            .UseSingletonHandler<HoldBeforeRedeeming>()
            .SetOrder(OpenIddictServerHandlers.RedeemTokenEntry.Descriptor.Order - 1)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

        public async ValueTask HandleAsync(OpenIddictServerEvents.ProcessSignInContext context)
        {
            if (context.EndpointType == OpenIddictServerEndpointType.Token
                && (context.Request.IsRefreshTokenGrantType() || context.Request.IsAuthorizationCodeGrantType()))
            {
                await rendezvous.ArriveAsync();
            }
        }
    }
}
