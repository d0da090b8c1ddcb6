using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using CafConnect.Domain.Accounts;
using CafConnect.Domain.Households;
using CafConnect.IdP.Tests.Support;
using CafConnect.Infrastructure.Persistence;
using CafConnect.Infrastructure.Security;
using CafConnect.Infrastructure.Terms;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Microsoft.Net.Http.Headers;

namespace CafConnect.IdP.Tests.Security;

/// <summary>
/// One person of the run: what they type, and what every response about them must say — their own role, delegation
/// and permissions on their file, never those of another member of the household.
/// </summary>
public sealed record IsolationPerson(int Index, string Nir, string Password, string FileNumber, string LegacyCode, string Subject, string FamilyName,
    HouseholdRole Role, bool Delegated, string HolderSubject)
{
    /// <summary>The permissions of this person's own membership (the one table, docs/claims.md).</summary>
    public IReadOnlyList<string> Permissions => HouseholdPermissions.For(Role, Delegated);
}

/// <summary>Settings of a run: the CI test uses the defaults, the bench (bench/session-isolation.sh) raises them.</summary>
public sealed record IsolationSettings(int Persons, int Rounds, int Concurrency)
{
    public static IsolationSettings FromEnvironment(int persons, int rounds, int concurrency) => new(
        Read("CAFCONNECT_ISOLATION_PERSONS", persons), Read("CAFCONNECT_ISOLATION_ROUNDS", rounds), Read("CAFCONNECT_ISOLATION_CONCURRENCY", concurrency));

    private static int Read(string name, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value > 0 ? value : fallback;
}

/// <summary>What a run saw. Mismatches and failures are listed (the first 20 of each) so a red test says what went wrong.</summary>
public sealed class IsolationReport
{
    public int Requests;
    public int IdentityChecks;
    public int Mismatches;
    public int Failures;
    public int CacheableResponses;
    public int PersonalDataResponses;
    public int SessionCookiesBeforeLogin;
    public int Logins;
    public int DistinctSessionIds;
    public TimeSpan Elapsed;
    public ConcurrentQueue<string> MismatchDetails { get; } = new();
    public ConcurrentQueue<string> FailureDetails { get; } = new();
    public ConcurrentDictionary<string, ConcurrentBag<double>> LatencyMs { get; } = new();

    public void Mismatch(string detail)
    {
        Interlocked.Increment(ref Mismatches);
        if (MismatchDetails.Count < 20) MismatchDetails.Enqueue(detail);
    }

    public void Failure(string detail)
    {
        Interlocked.Increment(ref Failures);
        if (FailureDetails.Count < 20) FailureDetails.Enqueue(detail);
    }

    public string Summary(IsolationSettings settings, int instances)
    {
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"persons {settings.Persons}, rounds {settings.Rounds}, instances {instances}, concurrency {settings.Concurrency}");
        text.AppendLine(CultureInfo.InvariantCulture, $"requests {Requests}, identity checks {IdentityChecks}, mismatches {Mismatches}, failures {Failures}");
        text.AppendLine(CultureInfo.InvariantCulture, $"personal-data responses {PersonalDataResponses}, without no-store {CacheableResponses}; session cookies before login {SessionCookiesBeforeLogin}; logins {Logins}, distinct sid {DistinctSessionIds}");
        text.AppendLine(CultureInfo.InvariantCulture, $"elapsed {Elapsed.TotalSeconds:F1} s, {Requests / Elapsed.TotalSeconds:F0} requests/s");
        text.AppendLine("endpoint                    count    p50 ms   p95 ms");
        foreach (var (endpoint, samples) in LatencyMs.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            var sorted = samples.Order().ToArray();
            text.AppendLine(CultureInfo.InvariantCulture, $"{endpoint,-26} {sorted.Length,6} {Percentile(sorted, 0.50),9:F1} {Percentile(sorted, 0.95),8:F1}");
        }
        foreach (var detail in MismatchDetails) text.AppendLine("MISMATCH " + detail);
        foreach (var detail in FailureDetails) text.AppendLine("FAILURE " + detail);
        return text.ToString();
    }

    private static double Percentile(double[] sorted, double p) => sorted.Length == 0 ? 0 : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];
}

/// <summary>
/// The 2021 incident as a test (issue #7): many people sign in at once through the real HTTP surface of one or two
/// Kestrel instances sharing a store (and Redis), every request of a journey going to the other instance than the
/// previous one; every response that says who someone is must name the person who typed the password.
/// <para>
/// One round of a person's journey, 10 requests: authorize (challenge) → login page → login POST (anti-forgery) →
/// authorize (code) → token (code + PKCE) → userinfo → refresh → userinfo → phone grant (file number + code) → userinfo.
/// Each round starts with no cookie, as a new browser; cookies are kept by hand per journey (not shared, not by port),
/// so the test also sees every Set-Cookie.
/// </para>
/// </summary>
public sealed class SessionIsolationDriver : IAsyncDisposable
{
    public const string Issuer = "http://cafconnect-isolation.test/";
    private const string ClientId = "caf-fr";
    private const string ClientSecret = "demo-secret-caf-fr-not-for-production";
    private const string RedirectUri = "http://127.0.0.1:5000/demo/callback";
    private const string VoiceServerId = "serveur-vocal";
    private const string VoiceServerSecret = "demo-secret-serveur-vocal-not-for-production";
    private const string PhoneGrant = "urn:cafconnect:params:oauth:grant-type:legacy-code";

    private readonly List<CafConnectFactory> _instances = [];
    private readonly List<Uri> _addresses = [];
    private readonly HttpClient _http;
    private readonly IsolationReport _report = new();
    private readonly SemaphoreSlim _inFlight;
    private readonly IsolationSettings _settings;
    private readonly ConcurrentDictionary<string, byte> _sessionIds = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _phoneLines = new(StringComparer.Ordinal);
    private IList<SecurityKey> _signingKeys = [];

    private SessionIsolationDriver(IsolationSettings settings)
    {
        _settings = settings;
        _inFlight = new SemaphoreSlim(settings.Concurrency);
        _http = new HttpClient(new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseCookies = false,
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            MaxConnectionsPerServer = settings.Concurrency,
        })
        { Timeout = TimeSpan.FromMinutes(2) };
    }

    public IsolationReport Report => _report;
    public int InstanceCount => _instances.Count;

    /// <summary>Starts <paramref name="instances"/> hosts on real loopback sockets, one after the other (the first migrates and seeds).</summary>
    public static SessionIsolationDriver Start(TestStore store, int instances, IsolationSettings settings)
    {
        var driver = new SessionIsolationDriver(settings);
        for (var i = 0; i < instances; i++)
        {
            var factory = new CafConnectFactory(store, new Dictionary<string, string?>
            {
                // Behind a load balancer every instance answers for one issuer.
                ["Oidc:Issuer"] = Issuer,
                ["Logging:LogLevel:Default"] = "Warning",
                ["Logging:LogLevel:Microsoft.AspNetCore"] = "Error",
            },
            // Each person calls from an address of their own (X-Test-Client-IP), as people do: from one address, more
            // than 30 logins in flight at once would spend the per-IP budget (attempts count before the check).
            services => services.AddSingleton<Microsoft.AspNetCore.Hosting.IStartupFilter, TestClientIp>());
            var address = factory.StartOnKestrel();
            driver._instances.Add(factory);
            driver._addresses.Add(address);
        }
        return driver;
    }

    /// <summary>
    /// The households of the run, by blocks of 10 persons, so that members of one file share everything a mix-up could
    /// confuse (the file number, the holder, the shared code) and differ only in who they are — the 2021 failure also
    /// happened inside families: a holder alone; a couple without delegation; a couple with delegation and a child; a
    /// holder, a <c>conjoint_allocataire</c> and two children. Each entry: position in the block → (role, delegated, first
    /// member of a new file).
    /// </summary>
    private static readonly (HouseholdRole Role, bool Delegated, bool NewFile)[] HouseholdPattern =
    [
        (HouseholdRole.Allocataire, false, true),
        (HouseholdRole.Allocataire, false, true), (HouseholdRole.Conjoint, false, false),
        (HouseholdRole.Allocataire, false, true), (HouseholdRole.Conjoint, true, false), (HouseholdRole.Enfant, false, false),
        (HouseholdRole.Allocataire, false, true), (HouseholdRole.ConjointAllocataire, false, false), (HouseholdRole.Enfant, false, false), (HouseholdRole.Enfant, false, false),
    ];

    /// <summary>
    /// Seeds the persons straight into the store (EF, the hasher at the test cost) in the households of
    /// <see cref="HouseholdPattern"/>: each file with its own legacy code; each person with a personal password, terms
    /// accepted and a verified e-mail of their own, and each holder having answered « Mes autorisations », so nothing is
    /// pending at login.
    /// </summary>
    public async Task<IReadOnlyList<IsolationPerson>> SeedAsync(int count)
    {
        using var scope = _instances[0].Services.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<CafConnectDbContext>();
        var hasher = scope.ServiceProvider.GetRequiredService<ISecretHasher>();
        var terms = (await scope.ServiceProvider.GetRequiredService<TermsOfUseCatalog>().CurrentAsync())?.Version ?? 1;

        var people = Enumerable.Range(0, count).Select(i =>
        {
            // Unique valid NIRs: order 001-999, then month and year of birth; commune 998 is no demo person's.
            var order = i % 999 + 1;
            var month = i / 999 % 12 + 1;
            var year = 50 + i / (999 * 12) % 50;
            var nir = string.Create(CultureInfo.InvariantCulture, $"{1 + i % 2}{year:D2}{month:D2}75998{order:D3}");
            var code = ((13572468L + i * 7919L) % 100_000_000).ToString("D8", CultureInfo.InvariantCulture);
            return (Nir: nir, Password: string.Create(CultureInfo.InvariantCulture, $"Iso{i:D6}aB"), File: (8_000_000 + i).ToString(CultureInfo.InvariantCulture),
                Code: code, Name: string.Create(CultureInfo.InvariantCulture, $"ISOLATION{i:D6}"));
        }).ToList();
        var place = Enumerable.Range(0, count).Select(i => HouseholdPattern[i % HouseholdPattern.Length]).ToArray();
        // A file is numbered and coded after its first member; a household cut short by the count keeps its first members.
        var fileStart = new int[count];
        for (var i = 0; i < count; i++) fileStart[i] = place[i].NewFile ? i : fileStart[i - 1];

        // Hashing dominates seeding: spread it over the cores.
        var passwordHashes = new string[count];
        var codeHashes = new string?[count];
        Parallel.For(0, count, i =>
        {
            passwordHashes[i] = hasher.Hash(people[i].Password);
            codeHashes[i] = place[i].NewFile ? hasher.Hash(people[i].Code) : null;
        });

        var result = new List<IsolationPerson>(count);
        var now = DateTimeOffset.UtcNow;
        Household? file = null;
        PersonAccount? holder = null;
        for (var i = 0; i < count; i++)
        {
            var p = people[i];
            var (role, delegated, newFile) = place[i];
            var person = new PersonAccount
            {
                Nir = p.Nir,
                GivenNames = "Personne",
                BirthName = p.Name,
                BirthDate = role == HouseholdRole.Enfant ? DateOnly.FromDateTime(now.UtcDateTime).AddYears(-17) : null,
                Email = string.Create(CultureInfo.InvariantCulture, $"isolation{i}@example.test"),
                EmailVerified = true,
                PasswordHash = passwordHashes[i],
                CredentialKind = CredentialKind.Personal,
                PasswordSetAt = now,
                AcceptedTermsVersion = terms,
                TermsAcceptedAt = now,
            };
            if (newFile)
            {
                file = new Household { FileNumber = p.File, LegacySecretHash = codeHashes[i] };
                holder = person;
                db.Households.Add(file);
            }
            file!.Members.Add(new HouseholdMembership
            {
                Person = person, Role = role, Delegated = delegated, JoinedAt = now,
                DelegationChoiceAt = role == HouseholdRole.Allocataire ? now : null,
            });
            var first = people[fileStart[i]];
            result.Add(new IsolationPerson(i, p.Nir, p.Password, first.File, first.Code, person.Subject, p.Name, role, delegated, holder!.Subject));
            // Saved every 500 persons, a multiple of the pattern's length: a batch never splits a file.
            if ((i + 1) % 500 == 0 || i == count - 1)
            {
                await db.SaveChangesAsync();
                db.ChangeTracker.Clear();
            }
        }
        return result;
    }

    /// <summary>Every person runs every round; all persons' journeys are under way at once, requests capped by the concurrency setting.</summary>
    public async Task<IsolationReport> RunAsync(IReadOnlyList<IsolationPerson> persons)
    {
        var jwks = new JsonWebKeySet(await _http.GetStringAsync(new Uri(_addresses[0], ".well-known/jwks")));
        _signingKeys = jwks.GetSigningKeys();

        var watch = Stopwatch.StartNew();
        await Task.WhenAll(persons.Select(async person =>
        {
            for (var round = 0; round < _settings.Rounds; round++)
            {
                try
                {
                    await JourneyAsync(person, round);
                }
                catch (Exception exception) when (exception is HttpRequestException or TaskCanceledException or JsonException or InvalidOperationException or KeyNotFoundException)
                {
                    _report.Failure($"person {person.Index} round {round}: {exception.GetType().Name}: {exception.Message}");
                }
            }
        }));
        _report.Elapsed = watch.Elapsed;
        _report.DistinctSessionIds = _sessionIds.Count;
        return _report;
    }

    private sealed class Journey(SessionIsolationDriver driver, IsolationPerson person, int round)
    {
        private readonly Dictionary<string, string> _cookies = new(StringComparer.Ordinal);
        private int _hop = person.Index + round;

        public IsolationPerson Person => person;

        /// <summary>10.x.y.z from the person's index: a household's connection, the same at every round.</summary>
        private string ClientIp { get; } = $"10.{person.Index >> 16 & 255}.{person.Index >> 8 & 255}.{person.Index & 255}";
        public int Round => round;

        /// <summary>Sends to the instance after the one of the previous request (alternation), with this journey's cookies.</summary>
        public async Task<(HttpResponseMessage Response, string Body)> SendAsync(string endpoint, HttpMethod method, string pathAndQuery,
            HttpContent? content = null, AuthenticationHeaderValue? authorization = null)
        {
            var baseAddress = driver._addresses[_hop++ % driver._addresses.Count];
            using var request = new HttpRequestMessage(method, new Uri(baseAddress, pathAndQuery.TrimStart('/'))) { Content = content };
            request.Headers.Add(TestClientIp.Header, ClientIp);
            if (_cookies.Count > 0)
            {
                request.Headers.Add("Cookie", string.Join("; ", _cookies.Select(c => c.Key + "=" + c.Value)));
            }
            request.Headers.Authorization = authorization;
            await driver._inFlight.WaitAsync();
            var watch = Stopwatch.StartNew();
            HttpResponseMessage response;
            string body;
            try
            {
                response = await driver._http.SendAsync(request);
                body = await response.Content.ReadAsStringAsync();
            }
            finally
            {
                driver._inFlight.Release();
            }
            driver._report.LatencyMs.GetOrAdd(endpoint, _ => []).Add(watch.Elapsed.TotalMilliseconds);
            Interlocked.Increment(ref driver._report.Requests);
            if (response.Headers.TryGetValues(HeaderNames.SetCookie, out var setCookies))
            {
                foreach (var header in setCookies)
                {
                    if (!SetCookieHeaderValue.TryParse(header, out var cookie)) continue;
                    var expired = cookie.Expires is { } expires && expires < DateTimeOffset.UtcNow;
                    if (expired || cookie.Value.Length == 0) _cookies.Remove(cookie.Name.ToString());
                    else _cookies[cookie.Name.ToString()] = cookie.Value.ToString();
                }
            }
            return (response, body);
        }

        public bool HasSessionCookie => _cookies.Keys.Any(k => k.EndsWith("cafconnect.session", StringComparison.Ordinal));
    }

    private async Task JourneyAsync(IsolationPerson person, int round)
    {
        var journey = new Journey(this, person, round);
        var who = $"person {person.Index} round {round}";
        var pkce = Pkce.Create();
        var state = Base64UrlEncoder.Encode(Guid.NewGuid().ToByteArray());
        var nonce = Base64UrlEncoder.Encode(Guid.NewGuid().ToByteArray());
        var authorize = "/connect/authorize" + OidcDriver.QueryString(new Dictionary<string, string?>
        {
            ["client_id"] = ClientId, ["redirect_uri"] = RedirectUri, ["response_type"] = "code", ["scope"] = "openid profile caf offline_access",
            ["state"] = state, ["nonce"] = nonce, ["code_challenge"] = pkce.Challenge, ["code_challenge_method"] = "S256",
        });

        var (challenge, _) = await journey.SendAsync("authorize (challenge)", HttpMethod.Get, authorize);
        if (!Expect(challenge, HttpStatusCode.Redirect, who + " challenge")) return;
        var (loginPage, loginHtml) = await journey.SendAsync("login page", HttpMethod.Get, Local(challenge.Headers.Location!));
        if (!Expect(loginPage, HttpStatusCode.OK, who + " login page")) return;
        if (journey.HasSessionCookie) Interlocked.Increment(ref _report.SessionCookiesBeforeLogin);

        var (action, token) = OidcDriver.LoginForm(loginHtml);
        var (login, loginAnswer) = await journey.SendAsync("login POST", HttpMethod.Post, action, new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["Input.Identifier"] = person.Nir, ["Input.Password"] = person.Password, ["__RequestVerificationToken"] = token,
        }));
        if (!Expect(login, HttpStatusCode.Redirect, who + " login POST " + FirstError(loginAnswer))) return;
        Interlocked.Increment(ref _report.Logins);

        var (back, _) = await journey.SendAsync("authorize (code)", HttpMethod.Get, Local(login.Headers.Location!));
        if (!Expect(back, HttpStatusCode.Redirect, who + " authorize with session")) return;
        var query = QueryHelpers.ParseQuery(back.Headers.Location!.Query);
        Check(query.TryGetValue("state", out var returnedState) && returnedState == state, who, "authorization response state");
        if (!query.TryGetValue("code", out var code))
        {
            _report.Failure($"{who}: no code in {back.Headers.Location}");
            return;
        }

        var clientAuth = Basic(ClientId, ClientSecret);
        var (tokenResponse, tokenBody) = await journey.SendAsync("token (code)", HttpMethod.Post, "/connect/token", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "authorization_code", ["code"] = code!, ["redirect_uri"] = RedirectUri, ["code_verifier"] = pkce.Verifier,
        }), clientAuth);
        if (!ExpectPersonal(tokenResponse, who + " token")) return;
        var tokens = JsonDocument.Parse(tokenBody).RootElement;
        var sid = await CheckIdTokenAsync(tokens.GetProperty("id_token").GetString()!, person, nonce, who + " ID token (code)");
        if (sid is not null) _sessionIds.TryAdd(sid, 0);
        await CheckUserInfoAsync(journey, "userinfo", tokens.GetProperty("access_token").GetString()!, person, who + " userinfo (code)", phone: false);

        var (refreshResponse, refreshBody) = await journey.SendAsync("token (refresh)", HttpMethod.Post, "/connect/token", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "refresh_token", ["refresh_token"] = tokens.GetProperty("refresh_token").GetString()!,
        }), clientAuth);
        if (!ExpectPersonal(refreshResponse, who + " refresh")) return;
        var refreshed = JsonDocument.Parse(refreshBody).RootElement;
        await CheckIdTokenAsync(refreshed.GetProperty("id_token").GetString()!, person, expectedNonce: null, who + " ID token (refresh)");
        await CheckUserInfoAsync(journey, "userinfo", refreshed.GetProperty("access_token").GetString()!, person, who + " userinfo (refresh)", phone: false);

        // One household, one phone line: the members of a file present its shared code one after the other. At the same
        // instant they could be refused by design — the throttle counts attempts in flight against the file before the
        // check (docs/security.md), and a fourth simultaneous attempt meets three uncounted ones.
        var line = _phoneLines.GetOrAdd(person.FileNumber, _ => new SemaphoreSlim(1));
        await line.WaitAsync();
        HttpResponseMessage phoneResponse;
        string phoneBody;
        try
        {
            (phoneResponse, phoneBody) = await journey.SendAsync("token (phone grant)", HttpMethod.Post, "/connect/token", new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["grant_type"] = PhoneGrant, ["file_number"] = person.FileNumber, ["legacy_code"] = person.LegacyCode,
            }), Basic(VoiceServerId, VoiceServerSecret));
        }
        finally
        {
            line.Release();
        }
        if (!ExpectPersonal(phoneResponse, who + " phone grant")) return;
        var phone = JsonDocument.Parse(phoneBody).RootElement;
        await CheckUserInfoAsync(journey, "userinfo (phone)", phone.GetProperty("access_token").GetString()!, person, who + " userinfo (phone)", phone: true);
    }

    private async Task<string?> CheckIdTokenAsync(string idToken, IsolationPerson person, string? expectedNonce, string what)
    {
        var validation = await new JsonWebTokenHandler().ValidateTokenAsync(idToken, new TokenValidationParameters
        {
            ValidIssuer = Issuer,
            ValidAudience = ClientId,
            IssuerSigningKeys = _signingKeys,
        });
        if (!validation.IsValid)
        {
            _report.Failure($"{what}: invalid ID token ({validation.Exception?.Message})");
            return null;
        }
        var jwt = (JsonWebToken)validation.SecurityToken;
        Check(jwt.Subject == person.Subject, what, $"sub {jwt.Subject} instead of {person.Subject}");
        Check(jwt.TryGetClaim("family_name", out var name) && name.Value == person.FamilyName, what, "family_name");
        if (expectedNonce is not null)
        {
            Check(jwt.TryGetClaim("nonce", out var nonce) && nonce.Value == expectedNonce, what, "nonce of another authorization request");
        }
        return jwt.TryGetClaim("sid", out var sid) ? sid.Value : null;
    }

    /// <summary>
    /// Userinfo must describe the person who typed the password: their <c>sub</c>, their name, their file, and on it
    /// <b>their own</b> role, delegation and permissions — a partner or child must never receive the holder's (or the
    /// reverse). With the phone grant's token the shared file code speaks for the household: the holder's <c>sub</c>,
    /// the file alone, the holder's role, and never more than the holder's permissions.
    /// </summary>
    private async Task CheckUserInfoAsync(Journey journey, string endpoint, string accessToken, IsolationPerson person, string what, bool phone)
    {
        var (response, body) = await journey.SendAsync(endpoint, HttpMethod.Get, "/connect/userinfo", authorization: new AuthenticationHeaderValue("Bearer", accessToken));
        if (!ExpectPersonal(response, what)) return;
        var json = JsonDocument.Parse(body).RootElement;
        var expectedSubject = phone ? person.HolderSubject : person.Subject;
        Check(json.GetProperty("sub").GetString() == expectedSubject, what, $"sub {json.GetProperty("sub").GetString()} instead of {expectedSubject}");
        var files = json.GetProperty("caf_files").EnumerateArray().ToList();
        var numbers = files.Select(f => f.GetProperty("file_number").GetString()).ToList();
        if (!Check(files.Count == 1 && numbers[0] == person.FileNumber, what, $"caf_files [{string.Join(',', numbers)}] instead of [{person.FileNumber}]"))
        {
            return;
        }
        var entry = files[0];
        var role = entry.GetProperty("role").GetString();
        var delegated = entry.GetProperty("delegated").GetBoolean();
        var permissions = entry.GetProperty("permissions").EnumerateArray().Select(p => p.GetString()!).ToList();
        if (phone)
        {
            var holderPermissions = HouseholdPermissions.For(HouseholdRole.Allocataire, delegated: false);
            Check(role == HouseholdRole.Allocataire.ToClaimValue(), what, $"role {role} instead of the holder's");
            Check(permissions.All(holderPermissions.Contains), what, $"permissions [{string.Join(',', permissions)}] beyond the holder's");
            return;
        }
        Check(role == person.Role.ToClaimValue(), what, $"role {role} instead of {person.Role.ToClaimValue()}");
        Check(delegated == person.Delegated, what, $"delegated {delegated} instead of {person.Delegated}");
        Check(permissions.SequenceEqual(person.Permissions, StringComparer.Ordinal), what,
            $"permissions [{string.Join(',', permissions)}] instead of [{string.Join(',', person.Permissions)}]");
        Check(json.TryGetProperty("family_name", out var name) && name.GetString() == person.FamilyName, what, "family_name");
    }

    private bool Check(bool holds, string what, string detail)
    {
        Interlocked.Increment(ref _report.IdentityChecks);
        if (!holds) _report.Mismatch($"{what}: {detail}");
        return holds;
    }

    private bool Expect(HttpResponseMessage response, HttpStatusCode status, string what)
    {
        if (response.StatusCode == status) return true;
        _report.Failure($"{what}: {(int)response.StatusCode} instead of {(int)status}");
        return false;
    }

    /// <summary>A response with personal data: must be 200 and never cacheable.</summary>
    private bool ExpectPersonal(HttpResponseMessage response, string what)
    {
        if (!Expect(response, HttpStatusCode.OK, what)) return false;
        Interlocked.Increment(ref _report.PersonalDataResponses);
        if (response.Headers.CacheControl?.NoStore != true)
        {
            Interlocked.Increment(ref _report.CacheableResponses);
            _report.Failure($"{what}: Cache-Control is '{response.Headers.CacheControl}'");
        }
        return true;
    }

    private static string FirstError(string html)
    {
        var match = System.Text.RegularExpressions.Regex.Match(html, "class=\"fr-(?:error-text|alert__title)\"[^>]*>([^<]+)<|<div class=\"fr-alert fr-alert--error[^>]*>\\s*<h2[^>]*>[^<]*</h2>\\s*<p>([^<]+)</p>");
        return match.Success ? WebUtility.HtmlDecode((match.Groups[1].Success ? match.Groups[1] : match.Groups[2]).Value.Trim()) : string.Empty;
    }

    /// <summary>The path and query of a redirect, sent to whichever instance comes next (they answer for one issuer).</summary>
    private static string Local(Uri location) => location.IsAbsoluteUri ? location.PathAndQuery : location.OriginalString;

    private static AuthenticationHeaderValue Basic(string id, string secret) =>
        new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{Uri.EscapeDataString(id)}:{Uri.EscapeDataString(secret)}")));

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        foreach (var instance in _instances)
        {
            await instance.DisposeAsync();
        }
    }
}
