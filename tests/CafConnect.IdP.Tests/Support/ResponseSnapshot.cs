using System.Net;
using System.Text;
using System.Text.RegularExpressions;

namespace CafConnect.IdP.Tests.Support;

/// <summary>
/// A whole HTTP answer as a visitor sees it, with only what differs by construction normalised: status, the full
/// <c>Location</c> (flow ids → <c>FLOW</c>), every header (the <c>Date</c> aside), every cookie set (name and attributes;
/// values → <c>VALUE</c>), and the body (anti-forgery tokens → <c>TOKEN</c>, flow ids → <c>FLOW</c>). Two snapshots are
/// equal when nothing but randomness distinguishes the answers: the tests of "identical answers" compare these, so
/// a difference in a query parameter, a header or a cookie fails them, not only a different path or page.
/// <c>Content-Length</c> is left out because the body itself is compared (a normalised token may differ in length).
/// </summary>
public static partial class ResponseSnapshot
{
    private static readonly HashSet<string> Ignored = new(StringComparer.OrdinalIgnoreCase) { "Date", "Content-Length" };

    public static async Task<string> OfAsync(HttpResponseMessage response)
    {
        var text = new StringBuilder();
        text.Append("status: ").Append((int)response.StatusCode).Append('\n');
        var headers = response.Headers.Concat(response.Content.Headers)
            .Where(h => !Ignored.Contains(h.Key))
            .SelectMany(h => h.Value.Select(v => (Name: h.Key.ToLowerInvariant(), Value: Normalise(h.Key, v))))
            .OrderBy(h => h.Name, StringComparer.Ordinal).ThenBy(h => h.Value, StringComparer.Ordinal);
        foreach (var (name, value) in headers)
        {
            text.Append(name).Append(": ").Append(value).Append('\n');
        }
        text.Append('\n').Append(NormaliseBody(await response.Content.ReadAsStringAsync()));
        return text.ToString();
    }

    private static string Normalise(string header, string value) => header.ToLowerInvariant() switch
    {
        "set-cookie" => CookieValue().Replace(value, "$1=VALUE", 1),
        "location" => FlowId().Replace(value, "flow=FLOW"),
        _ => value,
    };

    public static string NormaliseBody(string html) =>
        FlowId().Replace(Token().Replace(html, "value=\"TOKEN\""), "flow=FLOW");

    [GeneratedRegex("^([^=;]+)=[^;]*")]
    private static partial Regex CookieValue();

    [GeneratedRegex("value=\"CfDJ8[^\"]+\"")]
    private static partial Regex Token();

    [GeneratedRegex("flow=[A-Za-z0-9_%-]+")]
    private static partial Regex FlowId();

    /// <summary>Asserts every snapshot equals the first, naming the first branch that differs and showing both answers.</summary>
    public static void AssertAllEqual(string step, IReadOnlyList<(string Branch, string Snapshot)> answers)
    {
        var (firstBranch, first) = answers[0];
        foreach (var (branch, snapshot) in answers.Skip(1))
        {
            Assert.That(snapshot, Is.EqualTo(first), $"{step}: « {branch} » answers differently from « {firstBranch} »");
        }
    }
}
