using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using CafConnect.Domain.Accounts;
using CafConnect.Domain.Households;
using CafConnect.Infrastructure.Persistence;
using CafConnect.Infrastructure.Security;
using Microsoft.EntityFrameworkCore;
using Npgsql;

/// <summary>
/// The provider benchmark's C# parts (bench/run.sh runs them; issue #14): seeding persons straight into PostgreSQL,
/// signing them in through the real pages (logins/s, server CPU per login, memory and storage per session, one
/// refresh token per session for the refresh grant runs), and the report (JSON, README table, plots).
/// </summary>
public static partial class ProviderBenchmark
{
    public const string Password = "Vacances9Bretagne";

    private static PostgreSqlCafConnectDbContext Context(string connectionString) =>
        new(StorageRegistration.Configure(new DbContextOptionsBuilder<PostgreSqlCafConnectDbContext>(), StorageProvider.PostgreSql, connectionString).Options);

    /// <summary>
    /// Adds persons <paramref name="from"/>..<paramref name="from"/>+<paramref name="count"/>-1, each the holder of a file of their own
    /// with nothing pending at login (terms accepted, e-mail verified, delegation answered). One Argon2id hash serves every
    /// person (it carries its own salt): the login still verifies it at full cost, seeding does not pay it a million times.
    /// </summary>
    public static async Task SeedAsync(string connectionString, int from, int count)
    {
        await using var db = Context(connectionString);
        var terms = await db.TermsOfUse.OrderByDescending(t => t.Version).Select(t => (int?)t.Version).FirstOrDefaultAsync() ?? 1;
        var hash = new Argon2idSecretHasher(new Argon2idOptions()).Hash(Password);
        var now = DateTimeOffset.UtcNow;
        var watch = Stopwatch.StartNew();
        for (var i = from; i < from + count; i++)
        {
            var person = new PersonAccount
            {
                Nir = Nir(i), GivenNames = "Personne", BirthName = string.Create(CultureInfo.InvariantCulture, $"BENCH{i:D7}"),
                Email = string.Create(CultureInfo.InvariantCulture, $"bench{i}@example.test"), EmailVerified = true,
                PasswordHash = hash, CredentialKind = CredentialKind.Personal, PasswordSetAt = now, AcceptedTermsVersion = terms, TermsAcceptedAt = now,
            };
            var file = new Household { FileNumber = (3_000_000 + i).ToString(CultureInfo.InvariantCulture) };
            file.Members.Add(new HouseholdMembership { Person = person, Role = HouseholdRole.Allocataire, JoinedAt = now, DelegationChoiceAt = now });
            db.Households.Add(file);
            if ((i - from + 1) % 2000 == 0 || i == from + count - 1)
            {
                await db.SaveChangesAsync();
                db.ChangeTracker.Clear();
            }
        }
        Console.WriteLine($"seeded {count} persons in {watch.Elapsed.TotalSeconds:F1} s");
    }

    /// <summary>Unique valid NIRs (commune 997, no demo person's): order 001-999, then month and year of birth.</summary>
    public static string Nir(int i)
    {
        var order = i % 999 + 1;
        var month = i / 999 % 12 + 1;
        var year = i / (999 * 12) % 100;
        var department = 10 + i / (999 * 12 * 100) % 80;
        var body = string.Create(CultureInfo.InvariantCulture, $"{1 + i % 2}{year:D2}{month:D2}{department:D2}997{order:D3}");
        return body;
    }

    public sealed record LoginSettings(Uri Provider, string ClientId, string? ClientSecret, string RedirectUri, int From, int Count, int Concurrency, int ProviderPid,
        string? Postgres, string TokensFile, string ResultFile, string Label);

    /// <summary>
    /// Signs persons From..From+Count-1 in, Concurrency at a time: authorize → login page → login POST → authorize → token.
    /// Writes one refresh token per line to TokensFile and the figures to ResultFile (JSON).
    /// </summary>
    public static async Task LoginsAsync(LoginSettings settings)
    {
        using var http = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false, MaxConnectionsPerServer = settings.Concurrency * 2 })
        { BaseAddress = settings.Provider, Timeout = TimeSpan.FromMinutes(2) };
        var tokens = new ConcurrentBag<string>();
        var failures = 0;
        var firstFailure = (string?)null;
        var latencies = new ConcurrentBag<double>();
        var cpuBefore = ProcessCpu(settings.ProviderPid);
        var rssBefore = ResidentBytes(settings.ProviderPid);
        var pgBefore = settings.Postgres is null ? 0 : await DatabaseBytesAsync(settings.Postgres);
        var watch = Stopwatch.StartNew();
        var next = settings.From - 1;
        await Task.WhenAll(Enumerable.Range(0, settings.Concurrency).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < settings.From + settings.Count)
            {
                try
                {
                    var started = Stopwatch.GetTimestamp();
                    tokens.Add(await SignInAsync(http, settings, i));
                    latencies.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                }
                catch (Exception exception) when (exception is HttpRequestException or InvalidOperationException or TaskCanceledException or JsonException or KeyNotFoundException)
                {
                    Interlocked.Increment(ref failures);
                    Interlocked.CompareExchange(ref firstFailure, exception.Message, null);
                }
            }
        }));
        var elapsed = watch.Elapsed;
        var cpu = ProcessCpu(settings.ProviderPid) - cpuBefore;
        // The provider's resident memory settles after a collection: ask for none, read it as an operator would.
        var rssAfter = ResidentBytes(settings.ProviderPid);
        var pgAfter = settings.Postgres is null ? 0 : await DatabaseBytesAsync(settings.Postgres);
        await File.WriteAllLinesAsync(settings.TokensFile, tokens);
        var sorted = latencies.Order().ToArray();
        var result = new JsonObject
        {
            ["label"] = settings.Label,
            ["client_id"] = settings.ClientId,
            ["concurrency"] = settings.Concurrency,
            ["logins"] = tokens.Count,
            ["failures"] = failures,
            ["first_failure"] = firstFailure,
            ["seconds"] = elapsed.TotalSeconds,
            ["per_second"] = tokens.Count / elapsed.TotalSeconds,
            ["p99_ms"] = sorted.Length == 0 ? 0 : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(0.99 * sorted.Length) - 1)],
            ["server_cpu_ms_per_login"] = tokens.Count == 0 ? 0 : cpu.TotalMilliseconds / tokens.Count,
            ["rss_bytes_before"] = rssBefore,
            ["rss_bytes_after"] = rssAfter,
            ["pg_bytes_before"] = pgBefore,
            ["pg_bytes_after"] = pgAfter,
        };
        await File.WriteAllTextAsync(settings.ResultFile, result.ToJsonString());
        Console.WriteLine($"{settings.Label}: {tokens.Count} logins ({failures} failed) in {elapsed.TotalSeconds:F1} s = {tokens.Count / elapsed.TotalSeconds:F1}/s, " +
            $"server CPU {(tokens.Count == 0 ? 0 : cpu.TotalMilliseconds / tokens.Count):F1} ms per login" + (firstFailure is null ? "" : $"; first failure: {firstFailure}"));
    }

    private static async Task<string> SignInAsync(HttpClient http, LoginSettings settings, int person)
    {
        var cookies = new Dictionary<string, string>(StringComparer.Ordinal);
        var verifier = Base64Url(RandomNumberGenerator.GetBytes(32));
        var challenge = Base64Url(SHA256.HashData(Encoding.ASCII.GetBytes(verifier)));
        var authorize = "/connect/authorize?" + string.Join('&', new Dictionary<string, string>
        {
            ["client_id"] = settings.ClientId, ["redirect_uri"] = settings.RedirectUri, ["response_type"] = "code",
            ["scope"] = "openid profile caf offline_access", ["state"] = Base64Url(RandomNumberGenerator.GetBytes(12)),
            ["nonce"] = Base64Url(RandomNumberGenerator.GetBytes(12)), ["code_challenge"] = challenge, ["code_challenge_method"] = "S256",
        }.Select(p => p.Key + "=" + Uri.EscapeDataString(p.Value)));

        var (toLogin, _) = await SendAsync(http, cookies, HttpMethod.Get, authorize);
        var (page, html) = await SendAsync(http, cookies, HttpMethod.Get, Local(toLogin.Headers.Location));
        var action = WebUtility.HtmlDecode(FormAction().Match(html).Groups[1].Value);
        var antiforgery = Antiforgery().Match(html).Groups[1].Value;
        if (page.StatusCode != HttpStatusCode.OK || action.Length == 0 || antiforgery.Length == 0)
        {
            throw new InvalidOperationException($"login page: {(int)page.StatusCode}");
        }
        var (login, loginHtml) = await SendAsync(http, cookies, HttpMethod.Post, action, new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["Input.Identifier"] = Nir(person), ["Input.Password"] = Password, ["__RequestVerificationToken"] = antiforgery,
        }));
        if (login.StatusCode != HttpStatusCode.Redirect)
        {
            throw new InvalidOperationException($"login POST: {(int)login.StatusCode} {Regex.Match(loginHtml, "fr-(?:error-text|alert__title)[^>]*>([^<]+)<").Groups[1].Value.Trim()}");
        }
        var (back, _) = await SendAsync(http, cookies, HttpMethod.Get, Local(login.Headers.Location));
        var code = Regex.Match(back.Headers.Location?.Query ?? "", "[?&]code=([^&]+)").Groups[1].Value;
        if (code.Length == 0)
        {
            throw new InvalidOperationException($"no code: {(int)back.StatusCode} {back.Headers.Location}");
        }
        using var token = new HttpRequestMessage(HttpMethod.Post, "/connect/token");
        var form = new Dictionary<string, string>
        {
            ["grant_type"] = "authorization_code", ["code"] = Uri.UnescapeDataString(code), ["redirect_uri"] = settings.RedirectUri, ["code_verifier"] = verifier,
        };
        if (settings.ClientSecret is null) form["client_id"] = settings.ClientId;
        else token.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{settings.ClientId}:{settings.ClientSecret}")));
        token.Content = new FormUrlEncodedContent(form);
        using var response = await http.SendAsync(token);
        var body = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"token: {(int)response.StatusCode} {body}");
        }
        return JsonDocument.Parse(body).RootElement.GetProperty("refresh_token").GetString()!;
    }

    private static async Task<(HttpResponseMessage Response, string Body)> SendAsync(HttpClient http, Dictionary<string, string> cookies, HttpMethod method, string path, HttpContent? content = null)
    {
        using var request = new HttpRequestMessage(method, path) { Content = content };
        if (cookies.Count > 0)
        {
            request.Headers.Add("Cookie", string.Join("; ", cookies.Select(c => c.Key + "=" + c.Value)));
        }
        var response = await http.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        if (response.Headers.TryGetValues("Set-Cookie", out var setCookies))
        {
            foreach (var header in setCookies)
            {
                var pair = header.Split(';', 2)[0];
                var at = pair.IndexOf('=');
                if (at <= 0) continue;
                var (name, value) = (pair[..at], pair[(at + 1)..]);
                if (value.Length == 0 || header.Contains("expires=Thu, 01 Jan 1970", StringComparison.OrdinalIgnoreCase)) cookies.Remove(name);
                else cookies[name] = value;
            }
        }
        return (response, body);
    }

    private static string Local(Uri? location) => location is null
        ? throw new InvalidOperationException("no redirect")
        : location.IsAbsoluteUri ? location.PathAndQuery : location.OriginalString;

    private static string Base64Url(byte[] bytes) => System.Buffers.Text.Base64Url.EncodeToString(bytes);

    /// <summary>utime + stime of a process, from /proc/&lt;pid&gt;/stat (fields 14 and 15, in clock ticks of 1/100 s on Linux).</summary>
    public static TimeSpan ProcessCpu(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        // fields[0] is field 3 (state): utime is field 14, stime field 15.
        var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        return TimeSpan.FromSeconds(ticks / 100.0);
    }

    public static long ResidentBytes(int pid)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
            }
        }
        return 0;
    }

    public static async Task<long> DatabaseBytesAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        // Dirty pages reach the files at a checkpoint: force one so that the size is what the rows take.
        await using (var checkpoint = new NpgsqlCommand("CHECKPOINT", connection)) await checkpoint.ExecuteNonQueryAsync();
        await using var size = new NpgsqlCommand("SELECT pg_database_size(current_database())", connection);
        return (long)(await size.ExecuteScalarAsync())!;
    }

    [GeneratedRegex("<form method=\"post\"[^>]*action=\"([^\"]+)\"")]
    private static partial Regex FormAction();

    [GeneratedRegex("name=\"__RequestVerificationToken\" type=\"hidden\" value=\"([^\"]+)\"")]
    private static partial Regex Antiforgery();
}
