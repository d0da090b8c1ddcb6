using System.Net;
using CafConnect.Infrastructure.Throttling;
using Microsoft.Extensions.Time.Testing;

namespace CafConnect.Infrastructure.Tests.Throttling;

/// <summary>
/// What every <see cref="IThrottleStore"/> promises (docs/security.md: delay after 3 failures, lock after 10 for 15 min
/// doubling to 24 h, 30 failures per IP in 10 min), run against the in-memory store and a real Redis. Each test uses
/// its own accounts and IPs; time is a fake clock (both stores compare timestamps from it).
/// </summary>
public abstract class ThrottleStoreContract
{
    protected FakeTimeProvider Clock { get; private set; } = null!;

    protected abstract IThrottleStore CreateStore(LoginThrottleOptions options);

    protected IThrottleStore Store() => CreateStore(new LoginThrottleOptions());

    protected static string NewAccount() => Guid.NewGuid().ToString("N");

    protected static string NewIp() => $"10.{Random.Shared.Next(256)}.{Random.Shared.Next(256)}.{Random.Shared.Next(1, 255)}-{Guid.NewGuid():N}";

    [SetUp]
    public void StartClock() =>
        // Whole milliseconds: Redis keeps Unix milliseconds.
        Clock = new FakeTimeProvider(DateTimeOffset.FromUnixTimeMilliseconds(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()));

    /// <summary>Begins attempts that all fail (none is followed by a success).</summary>
    protected static async Task<List<ThrottleDecision>> FailAsync(IThrottleStore store, string? account, string ip, int count)
    {
        var decisions = new List<ThrottleDecision>();
        for (var i = 0; i < count; i++)
        {
            decisions.Add(await store.BeginAsync(account, ip));
        }
        return decisions;
    }

    [Test]
    public async Task A_source_with_its_own_budget_is_counted_against_it_and_not_the_ip_budget()
    {
        var store = Store(); // the IP budget of the options: 30 failures in 10 minutes
        var source = "client:" + NewAccount();
        var budget = new SourceBudget(40, TimeSpan.FromMinutes(10), TimeSpan.FromMinutes(2));

        var counted = new List<ThrottleDecision>();
        for (var i = 0; i < 40; i++)
        {
            counted.Add(await store.BeginAsync(NewAccount(), source, budget));
        }
        var refused = await store.BeginAsync(NewAccount(), source, budget);
        var otherSource = await store.BeginAsync(NewAccount(), "client:" + NewAccount(), budget);
        Clock.Advance(TimeSpan.FromMinutes(2) + TimeSpan.FromSeconds(1));
        var afterBlock = await store.BeginAsync(NewAccount(), source, budget);

        Assert.Multiple(() =>
        {
            Assert.That(counted.Select(d => d.Allowed), Is.All.True, "40 failures: past the IP budget of 30, within the source's own");
            Assert.That(refused.Refusal, Is.EqualTo(ThrottleRefusal.IpBlocked), "the 41st is refused: the source's budget is spent");
            Assert.That(refused.RetryAfter, Is.EqualTo(TimeSpan.FromMinutes(2)), "for the source's own block duration");
            Assert.That(otherSource.Allowed, Is.True, "another source keeps its budget");
            Assert.That(afterBlock.Allowed, Is.True, "a fresh budget once the block ends");
        });
    }

    [Test]
    public async Task Three_failures_pass_then_the_next_attempt_waits_1_s_then_2_s_then_4_s()
    {
        var store = Store();
        var account = NewAccount();
        var ip = NewIp();

        var first = await FailAsync(store, account, ip, 3);
        var tooSoon = await store.BeginAsync(account, ip);
        Clock.Advance(TimeSpan.FromSeconds(1));
        var fourth = await store.BeginAsync(account, ip);
        Clock.Advance(TimeSpan.FromSeconds(1.5));
        var stillWaiting = await store.BeginAsync(account, ip);
        Clock.Advance(TimeSpan.FromSeconds(0.5));
        var fifth = await store.BeginAsync(account, ip);
        var afterFifth = await store.BeginAsync(account, ip);

        Assert.Multiple(() =>
        {
            Assert.That(first.Select(d => d.Allowed), Is.All.True);
            Assert.That(first.Select(d => d.ConsecutiveFailures), Is.EqualTo(new[] { 1, 2, 3 }));
            Assert.That(tooSoon.Refusal, Is.EqualTo(ThrottleRefusal.AccountDelayed));
            Assert.That(tooSoon.RetryAfter, Is.EqualTo(TimeSpan.FromSeconds(1)));
            Assert.That(fourth.Allowed, Is.True, "allowed once the 1 s delay is over");
            Assert.That(fourth.ConsecutiveFailures, Is.EqualTo(4), "a refused attempt does not count as a failure of the account");
            Assert.That(stillWaiting.Refusal, Is.EqualTo(ThrottleRefusal.AccountDelayed), "2 s after the 4th failure");
            Assert.That(stillWaiting.RetryAfter, Is.EqualTo(TimeSpan.FromSeconds(0.5)));
            Assert.That(fifth.Allowed, Is.True);
            Assert.That(afterFifth.RetryAfter, Is.EqualTo(TimeSpan.FromSeconds(4)));
        });
    }

    [Test]
    public async Task The_tenth_consecutive_failure_locks_for_15_minutes_and_the_next_lock_lasts_30()
    {
        var store = Store();
        var account = NewAccount();
        var ip = NewIp();

        var decisions = new List<ThrottleDecision>();
        var tenthAt = DateTimeOffset.MinValue;
        for (var i = 0; i < 10; i++)
        {
            tenthAt = Clock.GetUtcNow();
            decisions.Add(await store.BeginAsync(account, ip));
            Clock.Advance(TimeSpan.FromMinutes(5)); // past every delay
        }
        // 10 × 5 min elapsed since the 10th began: the lock (15 min from it) has 10 min to go.
        var locked = await store.BeginAsync(account, ip);
        var state = await store.GetAsync(account);
        Clock.Advance(TimeSpan.FromMinutes(10));
        var afterLock = await store.BeginAsync(account, ip);
        var secondSeries = new List<ThrottleDecision> { afterLock };
        for (var i = 0; i < 9; i++)
        {
            Clock.Advance(TimeSpan.FromMinutes(5));
            secondSeries.Add(await store.BeginAsync(account, ip));
        }
        var lockedAgain = await store.BeginAsync(account, ip);

        Assert.Multiple(() =>
        {
            Assert.That(decisions.Select(d => d.Allowed), Is.All.True);
            Assert.That(decisions.Take(9).Select(d => d.LocksUntil), Is.All.Null, "only the 10th locks");
            Assert.That(decisions[9].LocksUntil, Is.EqualTo(tenthAt + TimeSpan.FromMinutes(15)));
            Assert.That(decisions[9].LockNumber, Is.EqualTo(1));
            Assert.That(locked.Refusal, Is.EqualTo(ThrottleRefusal.AccountLocked));
            Assert.That(locked.RetryAfter, Is.EqualTo(TimeSpan.FromMinutes(10)));
            Assert.That(state!.Locks, Is.EqualTo(1));
            Assert.That(afterLock.Allowed, Is.True, "the lock ends after 15 minutes");
            Assert.That(afterLock.ConsecutiveFailures, Is.EqualTo(1), "a new series starts after a lock");
            Assert.That(secondSeries.Select(d => d.Allowed), Is.All.True);
            Assert.That(secondSeries[9].LockNumber, Is.EqualTo(2));
            Assert.That(secondSeries[9].LocksUntil - (Clock.GetUtcNow()), Is.EqualTo(TimeSpan.FromMinutes(30)), "the second lock doubles");
            Assert.That(lockedAgain.Refusal, Is.EqualTo(ThrottleRefusal.AccountLocked));
            Assert.That(lockedAgain.RetryAfter, Is.EqualTo(TimeSpan.FromMinutes(30)));
        });
    }

    [Test]
    public async Task Lock_durations_double_up_to_24_hours()
    {
        // One failure per lock, no delays: the doubling alone.
        var store = CreateStore(new LoginThrottleOptions { LockAfterFailures = 1, FreeFailures = 100 });
        var account = NewAccount();
        var ip = NewIp();

        var durations = new List<TimeSpan>();
        for (var i = 0; i < 9; i++)
        {
            var decision = await store.BeginAsync(account, ip);
            Assert.That(decision.Allowed, Is.True, $"lock {i + 1}");
            durations.Add(decision.LocksUntil!.Value - Clock.GetUtcNow());
            Clock.Advance(durations[^1]);
        }

        Assert.That(durations.Select(d => d.TotalMinutes), Is.EqualTo(new double[] { 15, 30, 60, 120, 240, 480, 960, 1440, 1440 }));
    }

    [Test]
    public async Task A_success_resets_the_consecutive_failures_and_the_lock_level()
    {
        var store = Store();
        var account = NewAccount();
        var ip = NewIp();

        await FailAsync(store, account, ip, 2);
        var right = await store.BeginAsync(account, ip);
        await store.SucceededAsync(account, ip, right.IpEntry);
        var afterSuccess = await FailAsync(store, account, ip, 3);
        var state = await store.GetAsync(account);

        Assert.Multiple(() =>
        {
            Assert.That(right.ConsecutiveFailures, Is.EqualTo(3), "an attempt counts until it succeeds");
            Assert.That(afterSuccess.Select(d => d.Allowed), Is.All.True, "three fresh attempts without delay");
            Assert.That(afterSuccess.Select(d => d.ConsecutiveFailures), Is.EqualTo(new[] { 1, 2, 3 }));
            Assert.That(state!.Locks, Is.Zero);
        });
    }

    [Test]
    public async Task The_right_secret_on_the_locking_attempt_lifts_the_lock()
    {
        var store = Store();
        var account = NewAccount();
        var ip = NewIp();
        for (var i = 0; i < 9; i++)
        {
            await store.BeginAsync(account, ip);
            Clock.Advance(TimeSpan.FromMinutes(5));
        }

        var tenth = await store.BeginAsync(account, ip);
        await store.SucceededAsync(account, ip, tenth.IpEntry);
        var next = await store.BeginAsync(account, ip);

        Assert.Multiple(() =>
        {
            Assert.That(tenth.LocksUntil, Is.Not.Null);
            Assert.That(next.Allowed, Is.True);
            Assert.That(next.ConsecutiveFailures, Is.EqualTo(1));
        });
    }

    [Test]
    public async Task Reset_lifts_a_lock_and_reports_what_it_was()
    {
        var store = CreateStore(new LoginThrottleOptions { LockAfterFailures = 2 });
        var account = NewAccount();
        var ip = NewIp();
        await FailAsync(store, account, ip, 2);

        var before = await store.ResetAsync(account);
        var after = await store.GetAsync(account);
        var next = await store.BeginAsync(account, ip);
        var resetNothing = await store.ResetAsync(NewAccount());

        Assert.Multiple(() =>
        {
            Assert.That(before!.LockedUntil, Is.EqualTo(Clock.GetUtcNow() + TimeSpan.FromMinutes(15)));
            Assert.That(before.Locks, Is.EqualTo(1));
            Assert.That(after, Is.Null);
            Assert.That(next.Allowed, Is.True);
            Assert.That(next.LockNumber, Is.EqualTo(0), "the lock level is forgotten too");
            Assert.That(resetNothing, Is.Null);
        });
    }

    [Test]
    public async Task Request_counter_counts_within_its_window_and_starts_afresh_after_it_by_the_hosts_clock()
    {
        var store = Store();
        var key = "recovery:" + NewAccount();
        var other = "recovery:" + NewAccount();

        var counts = new List<long>();
        for (var i = 0; i < 3; i++)
        {
            counts.Add(await store.CountRequestAsync(key, TimeSpan.FromMinutes(15)));
        }
        var otherKey = await store.CountRequestAsync(other, TimeSpan.FromMinutes(15));
        Clock.Advance(TimeSpan.FromMinutes(15) - TimeSpan.FromMilliseconds(1));
        var lastInWindow = await store.CountRequestAsync(key, TimeSpan.FromMinutes(15));
        Clock.Advance(TimeSpan.FromMilliseconds(1));
        var afterWindow = await store.CountRequestAsync(key, TimeSpan.FromMinutes(15));

        Assert.Multiple(() =>
        {
            Assert.That(counts, Is.EqualTo(new long[] { 1, 2, 3 }));
            Assert.That(otherKey, Is.EqualTo(1), "keys count apart");
            Assert.That(lastInWindow, Is.EqualTo(4), "the window lasts 15 minutes from the first request");
            Assert.That(afterWindow, Is.EqualTo(1), "then a new window starts");
        });
    }

    [Test]
    public async Task Request_counter_counts_every_parallel_request_exactly_once()
    {
        var store = Store();
        var key = "recovery:" + NewAccount();

        var counts = await Task.WhenAll(Enumerable.Range(0, 25).Select(_ => store.CountRequestAsync(key, TimeSpan.FromHours(1))));

        Assert.That(counts.Order(), Is.EqualTo(Enumerable.Range(1, 25).Select(i => (long)i)));
    }

    [Test]
    public async Task Parallel_attempts_on_one_account_cannot_overtake_the_delay()
    {
        var store = Store();
        var account = NewAccount();
        var ip = NewIp();

        var decisions = await Task.WhenAll(Enumerable.Range(0, 25).Select(_ => Task.Run(() => store.BeginAsync(account, ip))));

        Assert.Multiple(() =>
        {
            Assert.That(decisions.Count(d => d.Allowed), Is.EqualTo(3), "the first three only; the 4th waits for the clock");
            Assert.That(decisions.Where(d => !d.Allowed).Select(d => d.Refusal), Is.All.EqualTo(ThrottleRefusal.AccountDelayed));
        });
    }

    [Test]
    public async Task Thirty_failures_from_one_IP_over_many_accounts_block_the_IP_for_15_minutes()
    {
        var store = Store();
        var ip = NewIp();
        var otherIp = NewIp();

        var spray = new List<ThrottleDecision>();
        for (var i = 0; i < 30; i++)
        {
            spray.Add(await store.BeginAsync(NewAccount(), ip));
        }
        var victim = NewAccount();
        var blocked = await store.BeginAsync(victim, ip);
        var victimState = await store.GetAsync(victim);
        var unknownBlocked = await store.BeginAsync(null, ip);
        var elsewhere = await store.BeginAsync(victim, otherIp);
        Clock.Advance(TimeSpan.FromMinutes(14));
        var stillBlocked = await store.BeginAsync(NewAccount(), ip);
        Clock.Advance(TimeSpan.FromMinutes(1));
        var afterBlock = await store.BeginAsync(NewAccount(), ip);

        Assert.Multiple(() =>
        {
            Assert.That(spray.Select(d => d.Allowed), Is.All.True);
            Assert.That(blocked.Refusal, Is.EqualTo(ThrottleRefusal.IpBlocked));
            Assert.That(blocked.RetryAfter, Is.EqualTo(TimeSpan.FromMinutes(15)));
            Assert.That(victimState, Is.Null, "an attempt refused for its IP does not touch the account");
            Assert.That(unknownBlocked.Refusal, Is.EqualTo(ThrottleRefusal.IpBlocked));
            Assert.That(elsewhere.Allowed, Is.True, "other IPs keep their own budget");
            Assert.That(stillBlocked.Refusal, Is.EqualTo(ThrottleRefusal.IpBlocked));
            Assert.That(stillBlocked.RetryAfter, Is.EqualTo(TimeSpan.FromMinutes(1)));
            Assert.That(afterBlock.Allowed, Is.True, "a fresh budget after the block");
        });
    }

    [Test]
    public async Task Unknown_identifiers_spend_the_IP_budget()
    {
        var store = Store();
        var ip = NewIp();

        var unknown = await FailAsync(store, null, ip, 30);
        var next = await store.BeginAsync(NewAccount(), ip);

        Assert.Multiple(() =>
        {
            Assert.That(unknown.Select(d => d.Allowed), Is.All.True);
            Assert.That(next.Refusal, Is.EqualTo(ThrottleRefusal.IpBlocked));
        });
    }

    [Test]
    public async Task The_IP_window_slides_and_successes_do_not_spend_it()
    {
        var store = Store();
        var ip = NewIp();

        for (var i = 0; i < 50; i++)
        {
            var account = NewAccount();
            var ok = await store.BeginAsync(account, ip);
            await store.SucceededAsync(account, ip, ok.IpEntry);
        }
        await FailAsync(store, null, ip, 29);
        Clock.Advance(TimeSpan.FromMinutes(10));
        var afterWindow = await FailAsync(store, null, ip, 30);
        var thirtyFirst = await store.BeginAsync(null, ip);

        Assert.Multiple(() =>
        {
            Assert.That(afterWindow.Select(d => d.Allowed), Is.All.True, "failures older than 10 minutes no longer count");
            Assert.That(thirtyFirst.Refusal, Is.EqualTo(ThrottleRefusal.IpBlocked));
        });
    }

    [Test]
    public async Task Attempts_refused_for_their_account_still_spend_the_IP_budget()
    {
        var store = Store();
        var ip = NewIp();
        var account = NewAccount();

        var decisions = await FailAsync(store, account, ip, 30); // 3 counted, 27 refused (delay)
        var next = await store.BeginAsync(NewAccount(), ip);

        Assert.Multiple(() =>
        {
            Assert.That(decisions.Count(d => d.Refusal == ThrottleRefusal.AccountDelayed), Is.EqualTo(27));
            Assert.That(next.Refusal, Is.EqualTo(ThrottleRefusal.IpBlocked));
        });
    }

    [Test]
    public void IPv6_addresses_of_one_64_share_a_budget_and_mapped_IPv4_is_IPv4()
    {
        Assert.Multiple(() =>
        {
            Assert.That(ThrottleKeys.ForIp(IPAddress.Parse("2001:db8:1:2::1")), Is.EqualTo(ThrottleKeys.ForIp(IPAddress.Parse("2001:db8:1:2:ffff::9"))));
            Assert.That(ThrottleKeys.ForIp(IPAddress.Parse("2001:db8:1:2::1")), Is.Not.EqualTo(ThrottleKeys.ForIp(IPAddress.Parse("2001:db8:1:3::1"))));
            Assert.That(ThrottleKeys.ForIp(IPAddress.Parse("::ffff:192.0.2.7")), Is.EqualTo("192.0.2.7"));
            Assert.That(ThrottleKeys.ForIp(null), Is.EqualTo(ThrottleKeys.UnknownIp));
        });
    }
}
