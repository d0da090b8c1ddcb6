using System.Collections.Concurrent;
using CafConnect.IdP.Demo;
using CafConnect.IdP.Tests.Features.FirstLogin;
using CafConnect.IdP.Tests.Support;
using Microsoft.Extensions.Logging;

namespace CafConnect.IdP.Tests.Operations;

/// <summary>
/// A full journey as a person makes it, for the operations tests: Jeanne signs in at caf.fr with a wrong then the right
/// password and her tokens are refreshed; Paul makes his first login with the file's legacy code, a wrong and then the
/// right SMS code. Returns every secret the journey handled, so that tests can look for them where they must not be.
/// </summary>
public static class OperationsJourney
{
    public sealed record Secrets(IReadOnlyList<string> Values);

    public static async Task<Secrets> RunAsync(JourneyHost host)
    {
        var secrets = new List<string>
        {
            DemoData.JeanneDupont.Nir!, "2 85 03 75 112 048", DemoData.JeanneDupont.Password, "Soleil2Parix",
            FirstLoginDriver.PaulNir, "1 78 04 13 055 123", DemoData.MartinLegacyCode, FirstLoginDriver.NewPassword,
        };

        // Jeanne: a wrong password, then the right one; code, tokens, refresh.
        var jeanne = new OidcDriver(host.Host.CreateBrowser());
        var pkce = Pkce.Create();
        var challenge = await jeanne.AuthorizeAsync(OidcDriver.AuthorizationParameters(TestClient.CafFr, pkce));
        var login = challenge.Headers.Location!.PathAndQuery;
        await jeanne.SubmitLoginAsync(new Uri(login, UriKind.Relative), "2 85 03 75 112 048", "Soleil2Parix");
        var authorization = await jeanne.SignInAsync(OidcDriver.AuthorizationParameters(TestClient.CafFr, pkce), "2 85 03 75 112 048", DemoData.JeanneDupont.Password);
        var code = authorization["code"]!;
        var tokens = await OidcDriver.ReadTokensAsync(await jeanne.RedeemCodeAsync(TestClient.CafFr, code, pkce.Verifier));
        var refreshed = await OidcDriver.ReadTokensAsync(await jeanne.RefreshAsync(TestClient.CafFr, tokens.RefreshToken!));
        await jeanne.UserInfoAsync(refreshed.AccessToken);
        secrets.AddRange([code, pkce.Verifier, tokens.AccessToken, tokens.IdToken, tokens.RefreshToken!, refreshed.AccessToken, refreshed.RefreshToken!]);

        // Paul: the first login with the legacy code and the SMS code.
        var paul = new FirstLoginDriver(host.Host.CreateBrowser());
        var intro = await paul.LoginWithLegacyCodeAsync();
        var contact = await paul.AcceptTermsAndChoosePasswordAsync(intro);
        var verify = FirstLoginDriver.Next(await paul.PostAsync(contact, new Dictionary<string, string> { ["Channel"] = "Sms", ["Mobile"] = "06 15 00 00 04" }));
        var sms = await host.Sms.WaitForAsync(FirstLoginDriver.PaulMobile);
        var smsCode = SmsGatewaySink.CodeIn(sms.Text);
        var wrongCode = smsCode == "000000" ? "111111" : "000000";
        await paul.PostAsync(verify, new Dictionary<string, string> { ["Code"] = wrongCode });
        var delegation = FirstLoginDriver.Next(await paul.PostAsync(verify, new Dictionary<string, string> { ["Code"] = smsCode }));
        await paul.AnswerDelegationAsync(delegation, "false");
        secrets.Add(smsCode);
        return new Secrets(secrets);
    }
}

/// <summary>Keeps every log entry the host writes at its configured levels, rendered with its state, scopes and exception.</summary>
public sealed class CapturingLoggerProvider : ILoggerProvider, ISupportExternalScope
{
    private IExternalScopeProvider _scopes = new LoggerExternalScopeProvider();

    public ConcurrentQueue<CapturedLog> Entries { get; } = new();

    public ILogger CreateLogger(string categoryName) => new CapturingLogger(this, categoryName);

    public void SetScopeProvider(IExternalScopeProvider scopeProvider) => _scopes = scopeProvider;

    public void Dispose()
    {
    }

    public string AllText() => string.Join("\n", Entries.Select(e => e.Text));

    public sealed record CapturedLog(string Category, EventId EventId, IReadOnlyDictionary<string, string?> State, string Text);

    private sealed class CapturingLogger(CapturingLoggerProvider provider, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => provider._scopes.Push(state);

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var values = new Dictionary<string, string?>();
            var text = new System.Text.StringBuilder().Append(category).Append(' ').Append(formatter(state, exception));
            if (state is IEnumerable<KeyValuePair<string, object?>> pairs)
            {
                foreach (var (key, value) in pairs)
                {
                    values[key] = value?.ToString();
                    text.Append(' ').Append(key).Append('=').Append(value);
                }
            }
            provider._scopes.ForEachScope((scope, builder) =>
            {
                builder.Append(" scope:");
                if (scope is IEnumerable<KeyValuePair<string, object?>> scopePairs)
                {
                    foreach (var (key, value) in scopePairs)
                    {
                        builder.Append(' ').Append(key).Append('=').Append(value);
                    }
                }
                else
                {
                    builder.Append(scope);
                }
            }, text);
            if (exception is not null)
            {
                text.Append(' ').Append(exception);
            }
            provider.Entries.Enqueue(new CapturedLog(category, eventId, values, text.ToString()));
        }
    }
}
