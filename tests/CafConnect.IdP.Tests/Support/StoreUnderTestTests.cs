using CafConnect.Infrastructure.Persistence;
using CafConnect.Infrastructure.Security;
using CafConnect.Infrastructure.Verification;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace CafConnect.IdP.Tests.Support;

/// <summary>
/// Guards the harness itself: a host built by <see cref="CafConnectFactory"/> really runs on the store under test
/// (and with Redis for PostgreSQL). Without this, a configuration applied too late lets every "PostgreSQL" test run on
/// the default SQLite file and still pass.
/// </summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
public sealed class StoreUnderTestTests(StoreKind kind) : StoreFixture(kind)
{
    [Test]
    public void The_host_uses_the_store_and_code_store_under_test()
    {
        using var scope = Host.Services.CreateScope();
        var settings = scope.ServiceProvider.GetRequiredService<StorageSettings>();
        var db = scope.ServiceProvider.GetRequiredService<CafConnectDbContext>();
        var codes = scope.ServiceProvider.GetRequiredService<IVerificationCodeStore>();

        Assert.Multiple(() =>
        {
            Assert.That(settings.Provider.ToString(), Is.EqualTo(Kind == StoreKind.Sqlite ? "Sqlite" : "PostgreSql"));
            Assert.That(db.Database.ProviderName, Does.Contain(Kind == StoreKind.Sqlite ? "Sqlite" : "Npgsql"));
            Assert.That(settings.ConnectionString, Is.EqualTo(Store.Settings.TryGetValue("ConnectionStrings:CafConnect", out var cs) && cs is not null
                ? cs
                : $"Data Source={Path.Combine(Store.Settings["Storage:DataDirectory"]!, "cafconnect.db")}"));
            Assert.That(CafConnect.Infrastructure.Verification.MeteredVerificationCodeStore.Unwrap(codes).GetType().Name, Does.StartWith(Kind == StoreKind.Sqlite ? "InMemory" : "Redis"));
            Assert.That(scope.ServiceProvider.GetRequiredService<Argon2idOptions>().MemoryKiB, Is.EqualTo(8192), "test overrides reach the host");
        });
    }
}
