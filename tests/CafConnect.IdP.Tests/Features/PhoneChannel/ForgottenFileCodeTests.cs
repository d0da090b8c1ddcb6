using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using CafConnect.Application.Clients;
using CafConnect.IdP.Demo;
using CafConnect.IdP.Tests.Features.FirstLogin;
using CafConnect.IdP.Tests.Features.Recovery;
using CafConnect.IdP.Tests.Support;
using CafConnect.Infrastructure.Audit;
using CafConnect.Infrastructure.Notifications;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace CafConnect.IdP.Tests.Features.PhoneChannel;

/// <summary>
/// Issue 16, item 9: « code confidentiel oublié » asked by the voice server — a new file code by SMS to the holder's own
/// mobile, else by letter; the same answer whatever the file; throttled; the old code working until the new one is used.
/// </summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
public sealed partial class ForgottenFileCodeTests(StoreKind kind)
{
    private const string Path = "/connect/phone/forgotten-code";
    private const string MartinFile = "0412345";

    /// <summary>« Code confidentiel oublié » as the voice server — or <paramref name="client"/> — asks it for a file.</summary>
    internal static async Task<HttpResponseMessage> AskAsync(JourneyHost host, string? fileNumber, TestClient? client = null)
    {
        client ??= LegacyCodeGrantTests.VoiceServer;
        using var request = new HttpRequestMessage(HttpMethod.Post, Path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic",
            Convert.ToBase64String(Encoding.UTF8.GetBytes($"{Uri.EscapeDataString(client.ClientId)}:{Uri.EscapeDataString(client.Secret ?? string.Empty)}")));
        var form = new Dictionary<string, string>();
        if (fileNumber is not null) form["file_number"] = fileNumber;
        request.Content = new FormUrlEncodedContent(form);
        return await host.Host.CreateBrowser().SendAsync(request);
    }

    private static Task<HttpResponseMessage> FileCodeGrantAsync(JourneyHost host, string fileNumber, string code) =>
        LegacyCodeGrantTests.RequestPhoneGrantAsync(host.Host.CreateBrowser(), new Dictionary<string, string> { ["file_number"] = fileNumber, ["legacy_code"] = code });

    [GeneratedRegex(@"\b(\d{8})\b")]
    private static partial Regex EightDigits();

    [Test]
    public async Task The_new_code_goes_by_SMS_to_the_holders_mobile_and_the_old_code_works_until_the_new_one_is_first_used()
    {
        await using var host = HostStore.Start(kind);
        var answer = await AskAsync(host, MartinFile);
        Assert.That(answer.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), await answer.Content.ReadAsStringAsync());

        // Paul MARTIN, the holder: his mobile is on record (verified in the demo data).
        var sms = await host.Sms.WaitForAsync(DemoData.PaulMartin.Mobile!);
        Assert.That(sms.Text, Does.Contain("nouveau code confidentiel").And.Contain(MartinFile));
        var newCode = EightDigits().Match(sms.Text).Groups[1].Value;
        Assert.That(newCode, Has.Length.EqualTo(8).And.Not.EqualTo(DemoData.MartinLegacyCode));

        Assert.That((await FileCodeGrantAsync(host, MartinFile, DemoData.MartinLegacyCode)).StatusCode, Is.EqualTo(HttpStatusCode.OK),
            "asking for a code (anyone may, knowing a file number) never locks the household out");
        Assert.That((await FileCodeGrantAsync(host, MartinFile, newCode)).StatusCode, Is.EqualTo(HttpStatusCode.OK), "the new code works");
        Assert.That(await (await FileCodeGrantAsync(host, MartinFile, DemoData.MartinLegacyCode)).Content.ReadAsStringAsync(), Does.Contain("invalid_grant"),
            "once the new code is used, the old one is void");

        var audit = await host.QueryAsync(db => db.AuditEvents.Where(e => e.Type == AuditEventTypes.LegacyCodeRequested || e.Type == AuditEventTypes.LegacyCodeIssued).OrderBy(e => e.Id).ToListAsync());
        Assert.That(audit.Select(e => (e.Type, e.Outcome)), Is.EqualTo(new[]
        {
            (AuditEventTypes.LegacyCodeIssued, (string?)"oubli"),
            (AuditEventTypes.LegacyCodeRequested, (string?)"sent"),
            (AuditEventTypes.LegacyCodeIssued, (string?)"pending_used"),
        }));
        Assert.That(audit.Select(e => e.Details), Has.None.Contain(newCode), "never the code in the audit trail");
    }

    [Test]
    public async Task Without_a_mobile_of_the_holders_own_the_new_code_goes_by_letter_once_a_day()
    {
        await using var host = HostStore.Start(kind);
        var paul = await host.QueryAsync(async db =>
        {
            var person = await db.Persons.SingleAsync(p => p.Nir == DemoData.PaulMartin.Nir);
            person.MobilePhone = null;
            person.MobilePhoneVerified = false;
            await db.SaveChangesAsync();
            return person.Id;
        });
        Assert.That((await AskAsync(host, MartinFile)).StatusCode, Is.EqualTo(HttpStatusCode.Accepted));
        Assert.That((await AskAsync(host, MartinFile)).StatusCode, Is.EqualTo(HttpStatusCode.Accepted));

        var letters = (await host.OutboxOfAsync(paul)).Where(m => m.Kind == NotificationKind.FileCodeIssued).ToList();
        Assert.That(letters.Select(m => m.Channel), Is.EqualTo(new[] { NotificationChannel.Letter }), "a letter, and only one a day");
        Assert.That(await host.QueryAsync(db => db.AuditEvents.Where(e => e.Type == AuditEventTypes.LegacyCodeRequested).Select(e => e.Outcome).ToListAsync()),
            Is.EquivalentTo(new[] { "sent", "throttled" }));
    }

    /// <summary>The attack: asking for a new code of a file that is not yours, or of no file, tells nothing.</summary>
    [Test]
    public async Task Unknown_file_a_file_of_someone_else_and_a_throttled_file_get_the_same_whole_answer()
    {
        await using var host = HostStore.Start(kind);
        var answers = new List<(string Branch, string Snapshot)>
        {
            ("dossier existant", await ResponseSnapshot.OfAsync(await AskAsync(host, MartinFile))),
            ("dossier inconnu", await ResponseSnapshot.OfAsync(await AskAsync(host, "9999992"))),
            ("dossier sans code", await ResponseSnapshot.OfAsync(await AskAsync(host, "0260311"))),
        };
        for (var i = 0; i < 3; i++)
        {
            await AskAsync(host, MartinFile);
        }
        answers.Add(("limite atteinte", await ResponseSnapshot.OfAsync(await AskAsync(host, MartinFile))));
        ResponseSnapshot.AssertAllEqual("forgotten file code", answers);
        Assert.That(answers[0].Snapshot, Does.StartWith("status: 202\n"));

        // The code went to the holder only, never to the caller; 3 a day at most.
        var paul = await host.QueryAsync(db => db.Persons.Where(p => p.Nir == DemoData.PaulMartin.Nir).Select(p => p.Id).SingleAsync());
        Assert.That((await host.OutboxOfAsync(paul)).Count(m => m.Kind == NotificationKind.FileCodeIssued), Is.EqualTo(3));
        var outcomes = await host.QueryAsync(db => db.AuditEvents.Where(e => e.Type == AuditEventTypes.LegacyCodeRequested).Select(e => e.Outcome).ToListAsync());
        Assert.That(outcomes, Does.Contain("unknown_file").And.Contain("throttled"));
    }

    [Test]
    public async Task Only_the_voice_server_may_ask_and_a_malformed_file_number_is_invalid_request()
    {
        await using var host = HostStore.Start(kind);
        var relyingParty = await AskAsync(host, MartinFile, TestClient.CafFr);
        var wrongSecret = await AskAsync(host, MartinFile, LegacyCodeGrantTests.VoiceServer with { Secret = "pas-le-bon-secret-du-serveur-vocal" });
        Assert.Multiple(async () =>
        {
            Assert.That(relyingParty.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized), "caf-fr is not registered for the phone grant");
            Assert.That(JsonDocument.Parse(await relyingParty.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString(), Is.EqualTo("invalid_client"));
            Assert.That(wrongSecret.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
            Assert.That((await AskAsync(host, "412345")).StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
            Assert.That((await AskAsync(host, null)).StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        });
        var paul = await host.QueryAsync(db => db.Persons.Where(p => p.Nir == DemoData.PaulMartin.Nir).Select(p => p.Id).SingleAsync());
        Assert.That((await host.OutboxOfAsync(paul)).Where(m => m.Kind == NotificationKind.FileCodeIssued), Is.Empty);
    }

    /// <summary>
    /// A disabled client is refused at every endpoint of OpenIddict (its endpoint permissions are taken away, its grants
    /// kept on record): here too, although this endpoint is not OpenIddict's.
    /// </summary>
    [Test]
    public async Task A_disabled_voice_server_may_no_longer_ask_and_an_enabled_one_may_authenticate_in_the_body()
    {
        await using var host = HostStore.Start(kind);
        using var form = new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["client_id"] = LegacyCodeGrantTests.VoiceServer.ClientId, ["client_secret"] = LegacyCodeGrantTests.VoiceServer.Secret!, ["file_number"] = MartinFile,
        });
        Assert.That((await host.Host.CreateBrowser().PostAsync(Path, form)).StatusCode, Is.EqualTo(HttpStatusCode.Accepted), "client_secret_post");

        using (var scope = host.Host.Services.CreateScope())
        {
            var disabled = await scope.ServiceProvider.GetRequiredService<ClientRegistrations>().DisableAsync(LegacyCodeGrantTests.VoiceServer.ClientId, CancellationToken.None);
            Assert.That(disabled.Status, Is.EqualTo(ClientChangeStatus.Applied));
        }
        var refused = await AskAsync(host, MartinFile);
        Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That(JsonDocument.Parse(await refused.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString(), Is.EqualTo("invalid_client"));
        Assert.That(await host.QueryAsync(db => db.AuditEvents.CountAsync(e => e.Type == AuditEventTypes.LegacyCodeRequested)), Is.EqualTo(1),
            "only the request made before the client was disabled");
    }

    [Test]
    public async Task After_LegacyCodeUntil_no_new_file_code_is_sent()
    {
        await using var host = HostStore.Start(kind, new Dictionary<string, string?> { ["PhoneChannel:LegacyCodeUntil"] = "2020-01-01T00:00:00Z" });
        Assert.That((await AskAsync(host, MartinFile)).StatusCode, Is.EqualTo(HttpStatusCode.Accepted));
        var paul = await host.QueryAsync(db => db.Persons.Where(p => p.Nir == DemoData.PaulMartin.Nir).Select(p => p.Id).SingleAsync());
        Assert.That((await host.OutboxOfAsync(paul)).Where(m => m.Kind == NotificationKind.FileCodeIssued), Is.Empty);
        Assert.That(await host.QueryAsync(db => db.AuditEvents.Where(e => e.Type == AuditEventTypes.LegacyCodeRequested).Select(e => e.Outcome).SingleAsync()), Is.EqualTo("retired"));
    }
}
