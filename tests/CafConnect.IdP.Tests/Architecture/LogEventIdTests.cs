using System.Reflection;
using Microsoft.Extensions.Logging;

namespace CafConnect.IdP.Tests.Architecture;

/// <summary>Every log line of CafConnect has its own event id: operators alert and filter on them (docs/operations.md).</summary>
public sealed class LogEventIdTests
{
    [Test]
    public void No_two_log_messages_share_an_event_id()
    {
        var assemblies = new[] { typeof(Program).Assembly, typeof(CafConnect.Infrastructure.Persistence.CafConnectDbContext).Assembly, typeof(CafConnect.Application.ApplicationRegistration).Assembly };
        var messages = assemblies
            .SelectMany(assembly => assembly.GetTypes())
            .SelectMany(type => type.GetMethods(BindingFlags.Static | BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
            .Select(method => (Method: method, Attribute: method.GetCustomAttribute<LoggerMessageAttribute>()))
            .Where(m => m.Attribute is not null && m.Attribute.EventId != 0)
            .ToList();
        Assert.That(messages, Is.Not.Empty);
        var shared = messages.GroupBy(m => m.Attribute!.EventId)
            .Where(group => group.Count() > 1)
            .Select(group => $"{group.Key}: {string.Join(", ", group.Select(m => $"{m.Method.DeclaringType!.Name}.{m.Method.Name}"))}")
            .ToList();
        Assert.That(shared, Is.Empty);
    }
}
