using CafConnect.Application.Credentials;
using CafConnect.Application.Persistence;
using CafConnect.Application.Tests.CodeStep;
using CafConnect.Domain.Accounts;
using CafConnect.Infrastructure.Notifications;
using CafConnect.Infrastructure.Persistence;
using CafConnect.Infrastructure.Tests.Support;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace CafConnect.Application.Tests.Credentials;

/// <summary>
/// A provisional password (recovery without a contact, an agent's request, a separation, an applicant) goes where the
/// contact-proof rule says — by SMS to the mobile the records hold, else by letter — and waits for the caller's one
/// commit; without HTTP, on both stores.
/// </summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
public sealed class CredentialResetTests(StoreKind kind)
{
    private CodeStepHarness _harness = null!;

    [SetUp]
    public async Task Start() => _harness = await CodeStepHarness.StartAsync(kind);

    [TearDown]
    public async Task Stop()
    {
        if (_harness is not null)
        {
            await _harness.DisposeAsync();
        }
    }

    private async Task<(ProvisionalPasswordDelivery Delivery, List<OutboxMessage> Before, List<OutboxMessage> After)> IssueAsync(string? mobile, bool verified)
    {
        var person = await _harness.AddPersonAsync();
        await using (var setup = _harness.Services.CreateAsyncScope())
        {
            var db = setup.ServiceProvider.GetRequiredService<CafConnectDbContext>();
            var stored = await db.Persons.SingleAsync(p => p.Id == person.Id);
            (stored.MobilePhone, stored.MobilePhoneVerified) = (mobile, verified);
            await db.SaveChangesAsync();
        }
        await using var scope = _harness.Services.CreateAsyncScope();
        var context = scope.ServiceProvider.GetRequiredService<CafConnectDbContext>();
        var loaded = await context.Persons.SingleAsync(p => p.Id == person.Id);
        var delivery = await scope.ServiceProvider.GetRequiredService<CredentialReset>().IssueProvisionalPasswordAsync(loaded, "test:" + Guid.NewGuid().ToString("N"), CancellationToken.None);
        var before = await OutboxOfAsync(person.Id);
        await scope.ServiceProvider.GetRequiredService<IUnitOfWork>().CommitAsync();
        return (delivery, before, await OutboxOfAsync(person.Id));
    }

    private async Task<List<OutboxMessage>> OutboxOfAsync(Guid personId)
    {
        await using var scope = _harness.Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<CafConnectDbContext>().OutboxMessages.AsNoTracking()
            .Where(m => m.PersonId == personId && m.Kind == NotificationKind.ProvisionalPassword).ToListAsync();
    }

    [TestCase(true)]
    [TestCase(false)]
    public async Task By_SMS_to_the_mobile_the_records_hold_verified_or_not_once_the_caller_commits(bool verified)
    {
        var (delivery, before, after) = await IssueAsync("06 15 00 99 01", verified);
        Assert.Multiple(() =>
        {
            Assert.That(delivery.Channel, Is.EqualTo(NotificationChannel.Sms));
            Assert.That(before, Is.Empty, "nothing is stored before the caller's commit");
            Assert.That(after.Select(m => (m.Channel, m.Recipient)), Is.EqualTo(new[] { (NotificationChannel.Sms, "+33615009901") }));
        });
    }

    [Test]
    public async Task By_letter_when_the_records_hold_no_mobile()
    {
        var (delivery, _, after) = await IssueAsync(null, false);
        Assert.That(delivery.Channel, Is.EqualTo(NotificationChannel.Letter));
        Assert.That(after.Select(m => m.Channel), Is.EqualTo(new[] { NotificationChannel.Letter }));
    }
}
