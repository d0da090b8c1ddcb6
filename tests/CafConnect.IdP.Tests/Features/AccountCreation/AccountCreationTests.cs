using System.Net;
using System.Text.Json;
using CafConnect.IdP.Demo;
using CafConnect.IdP.Tests.Features.FirstLogin;
using CafConnect.IdP.Tests.Features.Recovery;
using CafConnect.IdP.Tests.Support;
using CafConnect.Infrastructure.Audit;
using CafConnect.Infrastructure.Notifications;
using Microsoft.EntityFrameworkCore;

namespace CafConnect.IdP.Tests.Features.AccountCreation;

/// <summary>
/// « Créer Mon Compte » over HTTP, from a relying party's authorization request to its tokens: with a NIR (a person
/// imported from the agency's records, activated after a full civil-status match and a code), without a NIR (a
/// provisional identifier, the summary page and its message), and every refusal.
/// </summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
public sealed class AccountCreationTests(StoreKind kind)
{
    private static readonly string[] PrimoPermissions = ["suivre_demarches", "transmettre_piece_justificative", "contacter_caf", "caf_vous_demande", "modifier_mot_de_passe"];

    [Test]
    public async Task With_a_NIR_an_imported_person_is_activated_after_the_code_and_signed_in_at_the_relying_party()
    {
        await using var host = HostStore.Start(kind);
        var lea = new AccountCreationDriver(host);
        await lea.StartAtRelyingPartyAsync();

        var choice = FirstLoginDriver.Next(await lea.SubmitWithNirAsync(AccountCreationDriver.Lea()));
        var (_, choiceHtml) = await lea.Pages.GetAsync(choice);
        Assert.That(WebUtility.HtmlDecode(choiceHtml), Does.Contain("Recevoir le code par SMS au 06******07").And.Not.Contain("06 15 00 00 07"),
            "the records' mobile is offered, masked as at the first login");
        Assert.That(host.Sms.Received, Is.Empty, "nothing is sent before the person chooses");
        var verify = await lea.ChooseAsync(choice, "sms");
        Assert.That(verify.AbsolutePathOrOriginal(), Is.EqualTo("/creer-mon-compte/verification"));
        var (_, verifyHtml) = await lea.Pages.GetAsync(verify);
        Assert.That(WebUtility.HtmlDecode(verifyHtml), Does.Contain("06******07").And.Not.Contain("06 15 00 00 07"));
        var person = await host.QueryAsync(db => db.Persons.AsNoTracking().SingleAsync(p => p.Nir == DemoData.LeaDubois.Nir));
        Assert.That(person.PasswordHash, Is.Null, "nothing is activated before the code");

        var code = await lea.CodeSentToAsync(AccountCreationDriver.LeaMobile);
        var terms = FirstLoginDriver.Next(await lea.Pages.PostAsync(verify, new Dictionary<string, string> { ["Code"] = code }));
        var back = await lea.AcceptTermsAndChoosePasswordAsync(terms);
        var (_, userInfo) = await lea.FinishAtRelyingPartyAsync(back);

        Assert.That(userInfo.GetProperty("given_name").GetString(), Is.EqualTo("Léa"));
        var file = userInfo.GetProperty("caf_files").EnumerateArray().Single();
        Assert.That((file.GetProperty("file_number").GetString(), file.GetProperty("role").GetString()), Is.EqualTo(("1234567", "enfant")));
        Assert.That(userInfo.TryGetProperty("caf_primo_demandeur", out _), Is.False, "a person on a file is not a primo-demandeur");
        var confirmation = await host.Sms.WaitForAsync(AccountCreationDriver.LeaMobile, alreadySeen: 1);
        Assert.That(confirmation.Text, Does.StartWith("Vous venez de créer votre Espace Mon Compte. Pour y accéder, utilisez votre numéro de Sécurité sociale."));
        var created = await host.QueryAsync(db => db.AuditEvents.AsNoTracking().SingleAsync(e => e.Type == AuditEventTypes.AccountCreated));
        Assert.That((created.Outcome, created.PersonId, created.ClientId), Is.EqualTo(("with_nir", (Guid?)person.Id, "caf-fr")));

        // The NIR and the new password now open the account, in another browser.
        var again = new OidcDriver(host.Host.CreateBrowser());
        var login = await again.SubmitLoginAsync(new Uri("/connexion", UriKind.Relative), AccountCreationDriver.LeaNir[..13], AccountCreationDriver.NewPassword);
        Assert.That(login.Headers.Location?.OriginalString, Is.EqualTo("/mon-compte"), await OidcDriver.ErrorsOf(login));
    }

    [Test]
    public async Task Without_a_NIR_a_provisional_identifier_is_shown_sent_and_then_works_at_login_as_a_primo_demandeur()
    {
        await using var host = HostStore.Start(kind);
        var daniel = new AccountCreationDriver(host);
        await daniel.StartAtRelyingPartyAsync();

        var verify = FirstLoginDriver.Next(await daniel.SubmitWithoutNirAsync(AccountCreationDriver.Morvan()));
        Assert.That(await host.QueryAsync(db => db.Persons.CountAsync(p => p.BirthName == "MORVAN")), Is.Zero, "nothing is created before the code");
        var code = await daniel.CodeSentToAsync("daniel.morvan@test.fr");
        var summary = FirstLoginDriver.Next(await daniel.Pages.PostAsync(verify, new Dictionary<string, string> { ["Code"] = code }));
        Assert.That(summary.AbsolutePathOrOriginal(), Is.EqualTo("/creer-mon-compte/recapitulatif"));

        var person = await host.QueryAsync(db => db.Persons.AsNoTracking().SingleAsync(p => p.BirthName == "MORVAN"));
        Assert.That(person.ProvisionalId, Does.Match("^P[0-9]{8}$"));
        Assert.That((person.Nir, person.EmailVerified, person.BirthCountry, person.Parent2GivenNames, person.PostalCode), Is.EqualTo(((string?)null, true, "ALGÉRIE", "JEANNE", "06000")));
        var (page, html) = await daniel.Pages.GetAsync(summary);
        var text = WebUtility.HtmlDecode(html);
        Assert.That(page.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(text, Does.Contain("Récapitulatif de ma création de compte")
            .And.Contain($"Mon identifiant : <strong>{person.ProvisionalId}</strong>. Conservez bien cet identifiant, il vous permettra de vous connecter à votre Espace Mon Compte.")
            .And.Contain("<dd>MONSIEUR</dd>").And.Contain("<dd>MORVAN</dd>").And.Contain("<dd>09/09/1962</dd>").And.Contain("<dd>ORAN</dd>")
            .And.Contain("Nom de naissance du parent 2").And.Contain("<dd>JEANNE</dd>").And.Contain("<dd>06000</dd>").And.Contain("daniel.morvan@test.fr"));
        var message = (await host.OutboxOfAsync(person.Id)).Single(m => m.Kind == NotificationKind.AccountCreated);
        Assert.That(message.Channel, Is.EqualTo(NotificationChannel.Email));
        Assert.That(await host.WaitForFileTextAsync(message.Id), Does.Contain($"utilisez votre identifiant provisoire : {person.ProvisionalId}. Veillez le conserver."));

        var terms = FirstLoginDriver.Next(await daniel.Pages.PostAsync(summary, new Dictionary<string, string>()));
        var back = await daniel.AcceptTermsAndChoosePasswordAsync(terms);
        var (_, userInfo) = await daniel.FinishAtRelyingPartyAsync(back);

        Assert.That(userInfo.GetProperty("caf_files").GetArrayLength(), Is.Zero);
        Assert.That(userInfo.GetProperty("caf_primo_demandeur").GetBoolean(), Is.True);
        Assert.That(userInfo.GetProperty("caf_permissions").EnumerateArray().Select(p => p.GetString()), Is.EquivalentTo(PrimoPermissions));
        var created = await host.QueryAsync(db => db.AuditEvents.AsNoTracking().SingleAsync(e => e.Type == AuditEventTypes.AccountCreated));
        Assert.That(created.Outcome, Is.EqualTo("without_nir"));

        var again = new OidcDriver(host.Host.CreateBrowser());
        var login = await again.SubmitLoginAsync(new Uri("/connexion?mode=provisoire", UriKind.Relative), person.ProvisionalId!.ToLowerInvariant(), AccountCreationDriver.NewPassword);
        Assert.That(login.Headers.Location?.OriginalString, Is.EqualTo("/mon-compte"), await OidcDriver.ErrorsOf(login));
    }

    [TestCase("Dupond", "Léa", "12/03/2009", TestName = "A known NIR with another birth name gets the unknown NIR's answer")]
    [TestCase("Dubois", "Lucie", "12/03/2009", TestName = "A known NIR with other first names gets the unknown NIR's answer")]
    [TestCase("Dubois", "Léa", "13/03/2009", TestName = "A known NIR with another birth date gets the unknown NIR's answer")]
    public async Task A_civil_status_mismatch_is_refused_exactly_like_an_unknown_NIR(string birthName, string givenNames, string birthDate)
    {
        await using var host = HostStore.Start(kind);
        var known = new AccountCreationDriver(host);
        var unknown = new AccountCreationDriver(host);

        var mismatch = await known.SubmitWithNirAsync(AccountCreationDriver.Lea(birthName: birthName, givenNames: givenNames, birthDate: birthDate));
        // A valid NIR nobody has (same key rule), with Léa's civil status.
        var nobody = await unknown.SubmitWithNirAsync(AccountCreationDriver.Lea(nir: "209036938302696", birthName: birthName, givenNames: givenNames, birthDate: birthDate));

        Assert.That(mismatch.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(nobody.StatusCode, Is.EqualTo(mismatch.StatusCode));
        var mismatchHtml = await mismatch.Content.ReadAsStringAsync();
        var nobodyHtml = await nobody.Content.ReadAsStringAsync();
        Assert.That(RecoveryDriver.Comparable(nobodyHtml.Replace("209036938302696", "NIR")), Is.EqualTo(RecoveryDriver.Comparable(mismatchHtml.Replace(AccountCreationDriver.LeaNir, "NIR"))));
        Assert.That(WebUtility.HtmlDecode(mismatchHtml), Does.Contain("Nous n'avons pas pu vérifier votre identité").And.Contain("/creer-mon-compte/sans-nir"));
        var refusals = await host.QueryAsync(db => db.AuditEvents.AsNoTracking().Where(e => e.Type == AuditEventTypes.AccountCreationRefused).Select(e => e.Outcome).ToListAsync());
        Assert.That(refusals, Is.EquivalentTo(new[] { "civil_status_mismatch", "unknown_identity" }));
        Assert.That(await host.QueryAsync(db => db.Flows.CountAsync()), Is.Zero, "neither refusal starts a flow");
        Assert.That(await host.QueryAsync(db => db.OutboxMessages.CountAsync()), Is.Zero, "neither refusal sends anything");
        Assert.That(await host.QueryAsync(db => db.AuditEvents.AsNoTracking().AnyAsync(e => e.Details != null && e.Details.Contains("2090369383"))), Is.False, "the NIR is never audited");
    }

    [Test]
    public async Task Known_and_unknown_NIRs_cost_the_same_work()
    {
        await using var host = HostStore.Start(kind, new Dictionary<string, string?> { ["Recovery:RateLimit:PerIpLimit"] = "1000", ["Recovery:RateLimit:PerIdentifierLimit"] = "1000" });
        var driver = new AccountCreationDriver(host);
        var knownTimes = new List<double>();
        var unknownTimes = new List<double>();
        for (var i = 0; i < 8; i++)
        {
            foreach (var (nir, times) in new[] { (AccountCreationDriver.LeaNir, knownTimes), ("209036938302696", unknownTimes) })
            {
                var watch = System.Diagnostics.Stopwatch.StartNew();
                var response = await driver.SubmitWithNirAsync(AccountCreationDriver.Lea(nir: nir, birthName: "Autre"));
                times.Add(watch.Elapsed.TotalMilliseconds);
                Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
            }
        }
        static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);
        TestContext.Out.WriteLine($"median known {Median(knownTimes):F1} ms, unknown {Median(unknownTimes):F1} ms");
        // Same queries, same comparisons: the medians stay within a factor that a real lookup difference would break.
        Assert.That(Median(knownTimes), Is.LessThan(Median(unknownTimes) * 3 + 20));
        Assert.That(Median(unknownTimes), Is.LessThan(Median(knownTimes) * 3 + 20));
    }

    [Test]
    public async Task An_identity_that_already_holds_an_account_is_sent_to_the_login_only_after_a_full_match()
    {
        await using var host = HostStore.Start(kind);
        var jeanne = new AccountCreationDriver(host);
        await jeanne.StartAtRelyingPartyAsync();

        var partial = await jeanne.SubmitWithNirAsync(AccountCreationDriver.Lea(nir: "285037511204850", birthName: "Dupont", givenNames: "Jeanne", birthDate: "15/03/1985"));
        Assert.That(partial.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), "a wrong birth date says nothing about the account");
        Assert.That(await OidcDriver.ErrorsOf(partial), Does.Contain("Nous n'avons pas pu vérifier votre identité"));

        var full = await jeanne.SubmitWithNirAsync(AccountCreationDriver.Lea(nir: "285037511204850", birthName: "DUPONT", givenNames: "jeanne", birthDate: "14/03/1985"));
        var existing = FirstLoginDriver.Next(full);
        Assert.That(existing.AbsolutePathOrOriginal(), Is.EqualTo("/creer-mon-compte/compte-existant"));
        var (_, html) = await jeanne.Pages.GetAsync(existing);
        Assert.That(WebUtility.HtmlDecode(html), Does.Contain("Vous avez déjà un compte").And.Contain("Mot de passe oublié ?").And.Contain("/connexion?returnUrl="));
        Assert.That(await host.QueryAsync(db => db.OutboxMessages.CountAsync()), Is.Zero);
        Assert.That(await host.QueryAsync(db => db.AuditEvents.CountAsync(e => e.Type == AuditEventTypes.AccountCreationRefused && e.Outcome == "already_has_account")), Is.EqualTo(1));
    }

    [Test]
    public async Task Two_flows_for_the_same_NIR_activate_only_once_and_the_second_code_is_refused_as_an_existing_account()
    {
        await using var host = HostStore.Start(kind);
        var first = new AccountCreationDriver(host);
        await first.StartAtRelyingPartyAsync();
        var firstVerify = await first.SubmitWithNirAndChooseAsync(AccountCreationDriver.Lea());
        var firstCode = await first.CodeSentToAsync(AccountCreationDriver.LeaMobile);
        // Another browser starts its own flow before any activation: both reach the code step.
        var second = new AccountCreationDriver(host);
        await second.StartAtRelyingPartyAsync();
        var secondVerify = await second.SubmitWithNirAndChooseAsync(AccountCreationDriver.Lea());
        Assert.That((firstVerify.AbsolutePathOrOriginal(), secondVerify.AbsolutePathOrOriginal()), Is.EqualTo(("/creer-mon-compte/verification", "/creer-mon-compte/verification")));
        var secondCode = await second.CodeSentToAsync(AccountCreationDriver.LeaMobile, alreadySeen: 1);

        var terms = FirstLoginDriver.Next(await first.Pages.PostAsync(firstVerify, new Dictionary<string, string> { ["Code"] = firstCode }));
        Assert.That(terms.AbsolutePathOrOriginal(), Is.EqualTo("/premiere-connexion/conditions"), "the first flow activates");
        var activated = await host.QueryAsync(db => db.Persons.AsNoTracking().SingleAsync(p => p.Nir == DemoData.LeaDubois.Nir));
        Assert.That((activated.MobilePhoneVerified, activated.PasswordHash), Is.EqualTo((true, (string?)null)), "activated, first login not finished");

        var refused = await second.Pages.PostAsync(secondVerify, new Dictionary<string, string> { ["Code"] = secondCode });
        var existing = FirstLoginDriver.Next(refused);
        Assert.That(existing.AbsolutePathOrOriginal(), Is.EqualTo("/creer-mon-compte/compte-existant"), await OidcDriver.ErrorsOf(refused));
        var (_, html) = await second.Pages.GetAsync(existing);
        Assert.That(WebUtility.HtmlDecode(html), Does.Contain("Vous avez déjà un compte"));

        var after = await host.QueryAsync(db => db.Persons.AsNoTracking().SingleAsync(p => p.Nir == DemoData.LeaDubois.Nir));
        Assert.That((after.MobilePhone, after.MobilePhoneVerified, after.Email, after.EmailVerified, after.ConcurrencyStamp),
            Is.EqualTo((activated.MobilePhone, activated.MobilePhoneVerified, activated.Email, activated.EmailVerified, activated.ConcurrencyStamp)),
            "the second flow wrote nothing on the person");
        Assert.That(await host.QueryAsync(db => db.AuditEvents.CountAsync(e => e.Type == AuditEventTypes.AccountCreated)), Is.EqualTo(1));
        Assert.That(await host.QueryAsync(db => db.AuditEvents.CountAsync(e => e.Type == AuditEventTypes.AccountCreationRefused && e.Outcome == "already_has_account")), Is.EqualTo(1));
        Assert.That(await host.QueryAsync(db => db.Flows.CountAsync(f => f.Type == "first-login" && f.PersonId == activated.Id)), Is.EqualTo(1),
            "only the first flow has a first login (and its password step)");
        // A third flow started now is told at once.
        var third = new AccountCreationDriver(host);
        await third.StartAtRelyingPartyAsync();
        Assert.That(FirstLoginDriver.Next(await third.SubmitWithNirAsync(AccountCreationDriver.Lea())).AbsolutePathOrOriginal(), Is.EqualTo("/creer-mon-compte/compte-existant"));

        // The first flow goes on to its end: Léa signs in at the relying party.
        var (_, userInfo) = await first.FinishAtRelyingPartyAsync(await first.AcceptTermsAndChoosePasswordAsync(terms));
        Assert.That(userInfo.GetProperty("given_name").GetString(), Is.EqualTo("Léa"));
    }

    [Test]
    public async Task Without_a_NIR_a_civil_status_that_is_already_a_persons_gets_no_second_account()
    {
        await using var host = HostStore.Start(kind);
        var amina = new AccountCreationDriver(host);
        var fields = AccountCreationDriver.Morvan(contact: "amina.nouvelle@example.fr", birthDate: "09/05/1990");
        fields["Civility"] = "MME";
        fields["BirthName"] = "Diallo";
        fields["GivenNames"] = "Amina";

        var response = await amina.SubmitWithoutNirAsync(fields);

        // Before any code, a known civil status is answered like any other (adversarial review: no enumeration of who
        // the agency knows by names and birth date): the code page.
        var stranger = AccountCreationDriver.Morvan(contact: "quelquun@example.fr", birthDate: "09/05/1990");
        var strangerResponse = await new AccountCreationDriver(host).SubmitWithoutNirAsync(stranger);
        Assert.That(FirstLoginDriver.Next(response).AbsolutePathOrOriginal(), Is.EqualTo("/creer-mon-compte/verification"));
        Assert.That(FirstLoginDriver.Next(response).AbsolutePathOrOriginal(), Is.EqualTo(FirstLoginDriver.Next(strangerResponse).AbsolutePathOrOriginal()));
        Assert.That(response.StatusCode, Is.EqualTo(strangerResponse.StatusCode));
        Assert.That(await host.QueryAsync(db => db.AuditEvents.CountAsync(e => e.Outcome == "same_civil_status")), Is.Zero);

        // Only the proven contact's owner hears that the civil status is already a person's.
        var code = await amina.CodeSentToAsync("amina.nouvelle@example.fr");
        var verified = await amina.Pages.PostAsync(FirstLoginDriver.Next(response), new Dictionary<string, string> { ["Code"] = code });
        Assert.That(FirstLoginDriver.Next(verified).AbsolutePathOrOriginal(), Is.EqualTo("/creer-mon-compte/compte-existant"), await OidcDriver.ErrorsOf(verified));
        Assert.That(await host.QueryAsync(db => db.Persons.CountAsync(p => p.BirthName == "DIALLO")), Is.EqualTo(1));
        Assert.That(await host.QueryAsync(db => db.AuditEvents.CountAsync(e => e.Type == AuditEventTypes.AccountCreationRefused && e.Outcome == "same_civil_status")), Is.EqualTo(1));
    }

    /// <summary>
    /// Adversarial review of 4 December 2026: after a full civil-status match, typing contacts one by one told which was
    /// the records' (« Ces coordonnées ne correspondent pas… » against the code page). No contact is typed any more: a
    /// contact posted with the form is ignored, every contact gets the same answer, and the choice that follows names a
    /// channel of the records — a contact, an unknown value or a channel the records do not hold is refused.
    /// </summary>
    [Test]
    public async Task With_a_NIR_no_contact_is_typed_and_trying_contacts_one_by_one_tells_nothing()
    {
        await using var host = HostStore.Start(kind);
        var someone = new AccountCreationDriver(host);
        var (_, form) = await someone.Pages.GetAsync(new Uri("/creer-mon-compte/avec-nir", UriKind.Relative));
        Assert.That(form, Does.Not.Contain("name=\"Contact\""), "the form has no contact field");

        // A contact posted anyway — a stranger's, then the records' own — is not read: the same answer, nothing sent.
        var answers = new List<(string Location, HttpStatusCode Status)>();
        foreach (var typed in new[] { "06 99 99 99 99", "06 15 00 00 07", "lea@example.fr" })
        {
            var fields = AccountCreationDriver.Lea();
            fields["Contact"] = typed;
            var response = await new AccountCreationDriver(host).SubmitWithNirAsync(fields);
            answers.Add((System.Text.RegularExpressions.Regex.Replace(response.Headers.Location?.OriginalString ?? "", "flow=[^&]+", "flow=FLOW"), response.StatusCode));
        }
        Assert.That(answers.Distinct().Single(), Is.EqualTo(("/creer-mon-compte/reception-du-code?flow=FLOW", HttpStatusCode.Redirect)));
        Assert.That(host.Sms.Received, Is.Empty, "a form posts no contact and sends nothing");
        Assert.That(await host.QueryAsync(db => db.OutboxMessages.CountAsync()), Is.Zero);

        var choice = FirstLoginDriver.Next(await someone.SubmitWithNirAsync(AccountCreationDriver.Lea()));
        var (_, html) = await someone.Pages.GetAsync(choice);
        Assert.That(html, Does.Not.Contain("type=\"text\"").And.Not.Contain("type=\"email\"").And.Not.Contain("type=\"tel\""), "nothing to type on the choice page");
        Assert.That(System.Text.RegularExpressions.Regex.Matches(html, "name=\"Choice\" value=\"([^\"]*)\"").Select(m => m.Groups[1].Value), Is.EqualTo(new[] { "sms" }),
            "Léa's records hold a mobile only");

        // Posted values that are not a channel the records hold: refused alike, nothing sent.
        foreach (var posted in new[] { "mail", "06 99 99 99 99", "+33699999999", "1", "Sms", "" })
        {
            var refused = await someone.Pages.PostAsync(choice, new Dictionary<string, string> { ["Choice"] = posted });
            Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), posted);
            Assert.That(await OidcDriver.ErrorsOf(refused), Does.Contain("Choisissez comment recevoir votre code de vérification."), posted);
        }
        Assert.That(host.Sms.Received, Is.Empty);

        // The records' channel, with a contact posted beside it: the code goes to the records' mobile, not the typed one.
        var verify = await someone.Pages.PostAsync(choice, new Dictionary<string, string>
        {
            ["Choice"] = "sms", ["Contact"] = "06 99 99 99 99", ["Mobile"] = "06 99 99 99 99", ["Channel"] = "Sms",
        });
        Assert.That(FirstLoginDriver.Next(verify).AbsolutePathOrOriginal(), Is.EqualTo("/creer-mon-compte/verification"), await OidcDriver.ErrorsOf(verify));
        await host.Sms.WaitForAsync(AccountCreationDriver.LeaMobile);
        Assert.That(host.Sms.CountTo("+33699999999"), Is.Zero, "a posted contact never receives a code");
        Assert.That(await host.QueryAsync(db => db.AuditEvents.CountAsync(e => e.Outcome == "contact_not_on_record")), Is.Zero);

        // The flow, with its choice, opens only in the browser that started it.
        var other = new FirstLoginDriver(host.Host.CreateBrowser());
        Assert.That((await other.GetAsync(choice)).Response.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
    }

    /// <summary>
    /// Adversarial review of 5 December 2026: « Recevoir le code autrement », then the same contact again, answered 400
    /// « Patientez 28 secondes » and left the person on the choice page; the code already sent stands instead.
    /// </summary>
    [Test]
    public async Task Choosing_the_same_records_contact_again_keeps_the_code_already_sent_and_sends_no_new_message()
    {
        await using var host = HostStore.Start(kind);
        var lea = new AccountCreationDriver(host);
        var verify = await lea.SubmitWithNirAndChooseAsync(AccountCreationDriver.Lea());
        var code = await lea.CodeSentToAsync(AccountCreationDriver.LeaMobile);

        var back = FirstLoginDriver.Next(await lea.Pages.PostAsync(verify, new Dictionary<string, string>(), handler: "ChangeContact"));
        Assert.That(back.AbsolutePathOrOriginal(), Is.EqualTo("/creer-mon-compte/reception-du-code"));
        var again = await lea.ChooseAsync(back, "sms");

        Assert.That(again.AbsolutePathOrOriginal(), Is.EqualTo("/creer-mon-compte/verification"));
        Assert.That(host.Sms.CountTo(AccountCreationDriver.LeaMobile), Is.EqualTo(1), "no second message");
        var terms = FirstLoginDriver.Next(await lea.Pages.PostAsync(again, new Dictionary<string, string> { ["Code"] = code }));
        Assert.That(terms.AbsolutePathOrOriginal(), Is.EqualTo("/premiere-connexion/conditions"), "the code already sent still activates");
    }

    [Test]
    public async Task Under_16_is_refused_on_both_paths_with_a_clear_message()
    {
        await using var host = HostStore.Start(kind);
        var driver = new AccountCreationDriver(host);
        var today = DateTime.UtcNow;
        var fifteen = today.AddYears(-16).AddDays(2).ToString("dd/MM/yyyy");

        var withNir = await driver.SubmitWithNirAsync(AccountCreationDriver.Lea(birthDate: fifteen));
        var withoutNir = await driver.SubmitWithoutNirAsync(AccountCreationDriver.Morvan(birthDate: fifteen));

        foreach (var response in new[] { withNir, withoutNir })
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
            Assert.That(await OidcDriver.ErrorsOf(response), Does.Contain("Vous devez avoir au moins 16 ans pour créer votre compte Caf."));
        }
        Assert.That(await host.QueryAsync(db => db.AuditEvents.CountAsync(e => e.Type == AuditEventTypes.AccountCreationRefused && e.Outcome == "under_16")), Is.EqualTo(2));
        Assert.That(await host.QueryAsync(db => db.Flows.CountAsync()), Is.Zero);
    }

    [TestCase("Nir", "209036938302598", "la clé ne correspond pas", TestName = "A NIR with a wrong key gets the NIR rule's message")]
    [TestCase("BirthDate", "31/02/2000", "JJ/MM/AAAA", TestName = "An impossible birth date gets a specific message")]
    [TestCase("BirthName", "D4ubois", "que des lettres", TestName = "Digits in a name get a specific message")]
    public async Task Invalid_fields_with_a_NIR_get_specific_messages(string field, string value, string expected)
    {
        await using var host = HostStore.Start(kind);
        var fields = AccountCreationDriver.Lea();
        fields[field] = value;
        var response = await new AccountCreationDriver(host).SubmitWithNirAsync(fields);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(await OidcDriver.ErrorsOf(response), Does.Contain(expected));
    }

    [Test]
    public async Task Invalid_fields_without_a_NIR_get_specific_messages()
    {
        await using var host = HostStore.Start(kind);
        var fields = AccountCreationDriver.Morvan();
        fields.Remove("Civility");
        fields["Parent2GivenNames"] = "";
        fields["PostalCode"] = "6000";
        fields["Contact"] = "01 23 45 67 89";

        var response = await new AccountCreationDriver(host).SubmitWithoutNirAsync(fields);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        var html = WebUtility.HtmlDecode(await response.Content.ReadAsStringAsync());
        Assert.That(html, Does.Contain("Choisissez votre civilité").And.Contain("Saisissez le ou les prénoms du parent 2.").And.Contain("Le code postal comporte 5 chiffres").And.Contain("06 ou 07"));
        Assert.That(html, Does.Contain("value=\"Morvan\""), "what was typed is kept");

        // Born in France: the parents are not asked.
        var french = AccountCreationDriver.Morvan();
        french["BirthCountry"] = "France";
        french["BirthCity"] = "Nice";
        foreach (var parent in new[] { "Parent1BirthName", "Parent1GivenNames", "Parent2BirthName", "Parent2GivenNames" })
        {
            french.Remove(parent);
        }
        Assert.That((await new AccountCreationDriver(host).SubmitWithoutNirAsync(french)).StatusCode, Is.EqualTo(HttpStatusCode.Redirect));
    }

    [Test]
    public async Task A_wrong_code_creates_nothing_and_an_expired_flow_is_refused_with_a_clear_page()
    {
        await using var host = HostStore.Start(kind);
        var daniel = new AccountCreationDriver(host);
        var verify = FirstLoginDriver.Next(await daniel.SubmitWithoutNirAsync(AccountCreationDriver.Morvan(contact: "06 15 00 00 70")));
        var code = await daniel.CodeSentToAsync("+33615000070");

        var wrong = await daniel.Pages.PostAsync(verify, new Dictionary<string, string> { ["Code"] = code == "000000" ? "111111" : "000000" });
        Assert.That(wrong.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(await OidcDriver.ErrorsOf(wrong), Does.Contain("Il vous reste 4 essais"));
        Assert.That(await host.QueryAsync(db => db.Persons.CountAsync(p => p.BirthName == "MORVAN")), Is.Zero);

        await host.QueryAsync(async db =>
        {
            var flow = await db.Flows.SingleAsync(f => f.Type == "account-creation");
            flow.ExpiresAt = DateTimeOffset.UtcNow.AddMinutes(-1);
            return await db.SaveChangesAsync();
        });
        var (expired, html) = await daniel.Pages.GetAsync(verify);
        Assert.That(expired.StatusCode, Is.EqualTo(HttpStatusCode.Gone));
        Assert.That(WebUtility.HtmlDecode(html), Does.Contain("Le délai pour terminer la création de votre compte est dépassé"));

        var other = new FirstLoginDriver(host.Host.CreateBrowser());
        var (elsewhere, _) = await other.GetAsync(verify);
        Assert.That(elsewhere.StatusCode, Is.EqualTo(HttpStatusCode.NotFound), "a flow opens only in the browser that started it");
    }

    [Test]
    public async Task A_form_posted_without_its_anti_forgery_token_is_refused()
    {
        await using var host = HostStore.Start(kind);
        var browser = host.Host.CreateBrowser();
        await browser.GetAsync("/creer-mon-compte/avec-nir");

        var forged = await browser.PostAsync("/creer-mon-compte/avec-nir", new FormUrlEncodedContent(AccountCreationDriver.Lea()));

        Assert.That(forged.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(host.Sms.Received, Is.Empty);
        Assert.That(await host.QueryAsync(db => db.Flows.CountAsync()), Is.Zero);
    }

    [Test]
    public async Task Attempts_are_limited_per_identity()
    {
        await using var host = HostStore.Start(kind, new Dictionary<string, string?> { ["Recovery:RateLimit:PerIdentifierLimit"] = "2" });
        var driver = new AccountCreationDriver(host);
        Assert.That((await driver.SubmitWithNirAsync(AccountCreationDriver.Lea(birthName: "Autre"))).StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That((await driver.SubmitWithNirAsync(AccountCreationDriver.Lea(birthName: "Encore"))).StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));

        var limited = await driver.SubmitWithNirAsync(AccountCreationDriver.Lea());

        Assert.That(limited.StatusCode, Is.EqualTo((HttpStatusCode)429));
        Assert.That(await OidcDriver.ErrorsOf(limited), Does.Contain("trop de demandes"));
        Assert.That(host.Sms.Received, Is.Empty, "a limited request, even right, sends nothing");
        Assert.That(await host.QueryAsync(db => db.AuditEvents.CountAsync(e => e.Type == AuditEventTypes.AccountCreationRateLimited)), Is.EqualTo(1));
    }
}
