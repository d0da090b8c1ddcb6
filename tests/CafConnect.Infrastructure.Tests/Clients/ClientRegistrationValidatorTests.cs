using CafConnect.Infrastructure.Clients;

namespace CafConnect.Infrastructure.Tests.Clients;

public sealed class ClientRegistrationValidatorTests
{
    private static readonly ClientRegistrationValidator Validator = new();

    private static ClientRegistration Web(params string[] redirectUris) => new()
    {
        ClientId = "caf-fr",
        DisplayName = "caf.fr",
        Kind = ClientKind.Confidential,
        ClientSecret = "un-secret-suffisamment-long-0123456789",
        RedirectUris = redirectUris,
    };

    private static ClientRegistration Native(params string[] redirectUris) => new()
    {
        ClientId = "caf-mobile",
        DisplayName = "Appli",
        Kind = ClientKind.Public,
        RedirectUris = redirectUris,
    };

    [TestCase("https://www.caf.fr/callback", TestName = "https redirect URI is accepted")]
    [TestCase("http://127.0.0.1:5000/callback", TestName = "http on 127.0.0.1 is accepted")]
    [TestCase("http://localhost:8080/cb", TestName = "http on localhost is accepted")]
    [TestCase("http://[::1]:8080/cb", TestName = "http on IPv6 loopback is accepted")]
    public void Web_client_redirect_uri_accepted(string uri) =>
        Assert.That(Validator.Validate(Web(uri)).IsValid, Is.True);

    [TestCase("/callback", "absolute", TestName = "Relative redirect URI is refused")]
    [TestCase("http://www.caf.fr/callback", "https", TestName = "http on a public host is refused")]
    [TestCase("https://*.caf.fr/callback", "wildcard", TestName = "Wildcard host is refused")]
    [TestCase("https://www.caf.fr/*", "wildcard", TestName = "Wildcard path is refused")]
    [TestCase("https://www.caf.fr/callback#x", "fragment", TestName = "Fragment is refused")]
    [TestCase("fr.caf.moncompte:/cb", "https", TestName = "Private-use scheme is refused for a confidential client")]
    [TestCase("javascript:alert(1)", "https", TestName = "javascript scheme is refused")]
    public void Web_client_redirect_uri_refused(string uri, string expected)
    {
        var result = Validator.Validate(Web(uri));
        Assert.That(result.IsValid, Is.False);
        Assert.That(string.Join(" ", result.Errors.Select(e => e.ErrorMessage)), Does.Contain(expected));
    }

    [Test]
    public void Native_client_may_use_a_private_use_scheme_with_a_dot() =>
        Assert.That(Validator.Validate(Native("fr.caf.moncompte:/oauth2redirect")).IsValid, Is.True);

    [Test]
    public void Native_client_may_not_use_a_scheme_without_a_dot() =>
        Assert.That(Validator.Validate(Native("moncompte:/oauth2redirect")).IsValid, Is.False);

    [Test]
    public void Confidential_client_needs_a_long_secret()
    {
        Assert.That(Validator.Validate(Web("https://www.caf.fr/cb") with { ClientSecret = null }).IsValid, Is.False);
        Assert.That(Validator.Validate(Web("https://www.caf.fr/cb") with { ClientSecret = "court" }).IsValid, Is.False);
    }

    [Test]
    public void Public_client_has_no_secret() =>
        Assert.That(Validator.Validate(Native("fr.caf.moncompte:/cb") with { ClientSecret = "un-secret-suffisamment-long-0123456789" }).IsValid, Is.False);

    [Test]
    public void Unknown_scope_is_refused() =>
        Assert.That(Validator.Validate(Web("https://www.caf.fr/cb") with { Scopes = ["caf", "admin"] }).IsValid, Is.False);

    [TestCase("Caf-FR", TestName = "Client id with capitals is refused")]
    [TestCase("a", TestName = "One-character client id is refused")]
    [TestCase("caf fr", TestName = "Client id with a space is refused")]
    public void Malformed_client_id_is_refused(string clientId) =>
        Assert.That(Validator.Validate(Web("https://www.caf.fr/cb") with { ClientId = clientId }).IsValid, Is.False);

    [Test]
    public void No_redirect_uri_is_refused() =>
        Assert.That(Validator.Validate(Web()).IsValid, Is.False);

    [Test]
    public void The_phone_grant_is_accepted_for_a_confidential_client() =>
        Assert.That(Validator.Validate(Web("https://www.caf.fr/callback") with { ExtraGrantTypes = [CafGrantTypes.LegacyCode] }).IsValid, Is.True);

    [Test]
    public void The_phone_grant_is_refused_for_a_public_client()
    {
        var result = Validator.Validate(Native("fr.caf.moncompte:/cb") with { ExtraGrantTypes = [CafGrantTypes.LegacyCode] });
        Assert.That(result.IsValid, Is.False);
        Assert.That(string.Join(" ", result.Errors.Select(e => e.ErrorMessage)), Does.Contain("only a confidential client"));
    }

    [TestCase("password", TestName = "The password grant cannot be registered")]
    [TestCase("client_credentials", TestName = "The client credentials grant cannot be registered")]
    [TestCase("urn:cafconnect:params:oauth:grant-type:other", TestName = "An unknown custom grant cannot be registered")]
    public void Other_extra_grants_are_refused(string grant)
    {
        var result = Validator.Validate(Web("https://www.caf.fr/callback") with { ExtraGrantTypes = [grant] });
        Assert.That(result.IsValid, Is.False);
        Assert.That(string.Join(" ", result.Errors.Select(e => e.ErrorMessage)), Does.Contain("unknown grant type"));
    }
}
