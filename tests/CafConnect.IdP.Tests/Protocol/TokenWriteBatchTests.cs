using System.Net;
using CafConnect.IdP.Tests.Admin;
using CafConnect.IdP.Tests.Support;
using CafConnect.Infrastructure.Persistence;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using OpenIddict.Abstractions;
using OpenIddict.EntityFrameworkCore;
using OpenIddict.EntityFrameworkCore.Models;

namespace CafConnect.IdP.Tests.Protocol;

/// <summary>
/// The token rows and the audit line of a grant are written once, together (docs/decisions.md #34): a token is handed
/// out if and only if it and its audit line are stored. A write that fails answers an error, stores nothing, and leaves
/// the presented refresh token as it was.
/// </summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
public sealed class TokenWriteBatchTests(StoreKind kind) : HookedHostFixture(kind)
{
    private readonly FailingTokenWrite _failure = new();

    protected override void ConfigureServices(IServiceCollection services)
    {
        InterceptStore(services, _failure);
        // On PostgreSQL the client-credentials grant's rows go through the group commit (docs/decisions.md #48): it fails
        // with the store too, and the grant's own save after it.
        if (services.Any(d => d.ServiceType == typeof(CoalescedInserts)))
        {
            services.AddSingleton<CoalescedInserts>(sp => new FailingCoalescedInserts(sp.GetRequiredService<StorageSettings>(), _failure));
        }
    }

    [TearDown]
    public void Disarm() => _failure.Armed = false;

    [Test]
    public async Task On_PostgreSQL_a_client_credentials_grants_rows_are_written_by_the_group_commit_and_not_by_a_save_of_its_own()
    {
        _failure.CountTokenSaves = true;
        _failure.TokenSaves = 0;
        var writes = _failure.CoalescedWrites;

        var response = await new AdminClient(Host.CreateBrowser()).RequestTokenAsync();

        _failure.CountTokenSaves = false;
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), await response.Content.ReadAsStringAsync());
        if (Kind == StoreKind.PostgreSql)
        {
            Assert.That((_failure.CoalescedWrites - writes, _failure.TokenSaves), Is.EqualTo((1, 0)));
        }
        else
        {
            Assert.That((_failure.CoalescedWrites - writes, _failure.TokenSaves), Is.EqualTo((0, 1)), "SQLite: the request's own save");
        }
    }

    [Test]
    public async Task OpenIddicts_token_store_writes_through_the_requests_store_context()
    {
        using var scope = Host.Services.CreateScope();
        var openIddictContext = await scope.ServiceProvider.GetRequiredService<IOpenIddictEntityFrameworkCoreContext>().GetDbContextAsync(CancellationToken.None);

        Assert.That(openIddictContext, Is.SameAs(scope.ServiceProvider.GetRequiredService<CafConnectDbContext>()), "the audit trail's context, committed by IUnitOfWork");
        Assert.That(scope.ServiceProvider.GetRequiredService<OpenIddict.Abstractions.IOpenIddictTokenStore<OpenIddictEntityFrameworkCoreToken>>(), Is.InstanceOf<BatchedTokenStore>());
    }

    [Test]
    public async Task A_client_credentials_token_and_its_audit_line_are_stored_together()
    {
        var (tokens, lines) = await CountAsync("client_credentials");

        var response = await new AdminClient(Host.CreateBrowser()).RequestTokenAsync();

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), await response.Content.ReadAsStringAsync());
        Assert.That(await CountAsync("client_credentials"), Is.EqualTo((tokens + 1, lines + 1)));
    }

    [Test]
    public async Task A_client_credentials_grant_whose_write_fails_gets_an_error_and_leaves_neither_token_nor_audit_line()
    {
        var before = await CountAsync("client_credentials");
        var coalescedFailures = _failure.CoalescedFailures;
        _failure.Armed = true;

        var response = await new AdminClient(Host.CreateBrowser()).RequestTokenAsync();

        _failure.Armed = false;
        Assert.That(response.StatusCode, Is.Not.EqualTo(HttpStatusCode.OK));
        Assert.That(await response.Content.ReadAsStringAsync(), Does.Not.Contain("access_token"));
        Assert.That(_failure.CoalescedFailures - coalescedFailures, Is.EqualTo(Kind == StoreKind.PostgreSql ? 1 : 0), "on PostgreSQL the group commit failed first");
        Assert.That(await CountAsync("client_credentials"), Is.EqualTo(before), "no token row, no token.issued line");
    }

    [Test]
    public async Task A_refresh_whose_write_fails_gets_an_error_and_the_refresh_token_stays_usable()
    {
        var driver = NewBrowser();
        var issued = await SignInJeanneAsync(driver);
        var before = await CountAsync("refresh_token");
        _failure.Armed = true;

        var failed = await driver.RefreshAsync(TestClient.CafFr, issued.RefreshToken!);

        _failure.Armed = false;
        Assert.That(failed.StatusCode, Is.Not.EqualTo(HttpStatusCode.OK));
        Assert.That(await failed.Content.ReadAsStringAsync(), Does.Not.Contain("refresh_token\""));
        Assert.That(await CountAsync("refresh_token"), Is.EqualTo(before), "nothing of the failed grant is stored");
        // Not marked redeemed either: the client's retry is a first use, not a reuse.
        var retried = await OidcDriver.ReadTokensAsync(await driver.RefreshAsync(TestClient.CafFr, issued.RefreshToken!));
        Assert.That((await driver.UserInfoAsync(retried.AccessToken)).StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    [Test]
    public async Task A_refresh_writes_the_redeemed_token_and_the_new_ones_in_one_save()
    {
        var driver = NewBrowser();
        var issued = await SignInJeanneAsync(driver);
        _failure.CountTokenSaves = true;
        _failure.TokenSaves = 0;

        var refreshed = await OidcDriver.ReadTokensAsync(await driver.RefreshAsync(TestClient.CafFr, issued.RefreshToken!));

        _failure.CountTokenSaves = false;
        Assert.That(refreshed.RefreshToken, Is.Not.Null);
        Assert.That(_failure.TokenSaves, Is.EqualTo(1), "one save held the redeemed refresh token and the access, refresh and ID tokens");
    }

    private async Task<(int Tokens, int Lines)> CountAsync(string grant)
    {
        using var scope = Host.Services.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<CafConnectDbContext>();
        var tokens = await db.Set<OpenIddictEntityFrameworkCoreToken>().AsNoTracking().CountAsync();
        return (tokens, await TokenIssuedLinesAsync(grant));
    }

    /// <summary>The group commit, failing as a store outage would while <see cref="FailingTokenWrite.Armed"/>.</summary>
    private sealed class FailingCoalescedInserts(StorageSettings settings, FailingTokenWrite failure)
        : CoalescedInserts(settings, Microsoft.Extensions.Logging.Abstractions.NullLogger<CoalescedInserts>.Instance, Task.CompletedTask, TimeSpan.Zero)
    {
        protected override Task ExecuteAsync(Npgsql.NpgsqlBatch batch)
        {
            Interlocked.Increment(ref failure.CoalescedWrites);
            if (failure.Armed)
            {
                Interlocked.Increment(ref failure.CoalescedFailures);
                throw new InvalidOperationException("Simulated failure of the store while writing tokens.");
            }
            return base.ExecuteAsync(batch);
        }
    }

    /// <summary>When armed, a save that writes a token row fails as a store outage would, before anything is sent.</summary>
    private sealed class FailingTokenWrite : SaveChangesInterceptor
    {
        public volatile bool Armed;
        public volatile bool CountTokenSaves;
        public int TokenSaves;
        public int CoalescedWrites;
        public int CoalescedFailures;

        public override ValueTask<InterceptionResult<int>> SavingChangesAsync(DbContextEventData eventData, InterceptionResult<int> result, CancellationToken cancellationToken = default)
        {
            var writesTokens = eventData.Context!.ChangeTracker.Entries<OpenIddictEntityFrameworkCoreToken>()
                .Any(e => e.State is EntityState.Added or EntityState.Modified);
            if (writesTokens && Armed)
            {
                throw new InvalidOperationException("Simulated failure of the store while writing tokens.");
            }
            if (writesTokens && CountTokenSaves)
            {
                Interlocked.Increment(ref TokenSaves);
            }
            return base.SavingChangesAsync(eventData, result, cancellationToken);
        }
    }
}
