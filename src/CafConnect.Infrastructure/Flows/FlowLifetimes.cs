namespace CafConnect.Infrastructure.Flows;

/// <summary>
/// How long each multi-step journey's server-side flow lives. One place, read by the journeys that create the flows,
/// by what must not outlive them (the FranceConnect logout hint a first-login flow keeps) and by the « Données
/// personnelles » page that tells people how long a journey in progress is kept.
/// </summary>
public static class FlowLifetimes
{
    public static readonly TimeSpan FirstLogin = TimeSpan.FromMinutes(30);
    public static readonly TimeSpan Recovery = TimeSpan.FromMinutes(30);
    public static readonly TimeSpan AccountCreation = TimeSpan.FromMinutes(30);
    public static readonly TimeSpan ProvisionalIdReminder = TimeSpan.FromMinutes(30);

    /// <summary>The longest a journey in progress (first login, recovery, account creation, provisional-id reminder) lasts.</summary>
    public static TimeSpan LongestJourney { get; } = new[] { FirstLogin, Recovery, AccountCreation, ProvisionalIdReminder }.Max();
}
