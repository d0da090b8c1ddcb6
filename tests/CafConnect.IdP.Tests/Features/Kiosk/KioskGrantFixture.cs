using System.Globalization;
using CafConnect.Domain.Accounts;
using CafConnect.IdP.Features.Kiosk;
using CafConnect.IdP.Tests.Support;
using CafConnect.Infrastructure.Persistence;
using CafConnect.Infrastructure.Security;
using Microsoft.Extensions.DependencyInjection;

namespace CafConnect.IdP.Tests.Features.Kiosk;

/// <summary>
/// Base of the kiosk grant's fixtures (<see cref="IdentifierPasswordGrant"/>): a person of each test's own, each test's
/// own address, the grant as a kiosk calls it and the web login it shares the account's budget with.
/// </summary>
public abstract class KioskGrantFixture(StoreKind kind) : RelayedGrantFixture(kind)
{
    public const string GrantType = "urn:cafconnect:params:oauth:grant-type:identifier-password";

    protected const string WrongPassword = "PasLeBon123";
    protected const string WebWrongCredentials = "Le numéro de Sécurité sociale ou le mot de passe est incorrect.";

    private static int _next = 100;

    /// <summary>A number no other call returned (addresses, NIRs, names).</summary>
    protected static int NextNumber() => Interlocked.Increment(ref _next);

    /// <summary>An address of this test alone (a kiosk backend's, or a browser's): one test's per-IP budget never refuses another's attempts.</summary>
    protected static string NewIp() => $"198.18.{NextNumber() % 250}.{Random.Shared.Next(1, 250)}";

    /// <summary>A kiosk client of this test alone: confidential, holding the kiosk grant, so a budget of its own.</summary>
    protected Task<TestClient> NewKioskClientAsync() => NewRelayingClientAsync("borne-", "Borne de test", GrantType, "http://127.0.0.1:5200/callback");

    /// <summary>A person of this test alone, with a password of the given kind, terms accepted and a verified mobile.</summary>
    protected async Task<(PersonAccount Person, string Nir)> NewPersonAsync(string password, CredentialKind credential = CredentialKind.Personal,
        TimeSpan? passwordAge = null, bool termsAccepted = true)
    {
        using var scope = Host.Services.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<CafConnectDbContext>();
        var hasher = scope.ServiceProvider.GetRequiredService<ISecretHasher>();
        var n = NextNumber();
        var nir = "2900675056" + (n % 1000).ToString("D3", CultureInfo.InvariantCulture);
        var person = new PersonAccount
        {
            Nir = nir,
            GivenNames = "Borne",
            BirthName = "KIOSQUE" + n,
            MobilePhone = "+33699" + n.ToString("D6", CultureInfo.InvariantCulture),
            MobilePhoneVerified = true,
            PasswordHash = hasher.Hash(password),
            CredentialKind = credential,
            PasswordSetAt = Clock.GetUtcNow() - (passwordAge ?? TimeSpan.FromDays(1)),
            AcceptedTermsVersion = termsAccepted ? 1 : null,
        };
        db.Persons.Add(person);
        await db.SaveChangesAsync();
        return (person, nir);
    }

    /// <summary>The kiosk grant's form; a parameter left null is not sent.</summary>
    protected static Dictionary<string, string> KioskForm(string? identifier, string? password, string? scope = null)
    {
        var form = new Dictionary<string, string> { ["grant_type"] = GrantType };
        if (identifier is not null) form["identifier"] = identifier;
        if (password is not null) form["password"] = password;
        if (scope is not null) form["scope"] = scope;
        return form;
    }

    /// <summary>The kiosk grant, as <paramref name="client"/> calls it from <paramref name="ip"/>.</summary>
    protected Task<HttpResponseMessage> KioskAsync(TestClient client, string? identifier, string? password, string ip, string? scope = null) =>
        DriverFrom(ip).TokenRequestAsync(client, KioskForm(identifier, password, scope));

    /// <summary>The web login page, from <paramref name="ip"/>, on its way back to <paramref name="returnUrl"/> when given.</summary>
    protected Task<HttpResponseMessage> WebLoginAsync(string nir, string password, string ip, string? returnUrl = null) =>
        DriverFrom(ip).SubmitLoginAsync(
            new Uri(returnUrl is null ? "/connexion" : "/connexion?returnUrl=" + Uri.EscapeDataString(returnUrl), UriKind.Relative), nir, password);
}
