using System.Net;
using System.Text.Json;
using CafConnect.IdP.Tests.Support;

namespace CafConnect.IdP.Tests.Features.Households;

/// <summary>
/// The permissions table as relying parties receive it: each role signs in once (authorization code flow, scope caf),
/// and every cell of the table is checked in the userinfo response actually served — granted or refused.
/// </summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
public sealed class HouseholdClaimsTests(StoreKind kind) : StoreFixture(kind)
{
    private readonly Dictionary<string, JsonElement> _userInfo = [];
    private readonly Dictionary<string, TokenSet> _tokens = [];

    /// <summary>The table of the issue, written out literally (independent of the code).</summary>
    private static readonly Dictionary<string, string[]> Expected = new()
    {
        ["allocataire"] = ["consulter_droits_paiements", "declarer_changement", "demander_prestation", "donnees_personnelles", "modifier_coordonnees",
            "declarer_separation", "suivre_demarches", "transmettre_piece_justificative", "contacter_caf", "caf_vous_demande", "gerer_autorisations"],
        ["conjoint"] = ["demande_prestation_limitee", "donnees_personnelles", "modifier_coordonnees", "declarer_separation"],
        ["conjoint délégué"] = ["consulter_droits_paiements", "declarer_changement", "demander_prestation", "donnees_personnelles", "modifier_coordonnees",
            "declarer_separation", "suivre_demarches", "transmettre_piece_justificative", "contacter_caf", "caf_vous_demande"],
        ["conjoint_allocataire"] = ["consulter_droits_paiements", "declarer_changement", "demander_prestation", "donnees_personnelles", "modifier_coordonnees",
            "declarer_separation", "suivre_demarches", "transmettre_piece_justificative", "contacter_caf", "caf_vous_demande"],
        ["enfant"] = ["donnees_personnelles"],
        ["autre"] = ["donnees_personnelles"],
        ["primo_demandeur"] = ["suivre_demarches", "transmettre_piece_justificative", "contacter_caf", "caf_vous_demande", "modifier_mot_de_passe"],
    };

    private static readonly string[] Permissions =
    [
        "consulter_droits_paiements", "declarer_changement", "demander_prestation", "demande_prestation_limitee", "donnees_personnelles",
        "modifier_coordonnees", "declarer_separation", "suivre_demarches", "transmettre_piece_justificative", "contacter_caf",
        "caf_vous_demande", "gerer_autorisations", "modifier_mot_de_passe",
    ];

    public static IEnumerable<TestCaseData> Cells() =>
        from person in HouseholdPeople.All
        from permission in Permissions
        let granted = Expected[person.Name].Contains(permission)
        select new TestCaseData(person, permission, granted).SetName($"Userinfo: {person.Name} {(granted ? "is granted" : "is not granted")} {permission}");

    [OneTimeSetUp]
    public async Task SignEveryoneInAsync()
    {
        await HouseholdPeople.SeedAsync(Host.Services);
        foreach (var person in HouseholdPeople.All)
        {
            var driver = NewBrowser();
            var tokens = await SignInAsync(driver, person, TestClient.CafFr, "openid profile caf offline_access");
            _tokens[person.Name] = tokens;
            var response = await driver.UserInfoAsync(tokens.AccessToken);
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), person.Name);
            _userInfo[person.Name] = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
        }
    }

    /// <summary>Authorize → login (NIR or « J'ai un identifiant provisoire ») → code → tokens.</summary>
    public static async Task<TokenSet> SignInAsync(OidcDriver driver, HouseholdPerson person, TestClient client, string scope)
    {
        var pkce = Pkce.Create();
        var challenge = await driver.AuthorizeAsync(OidcDriver.AuthorizationParameters(client, pkce, scope));
        Assert.That(challenge.StatusCode, Is.EqualTo(HttpStatusCode.Redirect));
        var loginPage = challenge.Headers.Location!.OriginalString + (person.Provisional ? "&mode=provisoire" : "");
        var login = await driver.SubmitLoginAsync(new Uri(loginPage, UriKind.RelativeOrAbsolute), person.Identifier, person.Password);
        Assert.That(login.StatusCode, Is.EqualTo(HttpStatusCode.Redirect), person.Name + ": " + await OidcDriver.ErrorsOf(login));
        var back = await driver.Browser.GetAsync(login.Headers.Location);
        Assert.That(back.StatusCode, Is.EqualTo(HttpStatusCode.Redirect), $"{person.Name}: the login leads back to the client, not to {login.Headers.Location}");
        var authorization = OidcDriver.ToAuthorizationResponse(back);
        Assert.That(authorization["code"], Is.Not.Null, person.Name + " gets a code at once (no pending step)");
        return await OidcDriver.ReadTokensAsync(await driver.RedeemCodeAsync(client, authorization["code"]!, pkce.Verifier));
    }

    /// <summary>The permissions the userinfo response gives this person: on their file, or outside any file for a primo-demandeur.</summary>
    private List<string> PermissionsOf(HouseholdPerson person)
    {
        var userInfo = _userInfo[person.Name];
        var source = person.FileNumber is null
            ? userInfo.GetProperty("caf_permissions")
            : userInfo.GetProperty("caf_files").EnumerateArray().Single(f => f.GetProperty("file_number").GetString() == person.FileNumber).GetProperty("permissions");
        return source.EnumerateArray().Select(p => p.GetString()!).ToList();
    }

    [TestCaseSource(nameof(Cells))]
    public void Cell(HouseholdPerson person, string permission, bool granted) =>
        Assert.That(PermissionsOf(person).Contains(permission), Is.EqualTo(granted));

    [TestCase("allocataire", "allocataire", false)]
    [TestCase("conjoint", "conjoint", false)]
    [TestCase("conjoint délégué", "conjoint", true)]
    [TestCase("conjoint_allocataire", "conjoint_allocataire", false)]
    [TestCase("enfant", "enfant", false)]
    [TestCase("autre", "autre", false)]
    public void Each_file_entry_carries_its_number_role_and_delegation(string name, string role, bool delegated)
    {
        var person = HouseholdPeople.All.Single(p => p.Name == name);
        var file = _userInfo[name].GetProperty("caf_files").EnumerateArray().Single();

        Assert.Multiple(() =>
        {
            Assert.That(file.GetProperty("file_number").GetString(), Is.EqualTo(person.FileNumber));
            Assert.That(file.GetProperty("role").GetString(), Is.EqualTo(role));
            Assert.That(file.GetProperty("delegated").GetBoolean(), Is.EqualTo(delegated));
            Assert.That(_userInfo[name].TryGetProperty("caf_primo_demandeur", out _), Is.False, "only a person without a file is a primo-demandeur");
            Assert.That(_userInfo[name].TryGetProperty("caf_permissions", out _), Is.False);
        });
    }

    [Test]
    public void A_primo_demandeur_has_no_file_and_says_so()
    {
        var userInfo = _userInfo["primo_demandeur"];

        Assert.That(userInfo.GetProperty("caf_files").GetArrayLength(), Is.Zero);
        Assert.That(userInfo.GetProperty("caf_primo_demandeur").GetBoolean(), Is.True);
    }

    [Test]
    public async Task Household_claims_ride_in_no_token_even_when_the_claims_parameter_asks_for_them()
    {
        var driver = NewBrowser();
        var tokens = _tokens["allocataire"];
        var idToken = await driver.ValidateIdTokenAsync(tokens.IdToken, TestClient.CafFr.ClientId);
        Assert.That(idToken.Claims.Select(c => c.Type), Has.None.StartsWith("caf_"), "caf_* are served by userinfo only");

        // OIDC Core 5.5: a relying party may ask caf_files in the ID token; the provider may ignore it, and does (the
        // delegation can change within the token's lifetime).
        var pkce = Pkce.Create();
        var parameters = OidcDriver.AuthorizationParameters(TestClient.CafFr, pkce, "openid caf");
        parameters["claims"] = """{"id_token":{"caf_files":null}}""";
        var authorization = await driver.SignInAsync(parameters, HouseholdPeople.Allocataire.Identifier, HouseholdPeople.Allocataire.Password);
        var asked = await OidcDriver.ReadTokensAsync(await driver.RedeemCodeAsync(TestClient.CafFr, authorization["code"]!, pkce.Verifier));
        var askedIdToken = await driver.ValidateIdTokenAsync(asked.IdToken, TestClient.CafFr.ClientId);
        Assert.That(askedIdToken.Claims.Select(c => c.Type), Has.None.StartsWith("caf_"));
        var discovery = JsonDocument.Parse(await driver.Browser.GetStringAsync("/.well-known/openid-configuration")).RootElement;
        Assert.That(discovery.TryGetProperty("claims_parameter_supported", out var supported) && supported.GetBoolean(), Is.False,
            "discovery does not promise the claims parameter");
    }

    [Test]
    public async Task A_client_registered_for_nir_gets_it_only_with_the_nir_scope_and_only_from_userinfo()
    {
        var withoutScope = NewBrowser();
        var tokens = await SignInAsync(withoutScope, HouseholdPeople.Allocataire, TestClient.Aripa, "openid profile caf");
        var userInfo = JsonDocument.Parse(await (await withoutScope.UserInfoAsync(tokens.AccessToken)).Content.ReadAsStringAsync()).RootElement;
        var idToken = await withoutScope.ValidateIdTokenAsync(tokens.IdToken, TestClient.Aripa.ClientId);
        Assert.Multiple(() =>
        {
            Assert.That(userInfo.TryGetProperty("nir", out _), Is.False, "no nir without the nir scope");
            Assert.That(idToken.Claims.Any(c => c.Type == "nir"), Is.False);
            Assert.That(tokens.Raw.GetRawText(), Does.Not.Contain(HouseholdPeople.Allocataire.Identifier));
        });

        var withScope = NewBrowser();
        var nirTokens = await SignInAsync(withScope, HouseholdPeople.Allocataire, TestClient.Aripa, "openid profile caf nir");
        var nirUserInfo = JsonDocument.Parse(await (await withScope.UserInfoAsync(nirTokens.AccessToken)).Content.ReadAsStringAsync()).RootElement;
        var nirIdToken = await withScope.ValidateIdTokenAsync(nirTokens.IdToken, TestClient.Aripa.ClientId);
        Assert.Multiple(() =>
        {
            Assert.That(nirUserInfo.GetProperty("nir").GetString(), Is.EqualTo(HouseholdPeople.Allocataire.Identifier));
            Assert.That(nirUserInfo.GetProperty("sub").GetString(), Is.Not.EqualTo(HouseholdPeople.Allocataire.Identifier));
            Assert.That(nirIdToken.Claims.Any(c => c.Type == "nir"), Is.False, "the NIR never rides in a token");
            Assert.That(nirIdToken.Subject, Does.Not.Contain(HouseholdPeople.Allocataire.Identifier));
        });
    }

    [Test]
    public async Task A_client_not_registered_for_nir_never_receives_it()
    {
        // caf-fr is not registered for the nir scope: asking for it is refused, and without it nothing carries the NIR.
        var driver = NewBrowser();
        var refused = await driver.AuthorizeAsync(OidcDriver.AuthorizationParameters(TestClient.CafFr, Pkce.Create(), "openid caf nir"));
        Assert.That(refused.StatusCode, Is.Not.EqualTo(HttpStatusCode.OK));
        Assert.That(refused.Headers.Location?.Query ?? "", Does.Not.Contain("code="));

        var tokens = _tokens["allocataire"];
        var userInfo = await (await driver.UserInfoAsync(tokens.AccessToken)).Content.ReadAsStringAsync();
        Assert.That(userInfo, Does.Not.Contain("\"nir\"").And.Not.Contain(HouseholdPeople.Allocataire.Identifier));
    }
}
