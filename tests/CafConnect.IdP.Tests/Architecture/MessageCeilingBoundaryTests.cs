using System.Text.RegularExpressions;
using CafConnect.Application.RateLimiting;
using CafConnect.Infrastructure.Notifications;

namespace CafConnect.IdP.Tests.Architecture;

/// <summary>
/// No journey sends a message others can trigger without the one ceiling (docs/decisions.md #31): every place in
/// <c>src/</c> that queues a message of a <see cref="MessageClass.Capped"/> kind also counts it through
/// <see cref="MessageCap"/>, or is listed here with the reason it need not.
/// </summary>
public sealed partial class MessageCeilingBoundaryTests
{
    /// <summary>Senders of capped kinds that do not count themselves, each with why.</summary>
    private static readonly Dictionary<string, string> Allowed = new(StringComparer.Ordinal)
    {
        // Issues the file's shared phone code: its self-service caller (ForgottenFileCode) counts before calling it;
        // its other callers are the agency's file events (separation, transfer).
        ["src/CafConnect.Application/PhoneChannel/FileCodeIssuer.cs"] = "counted by ForgottenFileCode; otherwise agency-initiated",
    };

    [Test]
    public void Every_sender_of_a_capped_kind_of_message_goes_through_the_ceiling()
    {
        var root = RepositoryRoot();
        var capped = Enum.GetValues<NotificationKind>().Where(k => MessageCap.Classify(k) == MessageClass.Capped).Select(k => k.ToString()).ToHashSet();
        var offenders = new List<string>();
        var senders = new List<string>();
        foreach (var file in Directory.EnumerateFiles(Path.Combine(root, "src"), "*.cs", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(root, file).Replace('\\', '/');
            if (relative.Contains("/bin/") || relative.Contains("/obj/"))
            {
                continue;
            }
            var text = File.ReadAllText(file);
            var kinds = Sent().Matches(text).Select(m => m.Groups["kind"].Value).Where(capped.Contains).Distinct().ToList();
            if (kinds.Count == 0)
            {
                continue;
            }
            senders.Add(relative);
            if (!text.Contains("messageCap.CountAsync(", StringComparison.Ordinal) && !Allowed.ContainsKey(relative))
            {
                offenders.Add($"{relative}: {string.Join(", ", kinds)}");
            }
        }
        Assert.That(senders, Has.Count.GreaterThanOrEqualTo(4), "the scan finds the code step, the reminder, the invitations and the file code");
        Assert.That(offenders, Is.Empty, "queue these messages only after MessageCap.CountAsync (docs/decisions.md #31)");
    }

    [GeneratedRegex(@"(?:new\s+NotificationRequest\(\s*|EnqueueToVerifiedContact\([^,]+,\s*)NotificationKind\.(?<kind>\w+)")]
    private static partial Regex Sent();

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "CafConnect.IdP.sln")))
            {
                return directory.FullName;
            }
        }
        throw new InvalidOperationException("CafConnect.IdP.sln not found above " + AppContext.BaseDirectory);
    }
}
