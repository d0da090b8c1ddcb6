using CafConnect.Infrastructure.Notifications;

namespace CafConnect.Infrastructure.Tests.Notifications;

public sealed class NotificationTemplatesTests
{
    private readonly NotificationTemplates _templates = new();

    private static Dictionary<string, string> ValuesFor(NotificationKind kind) => kind switch
    {
        NotificationKind.VerificationCode => new() { ["code"] = "048213", ["validity"] = "10 minutes" },
        NotificationKind.ProvisionalIdReminder => new() { ["identifier"] = "P50575506" },
        NotificationKind.ProvisionalPassword => new() { ["password"] = "Ab3<&>\"'", ["valid_until"] = "08/12/2026" },
        NotificationKind.DelegationChanged => new() { ["partner_name"] = "Zohra <b>TADJ</b> & fils", ["delegated"] = "true" },
        NotificationKind.AccountLocked => new() { ["duration"] = "2 heures et 30 minutes" },
        NotificationKind.HouseholdInvitation => new() { ["holder_name"] = "Louise <b>DUBOIS</b> & fils" },
        NotificationKind.SeparationRecorded or NotificationKind.FileTransferred => new() { ["file_number"] = "0260399" },
        NotificationKind.ApplicantIdentifier => new() { ["file_number"] = "0483920", ["identifier"] = "P33392250" },
        NotificationKind.PhoneAccessLocked => new() { ["duration"] = "15 minutes" },
        NotificationKind.ContactChanged => new() { ["new_contact"] = "0*******44" },
        NotificationKind.FileCodeIssued => new() { ["code"] = "47302918", ["file_number"] = "0412345", ["reason"] = "oubli" },
        _ => new(),
    };

    private static IEnumerable<TestCaseData> EveryKindAndChannel() =>
        from kind in Enum.GetValues<NotificationKind>()
        from channel in Enum.GetValues<NotificationChannel>()
        select new TestCaseData(kind, channel).SetName($"{kind} by {channel} renders in French");

    [Test]
    public void The_activation_letters_say_what_to_do_and_what_if_it_was_not_you()
    {
        var code = _templates.Render(NotificationKind.ProvisionalPassword, NotificationChannel.Letter,
            new Dictionary<string, string> { ["password"] = "48213907", ["valid_until"] = "04/02/2027", [NotificationTemplates.ActivationValue] = "true" });
        Assert.That(code.Text, Does.Contain("Votre code d'activation : 48213907").And.Contain("valable jusqu'au 04/02/2027").And.Contain("Si vous n'êtes pas à l'origine de cette demande"));
        var activated = _templates.Render(NotificationKind.AccountCreated, NotificationChannel.Letter,
            new Dictionary<string, string> { [NotificationTemplates.ActivationValue] = "true" });
        Assert.That(activated.Text, Does.Contain("vient d'être activé").And.Contain("Si ce n'est pas vous, contactez rapidement votre Caf"));
    }

    [TestCaseSource(nameof(EveryKindAndChannel))]
    public void Every_kind_renders_in_french_for_every_channel(NotificationKind kind, NotificationChannel channel)
    {
        var values = ValuesFor(kind);
        var rendered = _templates.Render(kind, channel, values);

        Assert.Multiple(() =>
        {
            Assert.That(rendered.Text, Is.Not.Empty);
            foreach (var value in values.Where(v => v.Key is not ("delegated" or "reason")).Select(v => v.Value))
            {
                Assert.That(rendered.Text, Does.Contain(value), "plain text carries the values as they are");
            }
            Assert.That(rendered.Text, Does.Contain("caf.fr").Or.Contain("Caf"));
            switch (channel)
            {
                case NotificationChannel.Sms:
                    Assert.That(rendered.Subject, Is.Null);
                    Assert.That(rendered.Html, Is.Null);
                    Assert.That(rendered.Text, Does.Not.Contain("\n"));
                    Assert.That(rendered.Text.Length, Is.LessThanOrEqualTo(320), "two SMS at most");
                    break;
                case NotificationChannel.Email:
                    Assert.That(rendered.Subject, Is.Not.Empty);
                    Assert.That(rendered.Text, Does.StartWith("Bonjour,").And.Contain(NotificationTemplates.AntiPhishing).And.Contain("Votre caisse d'Allocations familiales"));
                    Assert.That(rendered.Html, Does.Contain("<html lang=\"fr\">").And.Contain("Bonjour,"));
                    Assert.That(rendered.Html, Does.Not.Contain("<b>").And.Not.Contain("Ab3<&>"), "values are HTML-encoded");
                    break;
                case NotificationChannel.Letter:
                    Assert.That(rendered.Subject, Is.Not.Empty);
                    Assert.That(rendered.Html, Is.Null);
                    Assert.That(rendered.Text, Does.Contain("Madame, Monsieur,"));
                    break;
            }
        });
    }

    [Test]
    public void Html_encodes_every_value()
    {
        var delegation = _templates.Render(NotificationKind.DelegationChanged, NotificationChannel.Email, ValuesFor(NotificationKind.DelegationChanged));
        var password = _templates.Render(NotificationKind.ProvisionalPassword, NotificationChannel.Email, ValuesFor(NotificationKind.ProvisionalPassword));

        Assert.Multiple(() =>
        {
            Assert.That(delegation.Html, Does.Contain("<strong>Zohra &lt;b&gt;TADJ&lt;/b&gt; &amp; fils</strong>"));
            Assert.That(password.Html, Does.Contain("<strong>Ab3&lt;&amp;&gt;&quot;&#x27;</strong>"));
        });
    }

    [Test]
    public void A_first_time_applicants_password_and_identifier_never_share_a_message()
    {
        var password = _templates.Render(NotificationKind.ProvisionalPassword, NotificationChannel.Letter,
            new Dictionary<string, string> { ["password"] = "48213957", ["valid_until"] = "24/01/2027", ["file_number"] = "0483920" });
        var identifier = _templates.Render(NotificationKind.ApplicantIdentifier, NotificationChannel.Letter, ValuesFor(NotificationKind.ApplicantIdentifier));
        var withNir = _templates.Render(NotificationKind.ApplicantIdentifier, NotificationChannel.Letter, new Dictionary<string, string> { ["file_number"] = "0483920" });

        Assert.Multiple(() =>
        {
            Assert.That(password.Text, Does.Contain("48213957").And.Contain("0483920").And.Contain("Votre demande a bien été enregistrée").And.Not.Contain("P33392250"));
            Assert.That(identifier.Text, Does.Contain("P33392250").And.Contain("courrier distinct").And.Not.Contain("48213957"));
            Assert.That(withNir.Text, Does.Contain("numéro de Sécurité sociale").And.Contain("0483920"));
        });
    }

    [Test]
    public void The_seed_sms_wordings_are_kept()
    {
        Assert.Multiple(() =>
        {
            Assert.That(_templates.Render(NotificationKind.AccountCreated, NotificationChannel.Sms, new Dictionary<string, string>()).Text,
                Is.EqualTo("Vous venez de créer votre Espace Mon Compte. Pour y accéder, utilisez votre numéro de Sécurité sociale. A bientôt sur caf.fr"));
            Assert.That(_templates.Render(NotificationKind.ProvisionalIdReminder, NotificationChannel.Sms, new Dictionary<string, string> { ["identifier"] = "P50575506" }).Text,
                Is.EqualTo("Vous venez de demander votre identifiant de connexion. Veillez le conserver : P50575506. A bientôt sur caf.fr"));
        });
    }

    [Test]
    public void The_account_created_email_is_the_seed_acknowledgement()
    {
        var email = _templates.Render(NotificationKind.AccountCreated, NotificationChannel.Email, new Dictionary<string, string>());

        Assert.Multiple(() =>
        {
            Assert.That(email.Subject, Is.EqualTo("Accusé de réception de votre démarche en ligne"));
            Assert.That(email.Text, Is.EqualTo(
                "Bonjour,\n\nVous venez de créer votre Espace Mon Compte.\n\nPour y accéder, utilisez votre numéro de Sécurité sociale.\n\n" +
                "A bientôt sur caf.fr ou sur l'application mobile Caf - Mon Compte.\n\nVotre caisse d'Allocations familiales\n\n" +
                "Votre Caf vous recommande de ne pas cliquer sur les liens contenus dans les courriels. Ils peuvent diriger vers des sites frauduleux. " +
                "Il est préférable de saisir directement l'adresse du site dans votre navigateur.\n"));
        });
    }

    [Test]
    public void The_verification_code_says_its_validity_and_never_to_share_it()
    {
        var sms = _templates.Render(NotificationKind.VerificationCode, NotificationChannel.Sms, ValuesFor(NotificationKind.VerificationCode));
        var email = _templates.Render(NotificationKind.VerificationCode, NotificationChannel.Email, new Dictionary<string, string> { ["code"] = "048213", ["validity"] = "15 minutes" });

        Assert.Multiple(() =>
        {
            Assert.That(sms.Text, Is.EqualTo("Votre code de vérification Caf : 048213. Il est valable 10 minutes. Ne communiquez jamais ce code. A bientôt sur caf.fr"));
            Assert.That(email.Subject, Is.EqualTo("Votre code de vérification"));
            Assert.That(email.Text, Does.Contain("Votre code de vérification : 048213").And.Contain("valable 15 minutes").And.Contain("Ne communiquez jamais ce code"));
        });
    }

    [Test]
    public void Delegation_granted_and_withdrawn_use_the_seed_confirmations()
    {
        var granted = _templates.Render(NotificationKind.DelegationChanged, NotificationChannel.Email, new Dictionary<string, string> { ["partner_name"] = "Zohra TADJ", ["delegated"] = "true" });
        var withdrawn = _templates.Render(NotificationKind.DelegationChanged, NotificationChannel.Email, new Dictionary<string, string> { ["partner_name"] = "Zohra TADJ", ["delegated"] = "false" });

        Assert.Multiple(() =>
        {
            Assert.That(granted.Text, Does.Contain("Nous vous confirmons que votre conjoint, Zohra TADJ, est maintenant autorisé à consulter l'ensemble du dossier et à réaliser les démarches en ligne."));
            Assert.That(withdrawn.Text, Does.Contain("Nous vous confirmons que votre conjoint, Zohra TADJ, ne peut plus consulter l'ensemble du dossier et réaliser les démarches en ligne."));
            Assert.That(granted.Text, Does.Contain("Vous pouvez modifier ce choix depuis le menu > Gérer mon compte."));
        });
    }


    [Test]
    public void The_partner_is_told_in_their_own_words_and_needs_the_holders_name()
    {
        var values = new Dictionary<string, string>
        {
            ["partner_name"] = "Marc DUPONT", ["holder_name"] = "Jeanne DUPONT", ["recipient"] = NotificationTemplates.RecipientPartner,
        };
        var granted = _templates.Render(NotificationKind.DelegationChanged, NotificationChannel.Sms, new Dictionary<string, string>(values) { ["delegated"] = "true" });
        var withdrawn = _templates.Render(NotificationKind.DelegationChanged, NotificationChannel.Email, new Dictionary<string, string>(values) { ["delegated"] = "false" });

        Assert.Multiple(() =>
        {
            Assert.That(granted.Text, Does.StartWith("Jeanne DUPONT, responsable de votre dossier Caf, vous autorise désormais"));
            Assert.That(withdrawn.Text, Does.Contain("Jeanne DUPONT, responsable de votre dossier Caf, ne vous autorise plus"));
            Assert.That(withdrawn.Text, Does.Not.Contain("votre conjoint, Marc DUPONT"));
        });
        values.Remove("holder_name");
        Assert.That(() => _templates.Render(NotificationKind.DelegationChanged, NotificationChannel.Sms, new Dictionary<string, string>(values) { ["delegated"] = "true" }),
            Throws.ArgumentException.With.Message.Contains("holder_name"));
    }
    [Test]
    public void A_missing_value_fails_at_enqueue_time_naming_the_value_not_the_others()
    {
        var error = Assert.Throws<ArgumentException>(() => _templates.Render(NotificationKind.ProvisionalPassword, NotificationChannel.Sms,
            new Dictionary<string, string> { ["password"] = "Secret123" }));
        Assert.That(error!.Message, Does.Contain("valid_until").And.Not.Contain("Secret123"));
    }
}
