using System.Net;
using System.Text.Json;
using CafConnect.IdP.Tests.Features.FirstLogin;
using CafConnect.IdP.Tests.Features.Recovery;
using CafConnect.IdP.Tests.Support;
using CafConnect.Infrastructure.Notifications;
using Microsoft.EntityFrameworkCore;

namespace CafConnect.IdP.Tests.Features.AccountCreation;

/// <summary>Fills the « Créer Mon Compte » pages as a person would, from a relying party's authorization request to tokens.</summary>
public sealed class AccountCreationDriver(JourneyHost host)
{
    public const string LeaNir = "209036938302597";
    public const string LeaMobile = "+33615000007";
    public const string NewPassword = "Printemps4Lyon";

    public FirstLoginDriver Pages { get; } = new(host.Host.CreateBrowser());
    public Pkce Pkce { get; } = Pkce.Create();

    /// <summary>The return URL of the login page a relying party's authorization request leads to.</summary>
    public string? ReturnUrl { get; private set; }

    /// <summary>Léa's NIR and civil status as the form « avec mon numéro de Sécurité sociale » asks them (no contact: the records' are offered).</summary>
    public static Dictionary<string, string> Lea(string birthName = "Dubois", string givenNames = "léa", string birthDate = "12/03/2009", string nir = LeaNir) => new()
    {
        ["Nir"] = nir,
        ["BirthName"] = birthName,
        ["GivenNames"] = givenNames,
        ["BirthDate"] = birthDate,
    };

    /// <summary>Daniel MORVAN of seed 003, born in Oran (Algeria).</summary>
    public static Dictionary<string, string> Morvan(string contact = "daniel.morvan@test.fr", string birthDate = "09/09/1962") => new()
    {
        ["Civility"] = "M",
        ["BirthName"] = "Morvan",
        ["GivenNames"] = "Daniel",
        ["BirthDate"] = birthDate,
        ["BirthCountry"] = "Algérie",
        ["BirthCity"] = "Oran",
        ["Parent1BirthName"] = "Morvan",
        ["Parent1GivenNames"] = "Jean",
        ["Parent2BirthName"] = "Morvan",
        ["Parent2GivenNames"] = "Jeanne",
        ["PostalCode"] = "06000",
        ["Contact"] = contact,
    };

    /// <summary>A relying party (caf-fr) sends the person to the provider; they choose « Créer Mon Compte » on the login page.</summary>
    public async Task StartAtRelyingPartyAsync()
    {
        var challenge = await Pages.Oidc.AuthorizeAsync(OidcDriver.AuthorizationParameters(TestClient.CafFr, Pkce));
        var login = challenge.Headers.Location!;
        ReturnUrl = Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(login.Query)["returnUrl"].ToString();
        var (_, html) = await Pages.GetAsync(login);
        Assert.That(WebUtility.HtmlDecode(html), Does.Contain("/creer-mon-compte?returnUrl="), "the login page links to « Créer Mon Compte » with the pending request");
    }

    public Uri FormPage(string path) => new(ReturnUrl is null ? path : $"{path}?returnUrl={Uri.EscapeDataString(ReturnUrl)}", UriKind.Relative);

    public Task<HttpResponseMessage> SubmitWithNirAsync(Dictionary<string, string> fields) => Pages.PostAsync(FormPage("/creer-mon-compte/avec-nir"), fields);

    /// <summary>
    /// With a NIR, after a full match: « Recevoir mon code de vérification » lists the records' contacts, masked; the
    /// person picks one (« sms » or « mail ») and lands on the code page.
    /// </summary>
    public async Task<Uri> ChooseAsync(Uri choice, string value = "sms")
    {
        Assert.That(choice.AbsolutePathOrOriginal(), Is.EqualTo("/creer-mon-compte/reception-du-code"), "with a NIR the records' contacts are offered");
        var (_, html) = await Pages.GetAsync(choice);
        Assert.That(html, Does.Contain($"name=\"Choice\" value=\"{value}\""), $"« {value} » is offered");
        var chosen = await Pages.PostAsync(choice, new Dictionary<string, string> { ["Choice"] = value });
        Assert.That(chosen.StatusCode, Is.EqualTo(HttpStatusCode.Redirect), await OidcDriver.ErrorsOf(chosen));
        return FirstLoginDriver.Next(chosen);
    }

    /// <summary>The whole form with a NIR, then the choice: the code page.</summary>
    public async Task<Uri> SubmitWithNirAndChooseAsync(Dictionary<string, string> fields, string value = "sms")
    {
        var response = await SubmitWithNirAsync(fields);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Redirect), await OidcDriver.ErrorsOf(response));
        return await ChooseAsync(FirstLoginDriver.Next(response), value);
    }

    public Task<HttpResponseMessage> SubmitWithoutNirAsync(Dictionary<string, string> fields) => Pages.PostAsync(FormPage("/creer-mon-compte/sans-nir"), fields);

    /// <summary>The last code sent to <paramref name="contact"/> (SMS gateway for a mobile, file sink for an e-mail).</summary>
    public async Task<string> CodeSentToAsync(string contact, int alreadySeen = 0)
    {
        if (contact.StartsWith('+'))
        {
            return SmsGatewaySink.CodeIn((await host.Sms.WaitForAsync(contact, alreadySeen)).Text);
        }
        var message = await host.QueryAsync(db => db.OutboxMessages.AsNoTracking()
            .Where(m => m.Recipient == contact && m.Kind == NotificationKind.VerificationCode).OrderByDescending(m => m.CreatedAt).FirstAsync());
        return SmsGatewaySink.CodeIn(await host.WaitForFileTextAsync(message.Id));
    }

    /// <summary>Terms, then password: where the first-login steps end (the pending authorization request).</summary>
    public async Task<Uri> AcceptTermsAndChoosePasswordAsync(Uri terms)
    {
        Assert.That(terms.AbsolutePathOrOriginal(), Is.EqualTo("/premiere-connexion/conditions"), "the first-login steps follow");
        var password = FirstLoginDriver.Next(await Pages.PostAsync(terms, new Dictionary<string, string> { ["Accepted"] = "true" }));
        var (_, passwordHtml) = await Pages.GetAsync(password);
        Assert.That(WebUtility.HtmlDecode(passwordHtml), Does.Contain("Pour terminer la création de votre compte"));
        return FirstLoginDriver.Next(await Pages.PostAsync(password, new Dictionary<string, string> { ["Password"] = NewPassword, ["Confirmation"] = NewPassword }));
    }

    /// <summary>Back at the authorization endpoint: the code goes to the relying party, which redeems it and calls userinfo.</summary>
    public async Task<(TokenSet Tokens, JsonElement UserInfo)> FinishAtRelyingPartyAsync(Uri back)
    {
        Assert.That(back.AbsolutePathOrOriginal(), Is.EqualTo("/connect/authorize"), "the journey ends at the pending request");
        var authorization = OidcDriver.ToAuthorizationResponse(await Pages.Browser.GetAsync(back));
        Assert.That(authorization["state"], Is.EqualTo("etat-123"));
        var tokens = await OidcDriver.ReadTokensAsync(await Pages.Oidc.RedeemCodeAsync(TestClient.CafFr, authorization["code"]!, Pkce.Verifier));
        await Pages.Oidc.ValidateIdTokenAsync(tokens.IdToken, TestClient.CafFr.ClientId);
        var userInfo = JsonDocument.Parse(await (await Pages.Oidc.UserInfoAsync(tokens.AccessToken)).Content.ReadAsStringAsync()).RootElement;
        return (tokens, userInfo);
    }
}
