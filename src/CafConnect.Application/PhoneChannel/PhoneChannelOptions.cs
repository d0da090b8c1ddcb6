using CafConnect.Infrastructure.Throttling;
using Microsoft.Extensions.Configuration;

namespace CafConnect.Application.PhoneChannel;

/// <summary>
/// Section <c>PhoneChannel</c>: the failure budget of a voice server (an authenticated confidential client holding the
/// phone grant). Its one IP carries every caller's mistakes, so the per-IP budget of browsers
/// (<c>Throttling:IpMaxFailures</c>, 30 in 10 minutes) would let a few dozen wrong codes from all callers block the
/// whole phone channel. Instead it gets a budget of its own, sized for a call centre; the per-file lock still applies
/// (docs/security.md, docs/decisions.md #13).
/// </summary>
public sealed class PhoneChannelOptions
{
    /// <summary>Failures (wrong codes, unknown files) one voice-server client may present within <see cref="ClientWindow"/>.</summary>
    public int ClientBudget { get; set; } = 300;

    public TimeSpan ClientWindow { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>How long the client's attempts are refused once its budget is spent (every phone caller waits with it).</summary>
    public TimeSpan ClientBlockDuration { get; set; } = TimeSpan.FromMinutes(5);

    public SourceBudget Budget => new(ClientBudget, ClientWindow, ClientBlockDuration);

    /// <summary>
    /// The day the file's shared 8-digit code stops working on the phone channel (issue 16, item 8; docs/decisions.md #25):
    /// from this instant the grant answers <c>invalid_grant</c> with <c>cafconnect_error=legacy_code_retired</c> to a
    /// file number and code, and no new shared code is issued (forgotten code, separation, mutation). Until then it keeps
    /// working, with only the rights every adult of the file has. Null (the default): not retired yet.
    /// </summary>
    public DateTimeOffset? LegacyCodeUntil { get; set; }

    /// <summary>Whether the shared file code is retired at <paramref name="now"/>.</summary>
    public bool LegacyCodeRetired(DateTimeOffset now) => LegacyCodeUntil is { } until && now >= until;

    /// <summary>New shared codes one file may receive by SMS in a day through « code confidentiel oublié »; a letter goes at most once a day.</summary>
    public int FileCodeRequestsPerDay { get; set; } = 3;

    /// <summary>Binds the section and refuses nonsense at start-up rather than at the first call.</summary>
    public static PhoneChannelOptions FromConfiguration(IConfiguration configuration)
    {
        var options = configuration.GetSection("PhoneChannel").Get<PhoneChannelOptions>() ?? new PhoneChannelOptions();
        if (options.ClientBudget < 1 || options.ClientWindow <= TimeSpan.Zero || options.ClientBlockDuration <= TimeSpan.Zero || options.FileCodeRequestsPerDay < 1)
        {
            throw new InvalidOperationException(
                "PhoneChannel:ClientBudget and PhoneChannel:FileCodeRequestsPerDay must be at least 1 and PhoneChannel:ClientWindow and PhoneChannel:ClientBlockDuration must be positive durations.");
        }
        return options;
    }
}
