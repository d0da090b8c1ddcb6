using CafConnect.IdP.Tests.Support;

namespace CafConnect.IdP.Tests.Security;

/// <summary>
/// Session isolation under load (issue #7, the incident of 10 October 2021 as a test): at least 500 distinct persons
/// sign in at once through the real HTTP surface and every response that says who someone is — ID token <c>sub</c>,
/// userinfo, <c>caf_files</c> — must name the person who typed the password. The persons live in households (holders
/// alone, couples with and without delegation, a <c>conjoint_allocataire</c>, children: issue #20), and each person's
/// <c>role</c>, <c>delegated</c> and <c>permissions</c> on the shared file are checked, so a mix-up between members of
/// one family — same file, same holder — is seen too.
/// <para>
/// PostgreSQL + Redis: two Kestrel instances on loopback sharing the database and Redis, each with its own in-process
/// state (caches, Data Protection key ring cache, OpenIddict), requests of every journey alternated between them;
/// 500 persons × 4 rounds × 10 requests = 20,000 requests. SQLite (the embedded default runs one instance only): the
/// same journeys on one instance, one round (5,000 requests), as a reduced variant.
/// </para>
/// The bench (bench/session-isolation.sh) runs this test with more persons and rounds (CAFCONNECT_ISOLATION_*).
/// </summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
[NonParallelizable]
public sealed class SessionIsolationTests(StoreKind kind)
{
    [Test]
    [CancelAfter(600_000)]
    public async Task Every_response_names_the_person_who_typed_the_password()
    {
        var twoInstances = kind == StoreKind.PostgreSql;
        var settings = twoInstances
            ? IsolationSettings.FromEnvironment(persons: 500, rounds: 4, concurrency: 64)
            // SQLite serialises writes: fewer requests in flight, one round.
            : IsolationSettings.FromEnvironment(persons: 500, rounds: 1, concurrency: 16);
        await using var store = TestStore.Create(kind);
        await using var driver = SessionIsolationDriver.Start(store, twoInstances ? 2 : 1, settings);
        var persons = await driver.SeedAsync(settings.Persons);

        var report = await driver.RunAsync(persons);
        TestContext.Progress.WriteLine($"[session isolation, {kind}]" + Environment.NewLine + report.Summary(settings, driver.InstanceCount));

        var expectedRequests = settings.Persons * settings.Rounds * 10;
        Assert.Multiple(() =>
        {
            Assert.That(report.Failures, Is.Zero, "every request of every journey answered as expected (a failed journey checks nothing)");
            Assert.That(report.Requests, Is.EqualTo(expectedRequests), "every journey ran to its end");
            Assert.That(report.Mismatches, Is.Zero, "no response named another person");
            Assert.That(report.IdentityChecks, Is.GreaterThanOrEqualTo(settings.Persons * settings.Rounds * 14), "the checks did run");
            Assert.That(report.CacheableResponses, Is.Zero, "every token and userinfo response is Cache-Control: no-store");
            Assert.That(report.PersonalDataResponses, Is.EqualTo(settings.Persons * settings.Rounds * 6));
            Assert.That(report.SessionCookiesBeforeLogin, Is.Zero, "no session cookie before the login");
            Assert.That(report.DistinctSessionIds, Is.EqualTo(report.Logins), "a new session id at every authentication");
        });
        if (twoInstances)
        {
            Assert.That(report.Requests, Is.GreaterThanOrEqualTo(20_000), "issue #7: at least 20,000 requests");
            Assert.That(settings.Persons, Is.GreaterThanOrEqualTo(500), "issue #7: at least 500 distinct persons");
        }
    }
}
