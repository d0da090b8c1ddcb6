using System.Data.Common;
using System.Net;
using System.Text.Json;
using CafConnect.Application.Credentials;
using CafConnect.IdP.Tests.Support;
using CafConnect.Infrastructure.Incidents;
using CafConnect.Infrastructure.Persistence;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using OpenIddict.EntityFrameworkCore.Models;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace CafConnect.IdP.Tests.Protocol;

/// <summary>
/// A revocation leaves none of the tokens it covers valid, also those of a refresh that commits while it runs
/// (docs/decisions.md #38). The refresh is held just before its commit — its refresh token marked redeemed, its new
/// tokens inserted, the row locks taken — while a password reset, an incident revocation or a replayed refresh token
/// revokes; then it commits and the revocation ends. The revocation must have chosen its rows after that commit: no token
/// row left valid, and the access token the refresh handed out refused by introspection and userinfo. Before, on
/// PostgreSQL, the revocation's UPDATE (or its list of ids, for the incident) did not see the refresh's rows: they stayed
/// valid in every case, and after a replay (which revokes the authorization's tokens, not the authorization) the access
/// token stayed active and the chain went on. SQLite's writers take turns (the revocation waits for the refresh's whole
/// transaction), so there the tests pass before and after: they check the store keeps that property.
/// </summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
public sealed class RevocationDuringRefreshTests(StoreKind kind) : HookedHostFixture(kind)
{
    private readonly HeldRefreshCommit _hold = new();

    protected override void ConfigureServices(IServiceCollection services) => InterceptStore(services, _hold, _hold.AtCommit);

    [TearDown]
    public void Disarm() => _hold.Disarm();

    [Test]
    public async Task A_password_reset_while_a_refresh_commits_leaves_no_token_of_the_person_valid()
    {
        var (driver, issued, subject) = await SignInAsync();

        var refreshed = await RefreshWhileRevokingAsync(driver, issued, async services =>
        {
            // What every journey that sets a password does (recovery, first login, « Changer mon mot de passe »…).
            var db = services.GetRequiredService<CafConnectDbContext>();
            var person = await db.Persons.SingleAsync(p => p.Subject == subject);
            var policy = services.GetRequiredService<PasswordSettingPolicy>();
            await db.InTransactionAsync(async ct =>
            {
                await policy.RevokeAsync(person, keepSessionId: null, ct);
                return 0;
            }, CancellationToken.None);
        });

        await AssertNothingOfThePersonWorksAsync(driver, subject, refreshed);
    }

    [Test]
    public async Task An_incident_revocation_while_a_refresh_commits_leaves_no_token_of_the_window_valid()
    {
        var from = DateTimeOffset.UtcNow.AddMinutes(-1);
        var (driver, issued, subject) = await SignInAsync();
        // The window ends before the refresh: its tokens are in scope as tokens of an authorization granted in it.
        var to = DateTimeOffset.UtcNow;
        await Task.Delay(50);

        var refreshed = await RefreshWhileRevokingAsync(driver, issued, async services =>
        {
            var db = services.GetRequiredService<CafConnectDbContext>();
            var revocation = services.GetRequiredService<IncidentRevocation>();
            await db.InTransactionAsync(ct => revocation.RunAsync(new IncidentScope(from, to, null), dryRun: false, _ => Task.CompletedTask, cancellationToken: ct),
                CancellationToken.None);
        });

        await AssertNothingOfThePersonWorksAsync(driver, subject, refreshed);
    }

    [Test]
    public async Task A_reused_refresh_token_while_the_chain_refreshes_leaves_no_token_of_the_authorization_valid()
    {
        // A thief replays a refresh token already redeemed while the chain's newest one is being refreshed: OpenIddict
        // answers the reuse by revoking the authorization's tokens (not the authorization itself), so here the token rows
        // are all that stops the refresh's new tokens.
        var (driver, issued, subject) = await SignInAsync();
        var rotated = await OidcDriver.ReadTokensAsync(await driver.RefreshAsync(TestClient.CafFr, issued.RefreshToken!));
        HttpResponseMessage reuse = null!;

        var refreshed = await RefreshWhileRevokingAsync(driver, rotated, async _ => reuse = await driver.RefreshAsync(TestClient.CafFr, issued.RefreshToken!));

        Assert.That(reuse.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), await reuse.Content.ReadAsStringAsync());
        await AssertNothingOfThePersonWorksAsync(driver, subject, refreshed);
    }

    [Test]
    public void OpenIddicts_authorization_revocations_stay_one_UPDATE_that_chooses_its_rows_when_it_runs()
    {
        // RevokeBySubjectAsync and the other bulk revocations of OpenIddict's authorization store are one ExecuteUpdate
        // unless bulk operations are disabled; disabled, they list the authorizations first and save them one by one.
        var options = Host.Services.GetRequiredService<Microsoft.Extensions.Options.IOptionsMonitor<OpenIddict.EntityFrameworkCore.OpenIddictEntityFrameworkCoreOptions>>();
        Assert.That(options.CurrentValue.DisableBulkOperations, Is.False);
    }

    private async Task<(OidcDriver Driver, TokenSet Issued, string Subject)> SignInAsync()
    {
        var driver = NewBrowser();
        var issued = await SignInJeanneAsync(driver);
        var subject = await SubjectOfAsync(driver, issued.AccessToken);
        return (driver, issued, subject);
    }

    /// <summary>
    /// Refreshes, holds the refresh's write just before its commit, starts <paramref name="revoke"/>, lets the refresh
    /// commit once the revocation waits for it (PostgreSQL: on the redeemed row's lock; SQLite: on the write lock), and
    /// returns the refresh's tokens after both ended.
    /// </summary>
    private async Task<TokenSet> RefreshWhileRevokingAsync(OidcDriver driver, TokenSet issued, Func<IServiceProvider, Task> revoke)
    {
        _hold.Arm();
        var refresh = Task.Run(() => driver.RefreshAsync(TestClient.CafFr, issued.RefreshToken!));
        await _hold.Held.WaitAsync(TimeSpan.FromSeconds(30));

        var revocation = Task.Run(async () =>
        {
            using var scope = Host.Services.CreateScope();
            await revoke(scope.ServiceProvider);
        });
        await WaitUntilTheRevocationWaitsAsync(revocation);
        _hold.Release();

        var answer = await refresh.WaitAsync(TimeSpan.FromSeconds(60));
        await revocation.WaitAsync(TimeSpan.FromSeconds(60));
        // The refresh's write came first: it got tokens. Whatever it got must now be dead.
        Assert.That(answer.StatusCode, Is.EqualTo(HttpStatusCode.OK), await answer.Content.ReadAsStringAsync());
        return await OidcDriver.ReadTokensAsync(answer);
    }

    private async Task WaitUntilTheRevocationWaitsAsync(Task revocation)
    {
        if (Kind == StoreKind.Sqlite)
        {
            // SQLite cannot say who waits for its write lock; the revocation needs far less than this to get there.
            await Task.Delay(TimeSpan.FromSeconds(1));
            return;
        }
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline && !revocation.IsCompleted)
        {
            using var scope = Host.Services.CreateScope();
            var db = scope.ServiceProvider.GetRequiredService<CafConnectDbContext>();
            var waiting = await db.Database.SqlQueryRaw<int>(
                "SELECT count(*)::int AS \"Value\" FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()").SingleAsync();
            if (waiting > 0)
            {
                return;
            }
            await Task.Delay(20);
        }
        Assert.Fail("the revocation never waited for the refresh's locks: " + (revocation.Exception?.ToString() ?? "still running"));
    }

    private async Task AssertNothingOfThePersonWorksAsync(OidcDriver driver, string subject, TokenSet refreshed)
    {
        using (var scope = Host.Services.CreateScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<CafConnectDbContext>();
            var notRevoked = await db.Set<OpenIddictEntityFrameworkCoreToken>().AsNoTracking()
                .Where(t => t.Subject == subject && t.Status != Statuses.Revoked).Select(t => t.Type + " " + t.Status).ToListAsync();
            Assert.That(notRevoked, Is.Empty, "every token row of the person is revoked");
        }
        var introspection = await driver.TokenRequestAsyncAt("/connect/introspect", TestClient.CafFr, new Dictionary<string, string> { ["token"] = refreshed.AccessToken });
        var body = await introspection.Content.ReadAsStringAsync();
        Assert.That(introspection.StatusCode, Is.EqualTo(HttpStatusCode.OK), body);
        Assert.That(JsonDocument.Parse(body).RootElement.GetProperty("active").GetBoolean(), Is.False, "introspection: " + body);
        Assert.That((await driver.UserInfoAsync(refreshed.AccessToken)).StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized), "userinfo");
        Assert.That((await driver.RefreshAsync(TestClient.CafFr, refreshed.RefreshToken!)).StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), "the new refresh token");
    }

    /// <summary>
    /// Once armed, holds the next refresh's write (a token marked redeemed and new ones inserted in one save) after its
    /// statements ran and before its commit, until released.
    /// </summary>
    private sealed class HeldRefreshCommit : SaveChangesInterceptor
    {
        private readonly Lock _lock = new();
        private bool _armed;
        private DbContext? _refresh;
        private TaskCompletionSource _held = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public HeldRefreshCommit() => AtCommit = new CommitHook(this);

        public CommitHook AtCommit { get; }

        public Task Held => _held.Task;

        public void Arm()
        {
            lock (_lock)
            {
                _armed = true;
                _refresh = null;
                _held = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                _release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
        }

        public void Release() => _release.TrySetResult();

        public void Disarm()
        {
            lock (_lock)
            {
                _armed = false;
                _refresh = null;
                _release.TrySetResult();
            }
        }

        public override ValueTask<InterceptionResult<int>> SavingChangesAsync(DbContextEventData eventData, InterceptionResult<int> result, CancellationToken cancellationToken = default)
        {
            var tokens = eventData.Context!.ChangeTracker.Entries<OpenIddictEntityFrameworkCoreToken>().ToList();
            var isRefresh = tokens.Any(e => e.State == EntityState.Modified && e.Entity.Status == Statuses.Redeemed)
                && tokens.Any(e => e.State == EntityState.Added);
            lock (_lock)
            {
                if (_armed && isRefresh)
                {
                    _armed = false;
                    _refresh = eventData.Context;
                }
            }
            return ValueTask.FromResult(result);
        }

        private async Task HoldIfRefreshAsync(DbContext? context)
        {
            Task release;
            lock (_lock)
            {
                if (context is null || !ReferenceEquals(context, _refresh))
                {
                    return;
                }
                _refresh = null;
                _held.TrySetResult();
                release = _release.Task;
            }
            await release.WaitAsync(TimeSpan.FromSeconds(60));
        }

        public sealed class CommitHook(HeldRefreshCommit owner) : DbTransactionInterceptor
        {
            public override async ValueTask<InterceptionResult> TransactionCommittingAsync(DbTransaction transaction, TransactionEventData eventData, InterceptionResult result,
                CancellationToken cancellationToken = default)
            {
                await owner.HoldIfRefreshAsync(eventData.Context);
                return result;
            }
        }
    }
}
