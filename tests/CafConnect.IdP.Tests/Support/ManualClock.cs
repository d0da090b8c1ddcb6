using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;

namespace CafConnect.IdP.Tests.Support;

/// <summary>
/// The host's clock, moved by the test: <see cref="GetUtcNow"/> stands still until <see cref="Advance"/>, while timers
/// and timestamps stay real (the outbox dispatcher keeps polling). Register it with
/// <c>services.AddSingleton&lt;TimeProvider&gt;(clock)</c> in a <see cref="CafConnectFactory"/>'s configureServices.
/// </summary>
public sealed class ManualClock : TimeProvider
{
    private readonly Lock _gate = new();
    // Whole milliseconds, as Redis keeps them.
    private DateTimeOffset _now = DateTimeOffset.FromUnixTimeMilliseconds(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());

    public override DateTimeOffset GetUtcNow()
    {
        lock (_gate)
        {
            return _now;
        }
    }

    public void Advance(TimeSpan span)
    {
        lock (_gate)
        {
            _now += span;
        }
    }
}

/// <summary>
/// Lets a test choose the client IP the host sees (the test server has none): the <see cref="Header"/> request header
/// becomes <c>HttpContext.Connection.RemoteIpAddress</c>, before the host's own pipeline.
/// </summary>
public sealed class TestClientIp : IStartupFilter
{
    public const string Header = "X-Test-Client-IP";

    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        app.Use((context, nextMiddleware) =>
        {
            if (context.Request.Headers.TryGetValue(Header, out var value) && IPAddress.TryParse(value.ToString(), out var address))
            {
                context.Connection.RemoteIpAddress = address;
            }
            return nextMiddleware(context);
        });
        next(app);
    };
}
