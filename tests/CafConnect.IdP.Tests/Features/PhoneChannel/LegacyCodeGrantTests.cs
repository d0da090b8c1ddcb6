using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using CafConnect.Domain.Accounts;
using CafConnect.Domain.Households;
using CafConnect.IdP.Demo;
using CafConnect.IdP.Tests.Support;
using CafConnect.Infrastructure.Audit;
using CafConnect.Infrastructure.Notifications;
using CafConnect.Infrastructure.Persistence;
using CafConnect.Infrastructure.Security;
using CafConnect.Application.PhoneChannel;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace CafConnect.IdP.Tests.Features.PhoneChannel;

/// <summary>
/// The phone server's grant (file number + the file's 8-digit code) at the token endpoint, as the voice server calls it:
/// RFC 6749 errors, no enumeration, throttled per file, a short token restricted to the one file.
/// </summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
public sealed class LegacyCodeGrantTests(StoreKind kind) : RelayedGrantFixture(kind)
{
    public const string GrantType = "urn:cafconnect:params:oauth:grant-type:legacy-code";
    public static readonly TestClient VoiceServer = new("serveur-vocal", "demo-secret-serveur-vocal-not-for-production", "http://127.0.0.1:5300/callback", null);

    private const string MartinFile = "0412345";

    private static int _nextFile = 7000000;
    private static int _nextUnknownFile = 9100000;

    private const int ClientBudget = 45;
    private const int IpMaxFailures = 30;

    protected override IReadOnlyDictionary<string, string?> Settings { get; } = new Dictionary<string, string?>
    {
        // Above the per-IP budget (30), small enough to spend in a test; each budget test uses a voice server of its own.
        [$"PhoneChannel:{nameof(PhoneChannelOptions.ClientBudget)}"] = ClientBudget.ToString(System.Globalization.CultureInfo.InvariantCulture),
        [$"PhoneChannel:{nameof(PhoneChannelOptions.ClientBlockDuration)}"] = "00:05:00",
    };

    /// <summary>
    /// The phone grant (file number and file code, or NIR and personal phone code) as the voice server — or
    /// <paramref name="client"/> — calls it from <paramref name="browser"/>.
    /// </summary>
    public static Task<HttpResponseMessage> RequestPhoneGrantAsync(HttpClient browser, IDictionary<string, string> parameters, TestClient? client = null) =>
        new OidcDriver(browser).TokenRequestAsync(client ?? VoiceServer, new Dictionary<string, string>(parameters) { ["grant_type"] = GrantType });

    /// <summary>A new file of its own for a test: a holder with a verified mobile, and the file's code.</summary>
    /// <param name="storedCode">What the file stores for its code; an Argon2id hash of <paramref name="code"/> when null.</param>
    private async Task<(Household File, PersonAccount Holder)> NewFileAsync(string code, string? alsoConjointOn = null, string? storedCode = null)
    {
        using var scope = Host.Services.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<CafConnectDbContext>();
        var hasher = scope.ServiceProvider.GetRequiredService<ISecretHasher>();
        var number = Interlocked.Increment(ref _nextFile).ToString(System.Globalization.CultureInfo.InvariantCulture);
        var holder = new PersonAccount
        {
            Nir = "1800575056" + number[^3..],
            GivenNames = "Test",
            BirthName = "TELEPHONE" + number,
            MobilePhone = "+33612" + number[1..],
            MobilePhoneVerified = true,
            CredentialKind = CredentialKind.None,
        };
        var file = new Household { FileNumber = number, LegacySecretHash = storedCode ?? hasher.Hash(code) };
        file.Members.Add(new HouseholdMembership { Person = holder, Role = HouseholdRole.Allocataire });
        db.Households.Add(file);
        if (alsoConjointOn is not null)
        {
            var other = await db.Households.AsNoTracking().SingleAsync(h => h.FileNumber == alsoConjointOn);
            db.Add(new HouseholdMembership { HouseholdId = other.Id, Person = holder, Role = HouseholdRole.Conjoint });
        }
        await db.SaveChangesAsync();
        return (file, holder);
    }

    /// <summary>Another voice server (confidential, holding the phone grant) with a budget of its own.</summary>
    private Task<TestClient> NewVoiceServerAsync() => NewRelayingClientAsync("serveur-vocal-", "Serveur vocal de test", GrantType, "http://127.0.0.1:5300/callback");

    private static string UnknownFileNumber() => Interlocked.Increment(ref _nextUnknownFile).ToString(System.Globalization.CultureInfo.InvariantCulture);

    private Task<HttpResponseMessage> PhoneGrantAsync(string? fileNumber, string? code, TestClient? client = null, string? scope = null, string? ip = null)
    {
        var parameters = new Dictionary<string, string>();
        if (fileNumber is not null) parameters["file_number"] = fileNumber;
        if (code is not null) parameters["legacy_code"] = code;
        if (scope is not null) parameters["scope"] = scope;
        return RequestPhoneGrantAsync(DriverFrom(ip).Browser, parameters, client);
    }

    private static async Task AssertError(HttpResponseMessage response, HttpStatusCode status, string error, string what)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(status), what + ": " + body);
        Assert.That(JsonDocument.Parse(body).RootElement.GetProperty("error").GetString(), Is.EqualTo(error), what);
        Assert.That(body, Does.Not.Contain("access_token"), what);
    }

    [Test]
    public async Task Right_file_number_and_code_give_a_short_access_token_only()
    {
        var response = await PhoneGrantAsync(MartinFile, DemoData.MartinLegacyCode);
        var body = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), body);
        var json = JsonDocument.Parse(body).RootElement;
        Assert.Multiple(() =>
        {
            Assert.That(json.GetProperty("token_type").GetString(), Is.EqualTo("Bearer"));
            Assert.That(json.GetProperty("access_token").GetString(), Is.Not.Empty);
            Assert.That(json.GetProperty("expires_in").GetInt32(), Is.InRange(1, 300), "a call, not a session");
            Assert.That(json.TryGetProperty("refresh_token", out _), Is.False, "no refresh token");
            Assert.That(json.TryGetProperty("id_token", out _), Is.False, "no ID token: the code authenticates a file, not a person");
            Assert.That(response.Headers.CacheControl?.NoStore, Is.True, "token responses are not cacheable");
        });
    }

    /// <summary>A file whose code was imported as <c>legacy_secret_format=pbkdf2-sha256</c>: stored as the import stores it.</summary>
    private async Task<Household> NewFileWithPbkdf2CodeAsync(string code)
    {
        var verifiers = Host.Services.GetRequiredService<LegacySecretVerifiers>();
        var stored = verifiers.Wrap("pbkdf2-sha256", Pbkdf2Sha256LegacySecretVerifier.Create(code, iterations: 1000));
        var (file, _) = await NewFileAsync(code, storedCode: stored);
        Assert.That(await StoredCodeAsync(file), Does.StartWith("$legacy$pbkdf2-sha256$"), "set-up: kept in its legacy format");
        return file;
    }

    private async Task<string?> StoredCodeAsync(Household file)
    {
        using var scope = Host.Services.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<CafConnectDbContext>();
        return await db.Households.AsNoTracking().Where(h => h.Id == file.Id).Select(h => h.LegacySecretHash).SingleAsync();
    }

    [Test]
    public async Task A_code_imported_in_a_legacy_format_gives_a_token_is_upgraded_to_Argon2id_and_still_works()
    {
        var file = await NewFileWithPbkdf2CodeAsync("73019428");

        var first = await PhoneGrantAsync(file.FileNumber, "73019428");
        var firstJson = await JsonOf(first);
        Assert.That(first.StatusCode, Is.EqualTo(HttpStatusCode.OK), firstJson.ToString());
        Assert.That(firstJson.GetProperty("access_token").GetString(), Is.Not.Empty);
        var upgraded = await StoredCodeAsync(file);
        Assert.That(upgraded, Does.StartWith("$argon2id$v=19$"), "re-hashed with Argon2id once verified, as at the web login");
        Assert.That(Argon2idSecretHasher.IsSupported(upgraded!), Is.True);

        var second = await PhoneGrantAsync(file.FileNumber, "73019428");
        var secondJson = await JsonOf(second);
        Assert.That(second.StatusCode, Is.EqualTo(HttpStatusCode.OK), secondJson.ToString());
        Assert.That(secondJson.GetProperty("access_token").GetString(), Is.Not.Empty);
        Assert.That(await StoredCodeAsync(file), Is.EqualTo(upgraded), "hashed once");
    }

    [Test]
    public async Task A_wrong_code_on_a_file_whose_code_is_in_a_legacy_format_is_invalid_grant_and_changes_nothing()
    {
        var file = await NewFileWithPbkdf2CodeAsync("73019428");
        var stored = await StoredCodeAsync(file);

        await AssertError(await PhoneGrantAsync(file.FileNumber, "73019429"), HttpStatusCode.BadRequest, "invalid_grant", "wrong code, legacy format");
        Assert.That(await StoredCodeAsync(file), Is.EqualTo(stored), "a wrong code upgrades nothing");
    }

    [Test]
    public async Task Asking_openid_or_offline_access_still_gives_neither_an_id_token_nor_a_refresh_token()
    {
        // serveur-vocal is registered for "caf" only; openid needs no permission, so this is the one way to ask more.
        var response = await PhoneGrantAsync(MartinFile, DemoData.MartinLegacyCode, scope: "openid caf");
        var json = await JsonOf(response);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), json.ToString());
        Assert.Multiple(() =>
        {
            Assert.That(json.TryGetProperty("id_token", out _), Is.False);
            Assert.That(json.TryGetProperty("refresh_token", out _), Is.False);
        });
    }

    [Test]
    public async Task Token_names_the_file_holder_the_file_the_channel_and_the_method()
    {
        var tokens = await JsonOf(await PhoneGrantAsync(MartinFile, DemoData.MartinLegacyCode));
        var browser = DriverFrom(null);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/connect/introspect")
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["token"] = tokens.GetProperty("access_token").GetString()! }),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{VoiceServer.ClientId}:{VoiceServer.Secret}")));
        var response = await browser.Browser.SendAsync(request);
        var claims = await JsonOf(response);

        using var scope = Host.Services.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<CafConnectDbContext>();
        var paul = await db.Persons.SingleAsync(p => p.Nir == "1780413055123");
        Assert.Multiple(() =>
        {
            Assert.That(claims.GetProperty("active").GetBoolean(), Is.True, claims.ToString());
            Assert.That(claims.GetProperty("sub").GetString(), Is.EqualTo(paul.Subject), "the subject is the file holder (allocataire)");
            Assert.That(claims.GetProperty("caf_file").GetString(), Is.EqualTo(MartinFile));
            Assert.That(claims.GetProperty("caf_channel").GetString(), Is.EqualTo("telephone"));
            Assert.That(claims.GetProperty("amr").ToString(), Does.Contain("caf_code_dossier"));
            Assert.That(claims.GetProperty("scope").GetString(), Is.EqualTo("caf"));
            Assert.That(claims.GetProperty("exp").GetInt64() - claims.GetProperty("iat").GetInt64(), Is.LessThanOrEqualTo(300));
            Assert.That(claims.TryGetProperty("nir", out _), Is.False);
            Assert.That(claims.TryGetProperty("given_name", out _), Is.False, "no identity claims: the caller is not known as a person");
        });
    }

    [Test]
    public async Task Userinfo_releases_the_file_of_the_code_and_never_another_file_of_the_holder()
    {
        // The holder of a new file is also the partner on the DUPONT file: the phone token of the new file must not show it.
        var (file, holder) = await NewFileAsync("46820913", alsoConjointOn: "0260311");
        var tokens = await JsonOf(await PhoneGrantAsync(file.FileNumber, "46820913"));
        var userinfo = await DriverFrom(null).UserInfoAsync(tokens.GetProperty("access_token").GetString()!);
        var json = await JsonOf(userinfo);

        Assert.Multiple(() =>
        {
            Assert.That(userinfo.StatusCode, Is.EqualTo(HttpStatusCode.OK), json.ToString());
            Assert.That(userinfo.Headers.CacheControl?.NoStore, Is.True);
            Assert.That(json.GetProperty("sub").GetString(), Is.EqualTo(holder.Subject));
            var files = json.GetProperty("caf_files").EnumerateArray().ToList();
            Assert.That(files.Select(f => f.GetProperty("file_number").GetString()), Is.EqualTo(new[] { file.FileNumber }), "only the file of the code");
            Assert.That(files.Single().GetProperty("role").GetString(), Is.EqualTo("allocataire"));
            Assert.That(json.ToString(), Does.Not.Contain("0260311"), "the holder's other file stays out");
            Assert.That(json.TryGetProperty("caf_primo_demandeur", out _), Is.False);
            Assert.That(json.TryGetProperty("family_name", out _), Is.False);
        });
    }

    [Test]
    public async Task Wrong_code_and_unknown_file_get_the_same_invalid_grant_and_are_audited_on_the_phone_channel()
    {
        var (file, holder) = await NewFileAsync("31975264");
        var wrong = await PhoneGrantAsync(file.FileNumber, "31975265");
        var unknown = await PhoneGrantAsync("9999991", "31975264");
        await AssertError(wrong, HttpStatusCode.BadRequest, "invalid_grant", "wrong code");
        await AssertError(unknown, HttpStatusCode.BadRequest, "invalid_grant", "unknown file");
        Assert.That(await unknown.Content.ReadAsStringAsync(), Is.EqualTo(await wrong.Content.ReadAsStringAsync()), "the same body: no enumeration");

        var audit = await AuditOfAsync(holder.Id);
        Assert.Multiple(() =>
        {
            Assert.That(audit.Select(e => (e.Type, e.Outcome, e.Channel, e.ClientId)),
                Is.EqualTo(new[] { (AuditEventTypes.LoginFailed, (string?)"wrong_code", (string?)"telephone", (string?)"serveur-vocal") }));
            Assert.That(audit.Single().Details, Does.Contain(file.Id.ToString("N")).And.Not.Contain("31975265"), "the file's internal id, never the code");
        });
    }

    /// <summary>
    /// Issue 20, item 3: the whole answer (status, headers, body), not only the body, is the same for a wrong code, an
    /// unknown file number, a file whose code was a legacy format nobody can verify, and a closed holder's file.
    /// </summary>
    [Test]
    public async Task Wrong_code_unknown_file_and_closed_holder_get_the_same_whole_answer()
    {
        var (file, _) = await NewFileAsync("63019485");
        var (closedFile, closedHolder) = await NewFileAsync("63019486");
        using (var scope = Host.Services.CreateScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<CafConnect.Infrastructure.Persistence.CafConnectDbContext>();
            (await db.Persons.SingleAsync(p => p.Id == closedHolder.Id)).ClosedAt = DateTimeOffset.UtcNow.AddDays(-1);
            await db.SaveChangesAsync();
        }
        var answers = new List<(string Branch, string Snapshot)>
        {
            ("mauvais code", await ResponseSnapshot.OfAsync(await PhoneGrantAsync(file.FileNumber, "63019400"))),
            ("dossier inconnu", await ResponseSnapshot.OfAsync(await PhoneGrantAsync(UnknownFileNumber(), "63019485"))),
            ("titulaire clôturé", await ResponseSnapshot.OfAsync(await PhoneGrantAsync(closedFile.FileNumber, "63019486"))),
        };
        ResponseSnapshot.AssertAllEqual("phone grant", answers);
        Assert.That(answers[0].Snapshot, Does.StartWith("status: 400\n").And.Contain("invalid_grant"));
    }

    [Test]
    public async Task Success_is_audited_on_the_phone_channel_against_the_holder()
    {
        var (file, holder) = await NewFileAsync("52873016");
        var response = await PhoneGrantAsync(file.FileNumber, "52873016");
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));

        var audit = await AuditOfAsync(holder.Id);
        Assert.That(audit.Select(e => (e.Type, e.Channel)), Is.EqualTo(new[]
        {
            (AuditEventTypes.LoginSucceeded, (string?)"telephone"),
            (AuditEventTypes.TokenIssued, (string?)"telephone"),
        }));
        Assert.That(audit[0].Outcome, Is.EqualTo("caf_code_dossier"));
    }

    [TestCase(null, "58231947", TestName = "File number missing is invalid_request")]
    [TestCase("412345", "58231947", TestName = "File number of 6 digits is invalid_request")]
    [TestCase("04123456", "58231947", TestName = "File number of 8 digits is invalid_request")]
    [TestCase("0412 345", "58231947", TestName = "File number with a space is invalid_request")]
    [TestCase("04I2345", "58231947", TestName = "File number with a letter is invalid_request")]
    [TestCase("０４１２３４５", "58231947", TestName = "File number in full-width digits is invalid_request")]
    [TestCase("0412345", null, TestName = "Code missing is invalid_request")]
    [TestCase("0412345", "5823194", TestName = "Code of 7 digits is invalid_request")]
    [TestCase("0412345", "582319470", TestName = "Code of 9 digits is invalid_request")]
    [TestCase("0412345", "5823194a", TestName = "Code with a letter is invalid_request")]
    [TestCase("0412345", "", TestName = "Empty code is invalid_request")]
    public async Task Malformed_numbers_are_invalid_request(string? fileNumber, string? code)
    {
        await AssertError(await PhoneGrantAsync(fileNumber, code), HttpStatusCode.BadRequest, "invalid_request", $"{fileNumber} / {code}");
    }

    [Test]
    public async Task A_client_without_the_grant_permission_is_unauthorized_client()
    {
        // caf-fr is confidential and authenticates properly, but is not registered for the phone grant.
        await AssertError(await PhoneGrantAsync(MartinFile, DemoData.MartinLegacyCode, TestClient.CafFr), HttpStatusCode.BadRequest, "unauthorized_client", "caf-fr");
    }

    [Test]
    public async Task A_public_client_is_refused_and_the_voice_server_must_authenticate()
    {
        var publicClient = await PhoneGrantAsync(MartinFile, DemoData.MartinLegacyCode, TestClient.CafMobile);
        var wrongSecret = await PhoneGrantAsync(MartinFile, DemoData.MartinLegacyCode, VoiceServer with { Secret = "pas-le-bon-secret-du-serveur-vocal" });
        Assert.Multiple(async () =>
        {
            await AssertError(publicClient, HttpStatusCode.BadRequest, "unauthorized_client", "caf-mobile (public)");
            Assert.That(wrongSecret.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
            Assert.That((await JsonOf(wrongSecret)).GetProperty("error").GetString(), Is.EqualTo("invalid_client"));
        });
    }

    [Test]
    public async Task Ten_wrong_codes_lock_the_file_the_right_code_is_then_refused_and_the_holder_is_told()
    {
        const string callerIp = "203.0.113.77";
        var (file, holder) = await NewFileAsync("70318264");
        for (var attempt = 0; attempt < 10; attempt++)
        {
            await AssertError(await PhoneGrantAsync(file.FileNumber, "11111111", ip: callerIp), HttpStatusCode.BadRequest, "invalid_grant", $"failure {attempt + 1}");
            Clock.Advance(TimeSpan.FromMinutes(2)); // past every progressive delay: only the lock stops the 10th
        }
        var locked = await PhoneGrantAsync(file.FileNumber, "70318264", ip: callerIp);
        var lockedFromElsewhere = await PhoneGrantAsync(file.FileNumber, "70318264", ip: "198.51.100.23");
        await AssertError(locked, HttpStatusCode.BadRequest, "invalid_grant", "the right code on a locked file");
        await AssertError(lockedFromElsewhere, HttpStatusCode.BadRequest, "invalid_grant", "locked from any IP");

        var sms = await Journey.Sms.WaitForAsync(holder.MobilePhone!);
        var audit = await AuditOfAsync(holder.Id);
        Assert.Multiple(() =>
        {
            Assert.That(sms.Text, Does.Contain("par téléphone a été temporairement bloqué").And.Contain("15 minutes"));
            Assert.That(audit.Count(e => e.Type == AuditEventTypes.LoginFailed && e.Outcome == "wrong_code"), Is.EqualTo(10));
            Assert.That(audit.Single(e => e.Type == AuditEventTypes.AccountLocked).Details, Does.StartWith("scope=file;"));
            Assert.That(audit.Count(e => e.Type == AuditEventTypes.LoginFailed && e.Outcome == "locked"), Is.EqualTo(2));
            Assert.That(audit.Where(e => e.Type == AuditEventTypes.LoginFailed).Select(e => e.Channel), Is.All.EqualTo("telephone"));
            Assert.That(audit.Where(e => e.Type == AuditEventTypes.LoginSucceeded), Is.Empty);
        });

        // The lock is the file's, not the holder's account: the web login counts separately.
        Clock.Advance(TimeSpan.FromMinutes(16));
        Assert.That((await PhoneGrantAsync(file.FileNumber, "70318264", ip: callerIp)).StatusCode, Is.EqualTo(HttpStatusCode.OK), "after the 15-minute lock");
    }

    [Test]
    public async Task Many_failures_across_files_from_the_voice_server_do_not_block_a_correct_caller_on_another_file()
    {
        const string voiceServerIp = "192.0.2.10"; // every call comes from the voice server's one address
        var voiceServer = await NewVoiceServerAsync();
        var (file, _) = await NewFileAsync("61428375");
        var (mistyped, _) = await NewFileAsync("83920164");

        // More failures than the per-IP budget of browsers, from many callers on many files: unknown numbers and a few
        // wrong codes on one existing file (fewer than its lock).
        var failures = IpMaxFailures + 10;
        for (var i = 0; i < failures; i++)
        {
            var target = i % 8 == 0 ? mistyped.FileNumber : UnknownFileNumber();
            await AssertError(await PhoneGrantAsync(target, "10000000", voiceServer, ip: voiceServerIp), HttpStatusCode.BadRequest, "invalid_grant", $"failure {i + 1}");
        }
        var correctCaller = await PhoneGrantAsync(file.FileNumber, "61428375", voiceServer, ip: voiceServerIp);

        Assert.That(failures, Is.GreaterThan(IpMaxFailures).And.LessThan(ClientBudget), "the premise: past the IP budget, within the client's");
        Assert.That(correctCaller.StatusCode, Is.EqualTo(HttpStatusCode.OK), await correctCaller.Content.ReadAsStringAsync());
    }

    [Test]
    public async Task The_voice_server_budget_trips_when_exceeded_for_that_client_only_until_its_block_ends()
    {
        var voiceServer = await NewVoiceServerAsync();
        var (file, holder) = await NewFileAsync("27519463");
        for (var i = 0; i < ClientBudget; i++)
        {
            await AssertError(await PhoneGrantAsync(UnknownFileNumber(), "10000000", voiceServer), HttpStatusCode.BadRequest, "invalid_grant", $"failure {i + 1}");
        }

        var refused = await PhoneGrantAsync(file.FileNumber, "27519463", voiceServer);
        await AssertError(refused, HttpStatusCode.BadRequest, "invalid_grant", "the right code once the client's budget is spent");
        var audit = await AuditOfAsync(holder.Id);
        Assert.Multiple(() =>
        {
            Assert.That(audit.Select(e => (e.Type, e.Outcome)), Is.EqualTo(new[] { (AuditEventTypes.LoginFailed, (string?)"throttled") }));
            Assert.That(audit.Single().Details, Does.StartWith("scope=client;"));
            Assert.That(audit.Single().ClientId, Is.EqualTo(voiceServer.ClientId));
        });

        var otherVoiceServer = await PhoneGrantAsync(file.FileNumber, "27519463", await NewVoiceServerAsync());
        Assert.That(otherVoiceServer.StatusCode, Is.EqualTo(HttpStatusCode.OK), "another client keeps its budget, and the file was not counted against");

        Clock.Advance(TimeSpan.FromMinutes(5) + TimeSpan.FromSeconds(1));
        var afterBlock = await PhoneGrantAsync(file.FileNumber, "27519463", voiceServer);
        Assert.That(afterBlock.StatusCode, Is.EqualTo(HttpStatusCode.OK), "after the client's 5-minute block");
    }
}
