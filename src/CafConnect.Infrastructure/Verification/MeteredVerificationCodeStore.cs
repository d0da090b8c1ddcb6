using CafConnect.Infrastructure.Observability;

namespace CafConnect.Infrastructure.Verification;

/// <summary>Counts codes sent and checked (by channel and result) around the store that holds them; decides nothing.</summary>
public sealed class MeteredVerificationCodeStore(IVerificationCodeStore inner, CafConnectMetrics metrics) : IVerificationCodeStore
{
    /// <summary>The store that holds the codes (Redis or memory).</summary>
    public IVerificationCodeStore Inner => inner;

    /// <summary><paramref name="store"/> without the metering around it.</summary>
    public static IVerificationCodeStore Unwrap(IVerificationCodeStore store) => store is MeteredVerificationCodeStore metered ? metered.Inner : store;

    public async Task<CodeIssue> IssueAsync(string flowId, ContactChannel channel, string contact, CancellationToken cancellationToken = default)
    {
        var issue = await inner.IssueAsync(flowId, channel, contact, cancellationToken);
        if (issue.Issued)
        {
            metrics.CodeSent(ChannelName(channel));
        }
        return issue;
    }

    public async Task<CodeCheckResult> CheckAsync(string flowId, ContactChannel channel, string contact, string? submittedCode, CancellationToken cancellationToken = default)
    {
        var result = await inner.CheckAsync(flowId, channel, contact, submittedCode, cancellationToken);
        metrics.CodeChecked(ChannelName(channel), result.Outcome switch
        {
            CodeCheck.Verified => "verified",
            CodeCheck.Wrong => "wrong",
            CodeCheck.Expired => "expired",
            _ => "exhausted",
        });
        return result;
    }

    private static string ChannelName(ContactChannel channel) => channel == ContactChannel.Sms ? "sms" : "email";
}
