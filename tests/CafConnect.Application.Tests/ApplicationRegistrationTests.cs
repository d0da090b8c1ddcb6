using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace CafConnect.Application.Tests;

public sealed class ApplicationRegistrationTests
{
    [Test]
    public void Registration_returns_the_same_collection_for_chaining()
    {
        var services = new ServiceCollection();
        var configuration = new ConfigurationBuilder().Build();
        Assert.That(services.AddCafConnectApplication(configuration), Is.SameAs(services));
    }
}
