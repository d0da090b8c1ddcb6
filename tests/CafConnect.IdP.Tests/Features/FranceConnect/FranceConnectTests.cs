using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;
using CafConnect.IdP.Demo;
using CafConnect.IdP.Tests.Features.FirstLogin;
using CafConnect.IdP.Tests.Support;
using CafConnect.Infrastructure.Audit;
using CafConnect.Infrastructure.Persistence;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace CafConnect.IdP.Tests.Features.FranceConnect;

/// <summary>
/// FranceConnect federated as an external provider, over HTTP, against the stand-in (node oidc-provider): the whole round
/// trip from a relying party, the link made at the first sign-in and used afterwards, the pages of every failure.
/// Each test uses its own person of the demo data (or none), so their order does not matter.
/// </summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
public sealed class FranceConnectTests(StoreKind kind)
{
    private const string CallbackUri = "http://localhost/franceconnect/retour";
    private const string PostLogoutUri = "http://localhost/franceconnect/deconnexion/retour";

    private TestStore _store = null!;
    private FranceConnectStandIn _standIn = null!;
    private CafConnectFactory _host = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _store = TestStore.Create(kind);
        _standIn = await FranceConnectStandIn.StartAsync([CallbackUri], [PostLogoutUri]);
        _host = new CafConnectFactory(_store, _standIn.Settings());
        _ = _host.Server;
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        if (_host is not null) await _host.DisposeAsync();
        if (_standIn is not null) await _standIn.DisposeAsync();
        if (_store is not null) await _store.DisposeAsync();
    }

    private FranceConnectDriver NewBrowser() => new(_host.CreateBrowser());

    private async Task<T> QueryAsync<T>(Func<CafConnectDbContext, Task<T>> query)
    {
        using var scope = _host.Services.CreateScope();
        return await query(scope.ServiceProvider.GetRequiredService<CafConnectDbContext>());
    }

    private Task<Domain.Accounts.PersonAccount> PersonAsync(string nir) =>
        QueryAsync(db => db.Persons.AsNoTracking().SingleAsync(p => p.Nir == nir));

    [Test]
    public async Task Login_page_shows_the_official_FranceConnect_button_and_the_information_link()
    {
        var html = WebUtility.HtmlDecode(await (await _host.CreateBrowser().GetAsync("/connexion")).Content.ReadAsStringAsync());

        Assert.That(html, Does.Contain("<button class=\"fr-connect\" type=\"submit\""));
        Assert.That(html, Does.Contain("<span class=\"fr-connect__login\">S’identifier avec</span>").And.Contain("<span class=\"fr-connect__brand\">FranceConnect</span>"));
        Assert.That(html, Does.Contain("Qu’est-ce que FranceConnect ?").And.Contain("href=\"https://franceconnect.gouv.fr/\""));
    }

    [Test]
    public async Task The_FranceConnect_request_carries_state_nonce_PKCE_eidas1_and_the_pivot_scopes()
    {
        using var browser = NewBrowser();
        var challenge = await browser.Oidc.AuthorizeAsync(OidcDriver.AuthorizationParameters(TestClient.CafFr, Pkce.Create()));
        var request = await browser.ClickFranceConnectAsync(challenge.Headers.Location!);
        var parameters = FranceConnectDriver.QueryOf(request);

        Assert.That(request.GetLeftPart(UriPartial.Path), Is.EqualTo(_standIn.Issuer.AbsoluteUri.TrimEnd('/') + "/api/v2/authorize"));
        Assert.That(parameters["client_id"], Is.EqualTo(FranceConnectStandIn.ClientId));
        Assert.That(parameters["response_type"], Is.EqualTo("code"));
        Assert.That(parameters["redirect_uri"], Is.EqualTo(CallbackUri));
        Assert.That(parameters["acr_values"], Is.EqualTo("eidas1"));
        Assert.That(parameters["state"], Has.Length.GreaterThan(20));
        Assert.That(parameters["nonce"], Has.Length.GreaterThan(20));
        Assert.That(parameters["code_challenge_method"], Is.EqualTo("S256"));
        Assert.That(parameters["scope"].Split(' '), Is.SupersetOf(new[] { "openid", "given_name", "family_name", "birthdate", "gender", "birthplace", "birthcountry" }));
        Assert.That(parameters["scope"].Split(' '), Does.Not.Contain("email"), "CafConnect asks for the identity pivot only");
    }

    [Test]
    public async Task First_sign_in_links_the_matching_person_and_the_relying_party_gets_her_tokens_with_amr_fc_then_the_link_is_used()
    {
        var jeanne = await PersonAsync(DemoData.JeanneDupont.Nir!);
        using var browser = NewBrowser();
        var pkce = Pkce.Create();

        var response = await browser.SignInThroughFranceConnectAsync(OidcDriver.AuthorizationParameters(TestClient.CafFr, pkce), StandInIdentities.JeanneDupont);
        Assert.That(response["state"], Is.EqualTo("etat-123"));
        var tokens = await OidcDriver.ReadTokensAsync(await browser.Oidc.RedeemCodeAsync(TestClient.CafFr, response["code"]!, pkce.Verifier));
        var idToken = await browser.Oidc.ValidateIdTokenAsync(tokens.IdToken, TestClient.CafFr.ClientId);

        Assert.That(idToken.Subject, Is.EqualTo(jeanne.Subject), "the relying party gets Jeanne's own subject");
        Assert.That(idToken.GetPayloadValue<string[]>("amr"), Is.EqualTo(new[] { "fc" }));
        Assert.That(idToken.GetPayloadValue<string>("nonce"), Is.EqualTo("nonce-456"));
        var link = await QueryAsync(db => db.ExternalLogins.AsNoTracking().SingleAsync(l => l.PersonId == jeanne.Id));
        Assert.That(link.Provider, Is.EqualTo("FranceConnect"));
        Assert.That(link.Subject, Is.EqualTo(StandInIdentities.JeanneDupont));
        var linked = await QueryAsync(db => db.AuditEvents.AsNoTracking().Where(e => e.Type == AuditEventTypes.FranceConnectLinked && e.PersonId == jeanne.Id).ToListAsync());
        Assert.That(linked, Has.Count.EqualTo(1), "the link is audited (\"FranceConnect link\")");
        Assert.That(linked[0].ClientId, Is.EqualTo(TestClient.CafFr.ClientId));

        // The civil status changes at the Caf (a corrected given name): the link, not the match, opens the account now.
        await QueryAsync(async db =>
        {
            var person = await db.Persons.SingleAsync(p => p.Id == jeanne.Id);
            person.GivenNames = "Jeannette";
            return await db.SaveChangesAsync();
        });
        var loginsBefore = await QueryAsync(db => db.AuditEvents.CountAsync(e => e.Type == AuditEventTypes.LoginSucceeded && e.Outcome == "fc" && e.PersonId == jeanne.Id));
        using var again = NewBrowser();
        var secondPkce = Pkce.Create();
        var second = await again.SignInThroughFranceConnectAsync(OidcDriver.AuthorizationParameters(TestClient.Aripa, secondPkce, "openid profile"), StandInIdentities.JeanneDupont);
        var secondTokens = await OidcDriver.ReadTokensAsync(await again.Oidc.RedeemCodeAsync(TestClient.Aripa, second["code"]!, secondPkce.Verifier));
        Assert.That((await again.Oidc.ValidateIdTokenAsync(secondTokens.IdToken, TestClient.Aripa.ClientId)).Subject, Is.EqualTo(jeanne.Subject));
        Assert.That(await QueryAsync(db => db.AuditEvents.CountAsync(e => e.Type == AuditEventTypes.FranceConnectLinked && e.PersonId == jeanne.Id)), Is.EqualTo(1), "no second link");
        Assert.That(await QueryAsync(db => db.AuditEvents.CountAsync(e => e.Type == AuditEventTypes.LoginSucceeded && e.Outcome == "fc" && e.PersonId == jeanne.Id)), Is.EqualTo(loginsBefore + 1));
    }

    [Test]
    public async Task A_self_declared_account_that_joined_a_file_by_invitation_is_never_what_a_FranceConnect_identity_opens()
    {
        // Adversarial review (5 December 2026, fourth session), the residual of the 4 December one: a holder (Louise here)
        // invites Lucie BERNARD's civil status — someone the Caf does not know — with a contact of her own, creates that
        // account without a NIR with « Nantes » typed as the birth commune, and accepts the invitation. A file membership
        // made the typed commune count: Lucie's first FranceConnect login opened the account Louise holds the password of.
        var louise = await PersonAsync(DemoData.LouiseDubois.Nir!);
        var squatter = await SeedBornInFranceAsync("P44109001", Domain.Accounts.Civility.Madame, "Lucie", "BERNARD", new DateOnly(1995, 2, 1), "Nantes", onAFile: false);
        await QueryAsync(async db =>
        {
            var file = await db.Households.SingleAsync(h => h.FileNumber == "1234567");
            var now = DateTimeOffset.UtcNow;
            db.HouseholdInvitations.Add(new Domain.Households.HouseholdInvitation
            {
                HouseholdId = file.Id, Role = Domain.Households.HouseholdRole.Autre, BirthName = "BERNARD", GivenNames = "Lucie", BirthDate = new DateOnly(1995, 2, 1),
                Contact = squatter.MobilePhone!, InvitedByPersonId = louise.Id, CreatedAt = now.AddMinutes(-10), ExpiresAt = now.AddDays(30),
                AcceptedAt = now, AcceptedByPersonId = squatter.Id,
            });
            db.Memberships.Add(new Domain.Households.HouseholdMembership { HouseholdId = file.Id, PersonId = squatter.Id, Role = Domain.Households.HouseholdRole.Autre, JoinedAt = now });
            return await db.SaveChangesAsync();
        });
        try
        {
            using var browser = NewBrowser();
            var challenge = await browser.Oidc.AuthorizeAsync(OidcDriver.AuthorizationParameters(TestClient.CafFr, Pkce.Create()));
            var callback = await browser.AuthenticateAtFranceConnectAsync(await browser.ClickFranceConnectAsync(challenge.Headers.Location!), StandInIdentities.Nobody);
            var back = await browser.ArriveAtCafConnectAsync(callback);

            Assert.That(back.Headers.Location!.OriginalString, Does.StartWith("/franceconnect/compte-non-trouve"), "a birth commune only the person typed is never compared");
            Assert.That(await QueryAsync(db => db.ExternalLogins.CountAsync(l => l.Subject == StandInIdentities.Nobody || l.PersonId == squatter.Id)), Is.Zero);
        }
        finally
        {
            // The fixture's store is shared: the other tests of Lucie's identity must still find nobody.
            await QueryAsync(async db =>
            {
                db.ExternalLogins.RemoveRange(db.ExternalLogins.Where(l => l.PersonId == squatter.Id));
                (await db.Persons.SingleAsync(p => p.Id == squatter.Id)).ClosedAt = DateTimeOffset.UtcNow;
                return await db.SaveChangesAsync();
            });
        }
    }

    [Test]
    public async Task An_identity_that_matches_nobody_gets_the_french_page_and_no_session()
    {
        using var browser = NewBrowser();
        var authorization = OidcDriver.AuthorizationParameters(TestClient.CafFr, Pkce.Create());
        var challenge = await browser.Oidc.AuthorizeAsync(authorization);
        var callback = await browser.AuthenticateAtFranceConnectAsync(await browser.ClickFranceConnectAsync(challenge.Headers.Location!), StandInIdentities.Nobody);
        var back = await browser.ArriveAtCafConnectAsync(callback);

        Assert.That(back.StatusCode, Is.EqualTo(HttpStatusCode.Redirect));
        Assert.That(back.Headers.Location!.OriginalString, Does.StartWith("/franceconnect/compte-non-trouve"));
        var page = await browser.CafConnect.GetAsync(back.Headers.Location);
        var html = WebUtility.HtmlDecode(await page.Content.ReadAsStringAsync());
        Assert.That(page.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(html, Does.Contain("Nous n'avons pas pu vous connecter avec FranceConnect"));
        Assert.That(html, Does.Contain("Se connecter avec mes identifiants Caf").And.Contain("Créer Mon Compte"));
        Assert.That(html, Does.Contain("/connexion?returnUrl=%2Fconnect%2Fauthorize"), "back to the login page with the pending request");

        var retry = await browser.Oidc.AuthorizeAsync(authorization);
        Assert.That(retry.Headers.Location!.AbsolutePath, Is.EqualTo("/connexion"), "nobody is signed in");
        var audit = await QueryAsync(db => db.AuditEvents.AsNoTracking().Where(e => e.Type == AuditEventTypes.FranceConnectNotLinked).ToListAsync());
        Assert.That(audit.Select(e => e.Outcome), Does.Contain("no_match"));
        Assert.That(audit.Where(e => e.Outcome == "no_match").Select(e => e.PersonId), Is.All.Null, "an unmatched identity names nobody");
        Assert.That(await QueryAsync(db => db.ExternalLogins.CountAsync(l => l.Subject == StandInIdentities.Nobody)), Is.Zero);
    }

    [Test]
    public async Task Cancelling_at_FranceConnect_shows_a_french_error_page()
    {
        using var browser = NewBrowser();
        var challenge = await browser.Oidc.AuthorizeAsync(OidcDriver.AuthorizationParameters(TestClient.CafFr, Pkce.Create()));
        var callback = await browser.AuthenticateAtFranceConnectAsync(await browser.ClickFranceConnectAsync(challenge.Headers.Location!), StandInIdentities.JeanneDupont, cancel: true);
        Assert.That(FranceConnectDriver.QueryOf(callback)["error"], Is.EqualTo("access_denied"));

        var back = await browser.ArriveAtCafConnectAsync(callback);
        Assert.That(back.StatusCode, Is.EqualTo(HttpStatusCode.Redirect));
        Assert.That(back.Headers.Location!.OriginalString, Does.StartWith("/franceconnect/erreur?motif=annule"));
        var page = await browser.CafConnect.GetAsync(back.Headers.Location);
        Assert.That(page.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(WebUtility.HtmlDecode(await page.Content.ReadAsStringAsync()), Does.Contain("Connexion avec FranceConnect annulée"));
        Assert.That(await QueryAsync(db => db.AuditEvents.CountAsync(e => e.Type == AuditEventTypes.FranceConnectFailed && e.Outcome == "access_denied")), Is.GreaterThanOrEqualTo(1));
    }

    [Test]
    public async Task A_tampered_state_a_replayed_answer_and_an_answer_in_another_browser_are_refused_with_a_french_page()
    {
        using var browser = NewBrowser();
        var challenge = await browser.Oidc.AuthorizeAsync(OidcDriver.AuthorizationParameters(TestClient.CafFr, Pkce.Create()));
        var callback = await browser.AuthenticateAtFranceConnectAsync(await browser.ClickFranceConnectAsync(challenge.Headers.Location!), StandInIdentities.Nobody);
        var query = FranceConnectDriver.QueryOf(callback);

        // The state with one character changed: OpenIddict's state token no longer validates.
        var state = query["state"];
        var tamperedState = state[..^2] + (state[^2] == 'A' ? 'B' : 'A') + state[^1];
        var tampered = await browser.CafConnect.GetAsync($"/franceconnect/retour?code={Uri.EscapeDataString(query["code"])}&state={Uri.EscapeDataString(tamperedState)}&iss={Uri.EscapeDataString(query["iss"])}");
        await AssertRefusedAsync(browser, tampered, "tampered state");

        // The genuine answer in the right browser works once; replaying it is refused.
        var first = await browser.ArriveAtCafConnectAsync(callback);
        // (An identity that matches nobody, so that this test links no one: the answer is accepted, the match finds no one.)
        Assert.That(first.Headers.Location!.OriginalString, Does.StartWith("/franceconnect/compte-non-trouve"), "the genuine answer still works once");
        await AssertRefusedAsync(browser, await browser.ArriveAtCafConnectAsync(callback), "replay");

        // An answer delivered to another browser (no correlation cookie, e.g. a leaked URL) opens nothing there, and is
        // spent: the browser that asked for it cannot use it either afterwards.
        using var asking = NewBrowser();
        var again = await asking.Oidc.AuthorizeAsync(OidcDriver.AuthorizationParameters(TestClient.CafFr, Pkce.Create()));
        var leaked = await asking.AuthenticateAtFranceConnectAsync(await asking.ClickFranceConnectAsync(again.Headers.Location!), StandInIdentities.Nobody);
        using var other = NewBrowser();
        await AssertRefusedAsync(other, await other.ArriveAtCafConnectAsync(leaked), "another browser");
        var retry = await other.Oidc.AuthorizeAsync(OidcDriver.AuthorizationParameters(TestClient.CafFr, Pkce.Create()));
        Assert.That(retry.Headers.Location!.AbsolutePath, Is.EqualTo("/connexion"), "nothing was signed in in the other browser");
        await AssertRefusedAsync(asking, await asking.ArriveAtCafConnectAsync(leaked), "spent answer");
    }

    private static async Task AssertRefusedAsync(FranceConnectDriver browser, HttpResponseMessage response, string what)
    {
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Redirect), what + ": " + await response.Content.ReadAsStringAsync());
        Assert.That(response.Headers.Location!.OriginalString, Does.StartWith("/franceconnect/erreur?motif=invalide"), what);
        var page = await browser.CafConnect.GetAsync(response.Headers.Location);
        Assert.That(page.StatusCode, Is.EqualTo(HttpStatusCode.OK), what);
        Assert.That(WebUtility.HtmlDecode(await page.Content.ReadAsStringAsync()), Does.Contain("La réponse de FranceConnect n'a pas pu être vérifiée"), what);
    }

    [Test]
    public async Task Missing_forged_hostile_and_oversized_callback_parameters_never_give_a_500_nor_leave_the_site()
    {
        using var browser = NewBrowser();
        var markup = Uri.EscapeDataString("<script>alert(1)</script>\u202e");
        var huge = new string('A', 10_000);
        foreach (var path in new[]
        {
            "/franceconnect/retour", "/franceconnect/retour?code=abc", "/franceconnect/retour?error=access_denied&state=x",
            "/franceconnect/deconnexion/retour?state=x", $"/franceconnect/retour?code={huge}&state={huge}",
            $"/franceconnect/retour?code={markup}&state={markup}&iss={markup}", $"/franceconnect/retour?error={markup}&error_description={markup}",
            "/franceconnect/retour?state=a&state=b&code=c&code=d", $"/franceconnect/erreur?motif={markup}&returnUrl={markup}",
            "/franceconnect/compte-non-trouve?returnUrl=%2F%2Fevil.example%2F", "/franceconnect/erreur?returnUrl=https%3A%2F%2Fevil.example%2F",
        })
        {
            var response = await browser.CafConnect.GetAsync(path);
            Assert.That((int)response.StatusCode, Is.LessThan(500), path);
            if (response.StatusCode == HttpStatusCode.Redirect)
            {
                Assert.That(response.Headers.Location!.OriginalString, Does.StartWith("/").And.Not.StartWith("//"), path);
            }
            var body = await response.Content.ReadAsStringAsync();
            Assert.That(body, Does.Not.Contain("<script>alert").And.Not.Contain("evil.example"), path);
        }
    }

    /// <summary>
    /// Adversarial review, 6 December 2026, seventh session: a POST to either return address without a url-encoded form
    /// (no body, JSON, text, multipart) was a 500 — OpenIddict's client refused the request yet went on authenticating it
    /// and threw in its state-token handler. It is no answer from FranceConnect: the invalid-answer page, as a forged form.
    /// </summary>
    [Test]
    public async Task A_post_to_the_return_addresses_without_a_url_encoded_form_is_an_invalid_answer_never_a_500()
    {
        using var browser = NewBrowser();
        var bodies = new Func<HttpContent?>[]
        {
            () => null,
            () => new StringContent("{\"code\":\"abc\",\"state\":\"x\"}", System.Text.Encoding.UTF8, "application/json"),
            () => new StringContent("code=abc&state=x", System.Text.Encoding.UTF8, "text/plain"),
            () => new MultipartFormDataContent { { new StringContent("x"), "state" } },
            () => new FormUrlEncodedContent(new Dictionary<string, string> { ["code"] = "abc", ["state"] = "x" }),
        };
        foreach (var (path, expected) in new[] { ("/franceconnect/retour", "/franceconnect/erreur?motif=invalide"), ("/franceconnect/deconnexion/retour", "/deconnexion/terminee") })
        {
            foreach (var body in bodies)
            {
                using var content = body();
                var response = await browser.CafConnect.PostAsync(path, content);
                var what = $"{path} {content?.Headers.ContentType?.MediaType ?? "(no body)"}";
                Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Redirect), what);
                Assert.That(response.Headers.Location!.OriginalString, Is.EqualTo(expected), what);
            }
        }
    }

    /// <summary>
    /// Adversarial review, 6 December 2026, seventh session: « S'identifier avec FranceConnect » posted without its
    /// anti-forgery token (another site's form, or none) was refused with a 400 that the French error page, re-executed
    /// with the refused form, turned into a 500 (with a stack trace in Development).
    /// </summary>
    [Test]
    public async Task Starting_FranceConnect_without_the_anti_forgery_token_is_a_french_400_never_a_500()
    {
        using var browser = NewBrowser();
        var bodies = new Func<HttpContent?>[]
        {
            () => new FormUrlEncodedContent(new Dictionary<string, string> { ["returnUrl"] = "/mon-compte" }),
            () => new FormUrlEncodedContent(new Dictionary<string, string> { ["returnUrl"] = "/mon-compte", ["__RequestVerificationToken"] = "forge" }),
            () => null,
        };
        foreach (var body in bodies)
        {
            using var content = body();
            var response = await browser.CafConnect.PostAsync("/franceconnect/connexion", content);
            var html = await response.Content.ReadAsStringAsync();
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), html);
            Assert.That(response.Headers.Location, Is.Null, "not sent to FranceConnect");
            Assert.That(html, Does.Contain("Demande invalide").And.Not.Contain("   at ").And.Not.Contain("Exception"));
        }
    }

    /// <summary>
    /// Adversarial review, 6 December 2026, seventh session: a kiosk asks a login for every visitor (decision 53), but
    /// FranceConnect keeps a session of its own in the kiosk's browser. The next visitor clicking « S'identifier avec
    /// FranceConnect » came back at once as the previous one, and the kiosk got a code for them. A request waiting for
    /// a login made for it now asks FranceConnect for one too (prompt=login).
    /// </summary>
    [Test]
    public async Task At_a_kiosk_FranceConnect_is_asked_for_a_login_so_the_previous_visitors_session_there_never_signs_the_next_one_in()
    {
        var kiosk = new TestClient("borne", "demo-secret-borne-not-for-production", "http://127.0.0.1:5200/callback", null);
        using var browser = NewBrowser();
        var first = await browser.SignInThroughFranceConnectAsync(OidcDriver.AuthorizationParameters(kiosk, Pkce.Create(), scope: "openid caf"), StandInIdentities.LouiseDubois);
        Assert.That(first["code"], Is.Not.Null, "the first visitor signs in through FranceConnect");

        // The next visitor, at the same kiosk: CafConnect asks a login, and the visitor chooses FranceConnect.
        var challenge = await browser.Oidc.AuthorizeAsync(OidcDriver.AuthorizationParameters(kiosk, Pkce.Create(), scope: "openid caf"));
        Assert.That(challenge.Headers.Location!.AbsolutePath, Is.EqualTo("/connexion"));
        var request = await browser.ClickFranceConnectAsync(challenge.Headers.Location!);
        Assert.That(FranceConnectDriver.QueryOf(request).GetValueOrDefault("prompt"), Is.EqualTo("login"));
        var atFranceConnect = await browser.FollowAsync(request);
        Assert.That(atFranceConnect.AbsolutePath, Does.StartWith("/interaction/"),
            "FranceConnect asks who is signing in instead of answering with the previous visitor: " + atFranceConnect);
    }

    /// <summary>
    /// A FranceConnect that ignores <c>prompt=login</c> answers with the session it already had: its ID token's
    /// <c>auth_time</c> is older than the request (adversarial review, 6 December 2026, seventh session, residual of
    /// decision 55). The stand-in is told the identity authenticated ten minutes earlier.
    /// </summary>
    [Test]
    public async Task When_a_login_was_asked_an_authentication_older_than_the_request_is_refused_with_a_french_page_and_audited()
    {
        var kiosk = new TestClient("borne", "demo-secret-borne-not-for-production", "http://127.0.0.1:5200/callback", null);
        using var browser = NewBrowser();
        var challenge = await browser.Oidc.AuthorizeAsync(OidcDriver.AuthorizationParameters(kiosk, Pkce.Create(), scope: "openid caf"));
        var request = await browser.ClickFranceConnectAsync(challenge.Headers.Location!);
        Assert.That(FranceConnectDriver.QueryOf(request).GetValueOrDefault("prompt"), Is.EqualTo("login"));
        var auditedBefore = await CountAuditAsync("stale_authentication");

        var callback = await browser.AuthenticateAtFranceConnectAsync(request, StandInIdentities.Nobody, authenticatedSecondsAgo: 600);
        var back = await browser.ArriveAtCafConnectAsync(callback);

        Assert.That(back.StatusCode, Is.EqualTo(HttpStatusCode.Redirect), await back.Content.ReadAsStringAsync());
        Assert.That(back.Headers.Location!.OriginalString, Does.StartWith("/franceconnect/erreur?motif=reconnexion"), "no session, no code");
        var page = WebUtility.HtmlDecode(await (await browser.CafConnect.GetAsync(back.Headers.Location)).Content.ReadAsStringAsync());
        Assert.That(page, Does.Contain("FranceConnect ne vous a pas demandé de vous identifier à nouveau"));
        Assert.That(await CountAuditAsync("stale_authentication"), Is.EqualTo(auditedBefore + 1));
        var again = await browser.Oidc.AuthorizeAsync(OidcDriver.AuthorizationParameters(kiosk, Pkce.Create(), scope: "openid caf"));
        Assert.That(again.Headers.Location!.AbsolutePath, Is.EqualTo("/connexion"), "nobody was signed in");
    }

    [Test]
    public async Task When_a_login_was_asked_an_answer_without_auth_time_is_refused()
    {
        var kiosk = new TestClient("borne", "demo-secret-borne-not-for-production", "http://127.0.0.1:5200/callback", null);
        using var browser = NewBrowser();
        var first = await browser.SignInThroughFranceConnectAsync(OidcDriver.AuthorizationParameters(kiosk, Pkce.Create(), scope: "openid caf"), StandInIdentities.LouiseDubois);
        Assert.That(first["code"], Is.Not.Null, "a fresh authentication at FranceConnect signs the first visitor in");

        // The next visitor: the request asks FranceConnect for prompt=login, which this FranceConnect ignores (the
        // parameter is dropped): it answers at once from its session, with an ID token that says nothing of when.
        var challenge = await browser.Oidc.AuthorizeAsync(OidcDriver.AuthorizationParameters(kiosk, Pkce.Create(), scope: "openid caf"));
        var request = await browser.ClickFranceConnectAsync(challenge.Headers.Location!);
        var ignoringPrompt = new Uri(request.GetLeftPart(UriPartial.Path) + QueryString.Create(FranceConnectDriver.QueryOf(request).Where(p => p.Key != "prompt")!));
        var callback = await browser.FollowAsync(ignoringPrompt);
        Assert.That(callback.AbsolutePath, Is.EqualTo("/franceconnect/retour"), "FranceConnect answered from its session");
        var back = await browser.ArriveAtCafConnectAsync(callback);

        Assert.That(back.Headers.Location!.OriginalString, Does.StartWith("/franceconnect/erreur?motif=reconnexion"));
    }

    [Test]
    public async Task Without_a_login_asked_an_earlier_authentication_at_FranceConnect_still_signs_in()
    {
        using var browser = NewBrowser();
        var challenge = await browser.Oidc.AuthorizeAsync(OidcDriver.AuthorizationParameters(TestClient.CafFr, Pkce.Create(), scope: "openid caf"));
        var request = await browser.ClickFranceConnectAsync(challenge.Headers.Location!);
        Assert.That(FranceConnectDriver.QueryOf(request).ContainsKey("prompt"), Is.False);

        var back = await browser.ArriveAtCafConnectAsync(await browser.AuthenticateAtFranceConnectAsync(request, StandInIdentities.LouiseDubois, authenticatedSecondsAgo: 600));

        Assert.That(back.Headers.Location!.OriginalString, Does.StartWith("/connect/authorize"), "FranceConnect's single sign-on is kept");
    }

    private Task<int> CountAuditAsync(string outcome) =>
        QueryAsync(db => db.AuditEvents.CountAsync(e => e.Type == AuditEventTypes.FranceConnectFailed && e.Outcome == outcome));

    [Test]
    public async Task A_person_still_on_the_legacy_code_goes_through_the_first_login_then_signs_in_with_amr_fc()
    {
        var paul = await PersonAsync(DemoData.PaulMartin.Nir!);
        using var browser = NewBrowser();
        var pkce = Pkce.Create();
        var challenge = await browser.Oidc.AuthorizeAsync(OidcDriver.AuthorizationParameters(TestClient.CafFr, pkce));
        var callback = await browser.AuthenticateAtFranceConnectAsync(await browser.ClickFranceConnectAsync(challenge.Headers.Location!), StandInIdentities.PaulMartin);
        var back = await browser.ArriveAtCafConnectAsync(callback);

        // Seed 003: the first login "avec son NIR ou avec FranceConnect" asks for the terms, a password and the contact.
        Assert.That(back.Headers.Location!.OriginalString, Does.StartWith("/premiere-connexion?flow="));
        // The flow's stored context keeps no FranceConnect ID token in clear (it carries the certified identity).
        var flowId = Uri.UnescapeDataString(back.Headers.Location!.OriginalString.Split("flow=")[1]);
        var stored = await QueryAsync(db => db.Flows.AsNoTracking().SingleAsync(f => f.Id == flowId));
        Assert.That(stored.Context, Does.Not.Contain("eyJ").And.Not.Contain("MARTIN").And.Not.Contain("Paul").And.Not.Contain("1978-04-02"), stored.Context);
        var person = new FirstLoginDriver(browser.CafConnect);
        var contact = await person.AcceptTermsAndChoosePasswordAsync(back.Headers.Location!);
        var delegation = FirstLoginDriver.Next(await person.PostAsync(contact, new Dictionary<string, string>(), handler: "Skip"));
        var end = await person.AnswerDelegationAsync(delegation, null);
        Assert.That(end.OriginalString, Does.StartWith("/connect/authorize"));

        var response = OidcDriver.ToAuthorizationResponse(await browser.CafConnect.GetAsync(end));
        var tokens = await OidcDriver.ReadTokensAsync(await browser.Oidc.RedeemCodeAsync(TestClient.CafFr, response["code"]!, pkce.Verifier));
        var idToken = await browser.Oidc.ValidateIdTokenAsync(tokens.IdToken, TestClient.CafFr.ClientId);
        Assert.That(idToken.Subject, Is.EqualTo(paul.Subject));
        Assert.That(idToken.GetPayloadValue<string[]>("amr"), Is.EqualTo(new[] { "fc" }));
        Assert.That(await QueryAsync(db => db.AuditEvents.CountAsync(e => e.Type == AuditEventTypes.LoginSucceeded && e.Outcome == "fc+required_actions" && e.PersonId == paul.Id)), Is.EqualTo(1));
        Assert.That((await PersonAsync(DemoData.PaulMartin.Nir!)).PasswordHash, Is.Not.Null, "he chose his own password on the way");

        // The hint survived the steps, encrypted: « Me déconnecter » also ends the FranceConnect session.
        var logoutPage = await browser.CafConnect.GetAsync("/deconnexion");
        var (action, token) = OidcDriver.LoginForm(await logoutPage.Content.ReadAsStringAsync());
        var logout = await browser.CafConnect.PostAsync(action, new FormUrlEncodedContent(new Dictionary<string, string> { ["__RequestVerificationToken"] = token }));
        Assert.That(logout.StatusCode, Is.EqualTo(HttpStatusCode.Redirect));
        Assert.That(FranceConnectDriver.QueryOf(logout.Headers.Location!)["id_token_hint"], Does.StartWith("eyJ"));
    }

    [Test]
    public async Task Accents_case_and_extra_given_names_match_and_logout_ends_the_session_at_FranceConnect_too()
    {
        // The stand-in certifies "Louise Élise Dubois"; the Caf holds "Louise" "DUBOIS".
        var louise = await PersonAsync(DemoData.LouiseDubois.Nir!);
        using var browser = NewBrowser();
        var pkce = Pkce.Create();
        var response = await browser.SignInThroughFranceConnectAsync(OidcDriver.AuthorizationParameters(TestClient.CafFr, pkce), StandInIdentities.LouiseDubois);
        var tokens = await OidcDriver.ReadTokensAsync(await browser.Oidc.RedeemCodeAsync(TestClient.CafFr, response["code"]!, pkce.Verifier));
        Assert.That((await browser.Oidc.ValidateIdTokenAsync(tokens.IdToken, TestClient.CafFr.ClientId)).Subject, Is.EqualTo(louise.Subject));

        // « Me déconnecter »: CafConnect's session ends, then FranceConnect's end-session with the ID token as hint.
        var logoutPage = await browser.CafConnect.GetAsync("/deconnexion");
        var (action, token) = OidcDriver.LoginForm(await logoutPage.Content.ReadAsStringAsync());
        var logout = await browser.CafConnect.PostAsync(action, new FormUrlEncodedContent(new Dictionary<string, string> { ["__RequestVerificationToken"] = token }));
        Assert.That(logout.StatusCode, Is.EqualTo(HttpStatusCode.Redirect));
        var endSession = logout.Headers.Location!;
        Assert.That(endSession.GetLeftPart(UriPartial.Path), Is.EqualTo(_standIn.Issuer.AbsoluteUri.TrimEnd('/') + "/api/v2/session/end"));
        var endSessionParameters = FranceConnectDriver.QueryOf(endSession);
        Assert.That(endSessionParameters["id_token_hint"], Is.Not.Empty);
        Assert.That(endSessionParameters["post_logout_redirect_uri"], Is.EqualTo(PostLogoutUri));
        Assert.That(endSessionParameters["state"], Is.Not.Empty);
        Assert.That((await browser.Oidc.AuthorizeAsync(OidcDriver.AuthorizationParameters(TestClient.CafFr, Pkce.Create()))).Headers.Location!.AbsolutePath,
            Is.EqualTo("/connexion"), "CafConnect's session is over before FranceConnect's");

        // At FranceConnect: its logout form (posted by its page), then back to CafConnect's post-logout route.
        var confirm = await browser.FranceConnect.GetAsync(endSession);
        var confirmHtml = await confirm.Content.ReadAsStringAsync();
        Assert.That(confirm.StatusCode, Is.EqualTo(HttpStatusCode.OK), confirmHtml);
        var form = System.Text.RegularExpressions.Regex.Match(confirmHtml, "<form[^>]*action=\"([^\"]+)\"[^>]*>(.*?)</form>", System.Text.RegularExpressions.RegexOptions.Singleline);
        var fields = System.Text.RegularExpressions.Regex.Matches(form.Groups[2].Value, "name=\"([^\"]+)\" value=\"([^\"]*)\"")
            .ToDictionary(m => m.Groups[1].Value, m => WebUtility.HtmlDecode(m.Groups[2].Value));
        fields["logout"] = "yes";
        var done = await browser.FranceConnect.PostAsync(new Uri(endSession, WebUtility.HtmlDecode(form.Groups[1].Value)), new FormUrlEncodedContent(fields));
        Assert.That((int)done.StatusCode, Is.InRange(300, 399), await done.Content.ReadAsStringAsync());
        Assert.That(done.Headers.Location!.GetLeftPart(UriPartial.Path), Is.EqualTo(PostLogoutUri));
        var arrived = await browser.ArriveAtCafConnectAsync(done.Headers.Location!);
        Assert.That(arrived.Headers.Location!.OriginalString, Is.EqualTo("/deconnexion/terminee"));
        Assert.That(await QueryAsync(db => db.AuditEvents.CountAsync(e => e.Type == AuditEventTypes.Logout && e.PersonId == louise.Id && e.Details == "franceconnect=true")), Is.EqualTo(1));
    }

    /// <summary>A person without a NIR whose birth commune the Caf holds by name, ready to sign in (terms, password, contact).</summary>
    private async Task<Domain.Accounts.PersonAccount> SeedBornInFranceAsync(string provisionalId, Domain.Accounts.Civility civility, string givenNames, string birthName,
        DateOnly birthDate, string birthCity, bool onAFile = true)
    {
        using var scope = _host.Services.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<CafConnectDbContext>();
        var person = new Domain.Accounts.PersonAccount
        {
            ProvisionalId = provisionalId, Civility = civility, GivenNames = givenNames, BirthName = birthName, BirthDate = birthDate,
            BirthCountry = "FRANCE", BirthCity = birthCity,
            AcceptedTermsVersion = 1, TermsAcceptedAt = DateTimeOffset.UtcNow,
            MobilePhone = "+336150009" + provisionalId[^2..], MobilePhoneVerified = true,
            PasswordHash = scope.ServiceProvider.GetRequiredService<Infrastructure.Security.ISecretHasher>().Hash("Falaise8Cotentin"),
            CredentialKind = Domain.Accounts.CredentialKind.Personal, PasswordSetAt = DateTimeOffset.UtcNow,
        };
        db.Persons.Add(person);
        if (onAFile)
        {
            // On a file of the agency (as an import or a registered application puts them): the birth commune is its record.
            var household = new Domain.Households.Household { FileNumber = "9" + provisionalId[^6..] };
            household.Members.Add(new Domain.Households.HouseholdMembership { Person = person, PersonId = person.Id, Role = Domain.Households.HouseholdRole.Allocataire });
            db.Households.Add(household);
        }
        await db.SaveChangesAsync();
        return person;
    }

    private async Task SetBirthCityAsync(Guid personId, string birthCity) => await QueryAsync(async db =>
    {
        var person = await db.Persons.SingleAsync(p => p.Id == personId);
        person.BirthCity = birthCity;
        return await db.SaveChangesAsync();
    });

    [Test]
    public async Task A_birth_commune_held_by_name_is_matched_through_its_INSEE_code_on_the_date_of_birth_and_a_logout_from_the_relying_party_ends_FranceConnect_too()
    {
        // Octave was born in 1990 in Octeville (50383), merged into Cherbourg-Octeville in 2000, part of Cherbourg-en-Cotentin
        // since 2016. The Caf holds no NIR for him and his birth commune by name, as it was then.
        var octave = await SeedBornInFranceAsync("P50383001", Domain.Accounts.Civility.Monsieur, "Octave", "LEROY", new DateOnly(1990, 6, 1), "CHERBOURG-EN-COTENTIN");
        using (var first = NewBrowser())
        {
            // Today's commune nouvelle is not the commune he was born in: no match, no link.
            var challenge = await first.Oidc.AuthorizeAsync(OidcDriver.AuthorizationParameters(TestClient.CafFr, Pkce.Create()));
            var callback = await first.AuthenticateAtFranceConnectAsync(await first.ClickFranceConnectAsync(challenge.Headers.Location!), StandInIdentities.OctaveLeroy);
            var back = await first.ArriveAtCafConnectAsync(callback);
            Assert.That(back.Headers.Location!.OriginalString, Does.StartWith("/franceconnect/compte-non-trouve"));
            Assert.That(await QueryAsync(db => db.ExternalLogins.AnyAsync(l => l.PersonId == octave.Id)), Is.False);
        }

        // A person who declared the same civil status and birth commune themselves (« Créer Mon Compte » without a NIR,
        // on no file) is never what a FranceConnect identity opens: a squatter's pre-created account.
        var squatter = await SeedBornInFranceAsync("P50383009", Domain.Accounts.Civility.Monsieur, "Octave", "LEROY", new DateOnly(1990, 6, 1), "Octeville", onAFile: false);
        await SetBirthCityAsync(octave.Id, "Octeville");
        using var browser = NewBrowser();
        var pkce = Pkce.Create();
        var response = await browser.SignInThroughFranceConnectAsync(OidcDriver.AuthorizationParameters(TestClient.CafFr, pkce), StandInIdentities.OctaveLeroy);
        var tokens = await OidcDriver.ReadTokensAsync(await browser.Oidc.RedeemCodeAsync(TestClient.CafFr, response["code"]!, pkce.Verifier));
        Assert.That((await browser.Oidc.ValidateIdTokenAsync(tokens.IdToken, TestClient.CafFr.ClientId)).Subject, Is.EqualTo(octave.Subject));
        var link = await QueryAsync(db => db.ExternalLogins.AsNoTracking().SingleAsync(l => l.Subject == StandInIdentities.OctaveLeroy));
        Assert.That(link.PersonId, Is.EqualTo(octave.Id), "the person on the file, not the self-declared one");
        Assert.That(squatter.Id, Is.Not.EqualTo(octave.Id));

        // The relying party logs him out (RP-Initiated Logout): CafConnect's session ends, then FranceConnect's end-session
        // with FranceConnect's ID token as hint, then back to the relying party's post_logout_redirect_uri with its state.
        var endSessionRequest = QueryHelpers.AddQueryString("/connect/endsession", new Dictionary<string, string?>
        {
            ["id_token_hint"] = tokens.IdToken,
            ["post_logout_redirect_uri"] = TestClient.CafFr.PostLogoutRedirectUri,
            ["state"] = "etat-rp-logout",
        });
        var logout = await browser.CafConnect.GetAsync(endSessionRequest);
        Assert.That(logout.StatusCode, Is.EqualTo(HttpStatusCode.Redirect), await logout.Content.ReadAsStringAsync());
        var endSession = logout.Headers.Location!;
        Assert.That(endSession.GetLeftPart(UriPartial.Path), Is.EqualTo(_standIn.Issuer.AbsoluteUri.TrimEnd('/') + "/api/v2/session/end"), "FranceConnect's end-session first");
        var endSessionParameters = FranceConnectDriver.QueryOf(endSession);
        Assert.That(endSessionParameters["id_token_hint"], Does.StartWith("eyJ").And.Not.EqualTo(tokens.IdToken), "FranceConnect's own ID token, not ours");
        Assert.That(endSessionParameters["post_logout_redirect_uri"], Is.EqualTo(PostLogoutUri));
        Assert.That(endSessionParameters["state"], Is.Not.Empty.And.Not.EqualTo("etat-rp-logout"), "OpenIddict's protected state, not the relying party's");
        Assert.That(endSession.Query, Does.Not.Contain("etat-rp-logout").And.Not.Contain(Uri.EscapeDataString(TestClient.CafFr.PostLogoutRedirectUri!)),
            "the relying party's return travels inside the protected state only");
        Assert.That((await browser.Oidc.AuthorizeAsync(OidcDriver.AuthorizationParameters(TestClient.CafFr, Pkce.Create()))).Headers.Location!.AbsolutePath,
            Is.EqualTo("/connexion"), "CafConnect's session is over before FranceConnect's");
        Assert.That(await QueryAsync(db => db.AuditEvents.CountAsync(e => e.Type == AuditEventTypes.Logout && e.Outcome == "rp_initiated" && e.PersonId == octave.Id
            && e.Details == "franceconnect=true")), Is.EqualTo(1));

        var backFromFranceConnect = await LogOutAtFranceConnectAsync(browser, endSession);
        var arrived = await browser.ArriveAtCafConnectAsync(backFromFranceConnect);
        Assert.That(arrived.StatusCode, Is.EqualTo(HttpStatusCode.Redirect));
        Assert.That(arrived.Headers.Location!.OriginalString, Is.EqualTo(TestClient.CafFr.PostLogoutRedirectUri + "?state=etat-rp-logout"), "back to the relying party, with its state");

        // FranceConnect's answer replayed, or with its state changed: our page, never the relying party's URI.
        var replayed = await browser.ArriveAtCafConnectAsync(backFromFranceConnect);
        Assert.That(replayed.Headers.Location!.OriginalString, Is.EqualTo("/deconnexion/terminee"), "a state token is used once");
        var tampered = await browser.CafConnect.GetAsync("/franceconnect/deconnexion/retour?state=" + Uri.EscapeDataString(FranceConnectDriver.QueryOf(backFromFranceConnect)["state"] + "x"));
        Assert.That(tampered.Headers.Location!.OriginalString, Is.EqualTo("/deconnexion/terminee"));
    }

    /// <summary>At FranceConnect: its logout form (posted by its page); returns where it sends the browser back (CafConnect's post-logout route).</summary>
    private static async Task<Uri> LogOutAtFranceConnectAsync(FranceConnectDriver browser, Uri endSession)
    {
        var confirm = await browser.FranceConnect.GetAsync(endSession);
        var confirmHtml = await confirm.Content.ReadAsStringAsync();
        Assert.That(confirm.StatusCode, Is.EqualTo(HttpStatusCode.OK), confirmHtml);
        var form = System.Text.RegularExpressions.Regex.Match(confirmHtml, "<form[^>]*action=\"([^\"]+)\"[^>]*>(.*?)</form>", System.Text.RegularExpressions.RegexOptions.Singleline);
        var fields = System.Text.RegularExpressions.Regex.Matches(form.Groups[2].Value, "name=\"([^\"]+)\" value=\"([^\"]*)\"")
            .ToDictionary(m => m.Groups[1].Value, m => WebUtility.HtmlDecode(m.Groups[2].Value));
        fields["logout"] = "yes";
        var done = await browser.FranceConnect.PostAsync(new Uri(endSession, WebUtility.HtmlDecode(form.Groups[1].Value)), new FormUrlEncodedContent(fields));
        Assert.That((int)done.StatusCode, Is.InRange(300, 399), await done.Content.ReadAsStringAsync());
        Assert.That(done.Headers.Location!.GetLeftPart(UriPartial.Path), Is.EqualTo(PostLogoutUri));
        return done.Headers.Location!;
    }

    [Test]
    public async Task A_birth_commune_name_that_several_communes_bore_never_links_and_two_persons_it_fits_link_neither()
    {
        // Denise MOREAU, born 01/06/1990 in Saint-Denis (93066). In 1990 five communes were named Saint-Denis.
        var held = await SeedBornInFranceAsync("P93066001", Domain.Accounts.Civility.Madame, "Denise", "MOREAU", new DateOnly(1990, 6, 1), "SAINT-DENIS");
        var other = await SeedBornInFranceAsync("P93066002", Domain.Accounts.Civility.Madame, "Denise", "MOREAU", new DateOnly(1990, 6, 1), "SAINT-DENIS (974)");

        async Task<string> SignInAsync(string subject = StandInIdentities.DeniseMoreau)
        {
            using var browser = NewBrowser();
            var challenge = await browser.Oidc.AuthorizeAsync(OidcDriver.AuthorizationParameters(TestClient.CafFr, Pkce.Create()));
            var callback = await browser.AuthenticateAtFranceConnectAsync(await browser.ClickFranceConnectAsync(challenge.Headers.Location!), subject);
            return (await browser.ArriveAtCafConnectAsync(callback)).Headers.Location!.OriginalString;
        }
        Task<int> LinksAsync() => QueryAsync(db => db.ExternalLogins.CountAsync(l => l.PersonId == held.Id || l.PersonId == other.Id));
        Task<int> NotLinkedAsync(string outcome) => QueryAsync(db => db.AuditEvents.CountAsync(e => e.Type == AuditEventTypes.FranceConnectNotLinked && e.Outcome == outcome && e.PersonId == null));

        // « SAINT-DENIS » alone does not say which; « (974) » is another one.
        var noMatchBefore = await NotLinkedAsync("no_match");
        Assert.That(await SignInAsync(), Does.StartWith("/franceconnect/compte-non-trouve"));
        Assert.That(await LinksAsync(), Is.Zero);
        Assert.That(await NotLinkedAsync("no_match"), Is.EqualTo(noMatchBefore + 1));

        // Both now held in the right département: two persons fit, so neither is linked (exactly one match, or none).
        await SetBirthCityAsync(held.Id, "Saint-Denis (93)");
        await SetBirthCityAsync(other.Id, "ST DENIS (93)");
        var ambiguousBefore = await NotLinkedAsync("ambiguous");
        Assert.That(await SignInAsync(), Does.StartWith("/franceconnect/compte-non-trouve"));
        Assert.That(await LinksAsync(), Is.Zero);
        Assert.That(await NotLinkedAsync("ambiguous"), Is.EqualTo(ambiguousBefore + 1));

        // One of them in another département: the other one alone fits, and is linked.
        await SetBirthCityAsync(other.Id, "SAINT-DENIS (11)");
        Assert.That(await SignInAsync(), Does.Not.StartWith("/franceconnect/"));
        var link = await QueryAsync(db => db.ExternalLogins.AsNoTracking().SingleAsync(l => l.PersonId == held.Id || l.PersonId == other.Id));
        Assert.That(link.PersonId, Is.EqualTo(held.Id));
        Assert.That(link.Subject, Is.EqualTo(StandInIdentities.DeniseMoreau));

        // Another FranceConnect identity certifying the same civil status (someone else's pivot, or a new account at
        // FranceConnect): the person is already linked, so nothing opens and an agent is warned.
        Assert.That(await SignInAsync(StandInIdentities.DeniseMoreauOtherIdentity), Does.StartWith("/franceconnect/compte-non-trouve"));
        Assert.That(await QueryAsync(db => db.ExternalLogins.CountAsync(l => l.Subject == StandInIdentities.DeniseMoreauOtherIdentity)), Is.Zero);
        Assert.That(await QueryAsync(db => db.AuditEvents.CountAsync(e => e.Type == AuditEventTypes.FranceConnectNotLinked && e.Outcome == "already_linked" && e.PersonId == held.Id)), Is.EqualTo(1));
    }
}

/// <summary>FranceConnect switched off (the default): no button, no route.</summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
public sealed class FranceConnectDisabledTests(StoreKind kind) : StoreFixture(kind)
{
    [Test]
    public async Task Without_configuration_there_is_no_button_and_no_FranceConnect_route()
    {
        var browser = Host.CreateBrowser();
        var html = await (await browser.GetAsync("/connexion")).Content.ReadAsStringAsync();
        Assert.That(html, Does.Not.Contain("fr-connect").And.Not.Contain("/franceconnect/"));

        foreach (var path in new[] { "/franceconnect/retour?code=x&state=y", "/franceconnect/deconnexion/retour", "/franceconnect/erreur", "/franceconnect/compte-non-trouve" })
        {
            Assert.That((await browser.GetAsync(path)).StatusCode, Is.EqualTo(HttpStatusCode.NotFound), path);
        }
        var (_, token) = OidcDriver.LoginForm(html);
        var start = await browser.PostAsync("/franceconnect/connexion", new FormUrlEncodedContent(new Dictionary<string, string> { ["__RequestVerificationToken"] = token }));
        Assert.That(start.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
    }
}

/// <summary>FranceConnect configured but unreachable: the French page, not a 500, and soon.</summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
public sealed class FranceConnectUnavailableTests(StoreKind kind)
{
    [Test]
    public async Task An_unreachable_FranceConnect_gives_the_french_unavailable_page()
    {
        // An ephemeral port just released, where nothing listens: outside the stand-ins' range (5531–5539), which the
        // fixtures running beside this one take as they start (a stand-in appeared on a port picked there as free).
        var released = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        released.Start();
        var port = ((IPEndPoint)released.LocalEndpoint).Port;
        released.Stop();
        var elapsed = await ClickFranceConnectAndExpectTheUnavailablePageAsync($"http://127.0.0.1:{port}");
        Assert.That(elapsed, Is.LessThan(TimeSpan.FromSeconds(6)), "no retries with back-off before the page (it took about 16 s)");
    }

    [Test]
    public async Task A_FranceConnect_that_accepts_the_connection_and_never_answers_gives_the_french_page_within_the_3_second_timeout()
    {
        // A listening socket nobody reads from: the connection is accepted by the system, the request never answered.
        var silent = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        try
        {
            var port = ((IPEndPoint)silent.LocalEndpoint).Port;
            var elapsed = await ClickFranceConnectAndExpectTheUnavailablePageAsync($"http://127.0.0.1:{port}");
            // FranceConnect:BackchannelTimeout is 3 s by default; a generous margin for a loaded machine.
            Assert.That(elapsed, Is.GreaterThanOrEqualTo(TimeSpan.FromSeconds(2.5)), "the page came after the timeout, not from a refused connection");
            Assert.That(elapsed, Is.LessThan(TimeSpan.FromSeconds(6)), "the French page within the 3-second timeout, not after 16 s or the HTTP client's 100 s");
        }
        finally
        {
            silent.Stop();
        }
    }

    /// <summary>« S'identifier avec FranceConnect » from a pending authorization request: the French page; returns how long the click took.</summary>
    private async Task<TimeSpan> ClickFranceConnectAndExpectTheUnavailablePageAsync(string issuer)
    {
        await using var store = TestStore.Create(kind);
        await using var host = new CafConnectFactory(store, new Dictionary<string, string?>
        {
            ["FranceConnect:Enabled"] = "true",
            ["FranceConnect:Issuer"] = issuer,
            ["FranceConnect:ClientId"] = "cafconnect-test",
            ["FranceConnect:ClientSecret"] = "unused",
        });
        using var browser = new FranceConnectDriver(host.CreateBrowser());
        var challenge = await browser.Oidc.AuthorizeAsync(OidcDriver.AuthorizationParameters(TestClient.CafFr, Pkce.Create()));
        var page = await browser.CafConnect.GetAsync(challenge.Headers.Location!);
        var html = await page.Content.ReadAsStringAsync();
        var token = System.Text.RegularExpressions.Regex.Match(html, "name=\"__RequestVerificationToken\" type=\"hidden\" value=\"([^\"]+)\"").Groups[1].Value;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var start = await browser.CafConnect.PostAsync("/franceconnect/connexion", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["__RequestVerificationToken"] = token,
            ["returnUrl"] = challenge.Headers.Location!.OriginalString.Split("returnUrl=")[1] is var encoded ? Uri.UnescapeDataString(encoded) : "",
        }));
        var elapsed = clock.Elapsed;

        Assert.That(start.StatusCode, Is.EqualTo(HttpStatusCode.Redirect), await start.Content.ReadAsStringAsync());
        Assert.That(start.Headers.Location!.OriginalString, Does.StartWith("/franceconnect/erreur?motif=indisponible&returnUrl=%2Fconnect%2Fauthorize"));
        var error = await browser.CafConnect.GetAsync(start.Headers.Location);
        Assert.That(error.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        var text = WebUtility.HtmlDecode(await error.Content.ReadAsStringAsync());
        Assert.That(text, Does.Contain("FranceConnect est momentanément indisponible"));
        Assert.That(text, Does.Contain("Le service FranceConnect n'a pas pu être joint ou n'a pas répondu correctement. Réessayez dans quelques instants."));
        Assert.That(text, Does.Contain("Revenir à la page de connexion"));
        return elapsed;
    }
}
