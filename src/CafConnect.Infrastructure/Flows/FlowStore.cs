using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using CafConnect.Infrastructure.Persistence;
using Microsoft.EntityFrameworkCore;

namespace CafConnect.Infrastructure.Flows;

public enum FlowLookup
{
    Found,
    /// <summary>Unknown id, or started in another browser: the same answer, so ids cannot be probed.</summary>
    NotFound,
    Expired,
    /// <summary>Already completed or quit.</summary>
    Closed,
}

/// <summary>Creates, loads and saves flows. Typed context in, typed context out; the row stores JSON.</summary>
public sealed class FlowStore(CafConnectDbContext db, TimeProvider clock)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>
    /// A new flow, added to the request's unit of work: stored when the step that starts it commits (with the rest of
    /// what that step changed), never on its own.
    /// </summary>
    public SelfServiceFlow Add<TContext>(string type, string state, Guid? personId, string? clientId, string returnUrl,
        TimeSpan lifetime, string browserSecret, TContext context)
    {
        var now = clock.GetUtcNow();
        var flow = new SelfServiceFlow
        {
            Id = Convert.ToBase64String(RandomNumberGenerator.GetBytes(24)).Replace('+', '-').Replace('/', '_'),
            Type = type,
            State = state,
            PersonId = personId,
            ClientId = clientId,
            ReturnUrl = returnUrl,
            BrowserBinding = Hash(browserSecret),
            IssuedAt = now,
            ExpiresAt = now + lifetime,
            Context = JsonSerializer.Serialize(context, Json),
        };
        db.Flows.Add(flow);
        return flow;
    }

    public async Task<(FlowLookup Lookup, SelfServiceFlow? Flow)> FindAsync(string? id, string type, string? browserSecret, CancellationToken cancellationToken = default)
    {
        if (string.IsNullOrEmpty(id) || id.Length > 64 || string.IsNullOrEmpty(browserSecret))
        {
            return (FlowLookup.NotFound, null);
        }
        var flow = await db.Flows.FirstOrDefaultAsync(f => f.Id == id && f.Type == type, cancellationToken);
        if (flow is null || !CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(flow.BrowserBinding), Encoding.ASCII.GetBytes(Hash(browserSecret))))
        {
            return (FlowLookup.NotFound, null);
        }
        if (flow.CompletedAt is not null || flow.VoidedAt is not null)
        {
            return (FlowLookup.Closed, flow);
        }
        return clock.GetUtcNow() >= flow.ExpiresAt ? (FlowLookup.Expired, flow) : (FlowLookup.Found, flow);
    }

    public static TContext ReadContext<TContext>(SelfServiceFlow flow) where TContext : new() =>
        JsonSerializer.Deserialize<TContext>(flow.Context, Json) ?? new TContext();

    public static void WriteContext<TContext>(SelfServiceFlow flow, TContext context) =>
        flow.Context = JsonSerializer.Serialize(context, Json);

    /// <summary>
    /// Marks the flow changed (a new concurrency stamp): the step's commit then fails if another request changed the same
    /// flow since it was loaded (a form sent twice, two tabs). Commits nothing: the step commits once, at its end.
    /// </summary>
    public static void MarkChanged(SelfServiceFlow flow) => flow.ConcurrencyStamp = Guid.NewGuid();

    /// <summary>The journey ended (its last step); stored with that step's commit.</summary>
    public void Complete(SelfServiceFlow flow)
    {
        flow.CompletedAt = clock.GetUtcNow();
        MarkChanged(flow);
    }

    /// <summary>« Quitter »: the flow can no longer be used; stored with that step's commit.</summary>
    public void Void(SelfServiceFlow flow)
    {
        flow.VoidedAt = clock.GetUtcNow();
        MarkChanged(flow);
    }

    private static string Hash(string value) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(value)));
}
