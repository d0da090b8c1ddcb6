using System.Diagnostics;
using CafConnect.IdP.Sessions;
using CafConnect.Infrastructure.Observability;
using CafConnect.Infrastructure.Verification;
using OpenIddict.Server;
using OpenTelemetry;
using OpenTelemetry.Context.Propagation;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace CafConnect.IdP.Operations;

/// <summary><c>Telemetry:*</c>. Both exporters are off by default.</summary>
public sealed class TelemetryOptions
{
    /// <summary><c>Telemetry:Otlp:Enabled</c>; the endpoint is <c>Telemetry:Otlp:Endpoint</c> or the standard <c>OTEL_EXPORTER_OTLP_ENDPOINT</c>.</summary>
    public bool OtlpEnabled { get; init; }
    public string? OtlpEndpoint { get; init; }

    /// <summary><c>Telemetry:Prometheus:Enabled</c>: a scrape endpoint on its own listener, never on the public port.</summary>
    public bool PrometheusEnabled { get; init; }

    /// <summary><c>Telemetry:Prometheus:Host</c> / <c>:Port</c>: the listener's own address (restrict it to the monitoring network).</summary>
    public string PrometheusHost { get; init; } = "*";
    public int PrometheusPort { get; init; } = 9464;

    public static TelemetryOptions Read(IConfiguration configuration) => new()
    {
        OtlpEnabled = configuration.GetValue("Telemetry:Otlp:Enabled", false),
        OtlpEndpoint = configuration["Telemetry:Otlp:Endpoint"],
        PrometheusEnabled = configuration.GetValue("Telemetry:Prometheus:Enabled", false),
        PrometheusHost = configuration["Telemetry:Prometheus:Host"] is { Length: > 0 } host ? host : "*",
        PrometheusPort = configuration.GetValue("Telemetry:Prometheus:Port", 9464),
    };
}

/// <summary>
/// OpenTelemetry: traces (ASP.NET Core; with OTLP on, also HttpClient, EF Core, StackExchange.Redis) and metrics (<see cref="CafConnectMetrics"/>,
/// ASP.NET Core, HttpClient). The trace id of a request is the audit trail's correlation id
/// (<see cref="HttpAuditContextAccessor"/>): an audit row leads to its trace and back. Incoming <c>traceparent</c> headers
/// are ignored: the provider faces the internet, and a caller must not choose the correlation id of its own audit rows.
/// </summary>
public static class Telemetry
{
    public const string ServiceName = "cafconnect-idp";

    public static void AddCafConnectTelemetry(this IServiceCollection services, IConfiguration configuration)
    {
        var options = TelemetryOptions.Read(configuration);
        var redis = !string.IsNullOrWhiteSpace(configuration[VerificationRegistration.RedisConfigurationKey]);

        // A new trace for every request from outside (see above); outgoing calls still carry ours.
        services.AddSingleton<DistributedContextPropagator>(new OutgoingOnlyPropagator());
        Sdk.SetDefaultTextMapPropagator(new TraceContextPropagator());

        services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(ServiceName, serviceInstanceId: Environment.MachineName))
            .WithTracing(tracing =>
            {
                // Always: the request's activity carries the trace id that is the audit rows' correlation id.
                tracing.AddAspNetCoreInstrumentation(o => o.Filter = http => !HealthEndpoints.IsHealth(http.Request.Path));
                if (options.OtlpEnabled)
                {
                    // The child spans exist only to be exported: without an exporter they cost every request CPU
                    // (an activity and its tags per SQL command, Redis call and outgoing call) and go nowhere.
                    tracing.AddHttpClientInstrumentation()
                        // Statement text only (EF Core parameterises every value); never parameters.
                        .AddEntityFrameworkCoreInstrumentation();
                    if (redis)
                    {
                        tracing.AddRedisInstrumentation();
                    }
                    tracing.AddOtlpExporter(o => SetEndpoint(o, options));
                }
            })
            .WithMetrics(metrics =>
            {
                metrics.AddMeter(CafConnectMetrics.MeterName)
                    .AddAspNetCoreInstrumentation()
                    .AddHttpClientInstrumentation();
                if (options.OtlpEnabled)
                {
                    metrics.AddOtlpExporter(o => SetEndpoint(o, options));
                }
                if (options.PrometheusEnabled)
                {
                    metrics.AddPrometheusHttpListener(o =>
                    {
                        o.Host = options.PrometheusHost;
                        o.Port = options.PrometheusPort;
                    });
                }
            });
        services.AddSingleton<GrantMetricsHandler>();
    }

    private static void SetEndpoint(OpenTelemetry.Exporter.OtlpExporterOptions exporter, TelemetryOptions options)
    {
        if (options.OtlpEndpoint is { Length: > 0 } endpoint)
        {
            exporter.Endpoint = new Uri(endpoint, UriKind.Absolute);
        }
    }

    /// <summary>Extracts nothing from incoming requests; injects the W3C headers into outgoing ones.</summary>
    private sealed class OutgoingOnlyPropagator : DistributedContextPropagator
    {
        private readonly DistributedContextPropagator _outgoing = CreateDefaultPropagator();

        public override IReadOnlyCollection<string> Fields => _outgoing.Fields;

        public override void Inject(Activity? activity, object? carrier, PropagatorSetterCallback? setter) => _outgoing.Inject(activity, carrier, setter);

        public override void ExtractTraceIdAndState(object? carrier, PropagatorGetterCallback? getter, out string? traceId, out string? traceState)
        {
            traceId = null;
            traceState = null;
        }

        public override IEnumerable<KeyValuePair<string, string?>>? ExtractBaggage(object? carrier, PropagatorGetterCallback? getter) => null;
    }
}

/// <summary>
/// Counts every answer of the token endpoint (issued, or the OAuth error), by grant type, channel and client: OpenIddict's
/// one place where every grant ends, whichever handler decided.
/// </summary>
public sealed class GrantMetricsHandler(CafConnectMetrics metrics) : IOpenIddictServerHandler<OpenIddictServerEvents.ApplyTokenResponseContext>
{
    public static OpenIddictServerHandlerDescriptor Descriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<OpenIddictServerEvents.ApplyTokenResponseContext>()
        .UseSingletonHandler<GrantMetricsHandler>()
        .SetOrder(int.MinValue + 100_000)
        .SetType(OpenIddictServerHandlerType.Custom)
        .Build();

    public ValueTask HandleAsync(OpenIddictServerEvents.ApplyTokenResponseContext context)
    {
        var http = Microsoft.AspNetCore.OpenIddictServerAspNetCoreHelpers.GetHttpRequest(context.Transaction)?.HttpContext;
        var channel = http?.Items[HttpAuditContextAccessor.ChannelItem] as string ?? "web";
        metrics.GrantAnswered(context.Request?.GrantType, context.Response.Error, channel, context.Request?.ClientId);
        return default;
    }
}
