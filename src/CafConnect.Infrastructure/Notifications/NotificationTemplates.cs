using System.Text;
using System.Text.Encodings.Web;
using System.Text.RegularExpressions;
using System.Text.Unicode;

namespace CafConnect.Infrastructure.Notifications;

/// <summary>A rendered message: <see cref="Html"/> for e-mail only, <see cref="Subject"/> for e-mail and letters.</summary>
public sealed record RenderedNotification(string? Subject, string Text, string? Html);

/// <summary>
/// The French wording of every message (seeds 003 and 004: "Accusé de réception de votre démarche en ligne",
/// "Vous venez de demander votre identifiant de connexion…", the anti-phishing sentence, "Nous vous confirmons que votre
/// conjoint…"). E-mail: subject, plain text and HTML (every value HTML-encoded); SMS: one short text; letter: the
/// e-mail's text under a title. Values are substituted into <c>{name}</c> placeholders; a missing value is a bug of the
/// caller and fails at enqueue time.
/// </summary>
public sealed partial class NotificationTemplates
{
    public const string Greeting = "Bonjour,";
    public const string LetterGreeting = "Madame, Monsieur,";
    public const string Closing = "A bientôt sur caf.fr ou sur l'application mobile Caf - Mon Compte.";
    public const string Signature = "Votre caisse d'Allocations familiales";
    public const string AntiPhishing =
        "Votre Caf vous recommande de ne pas cliquer sur les liens contenus dans les courriels. Ils peuvent diriger vers des sites " +
        "frauduleux. Il est préférable de saisir directement l'adresse du site dans votre navigateur.";

    // Letters and digits of every script stay readable; <, >, &, quotes and the like are encoded.
    private static readonly HtmlEncoder Html = HtmlEncoder.Create(UnicodeRanges.All);

    private sealed record Template(string Subject, IReadOnlyList<string> Paragraphs, string Sms);

    /// <summary>The value names a kind requires (see the doc comments of <see cref="NotificationKind"/>).</summary>
    public static IReadOnlyList<string> RequiredValues(NotificationKind kind) => kind switch
    {
        NotificationKind.VerificationCode => ["code", "validity"],
        NotificationKind.ProvisionalIdReminder => ["identifier"],
        NotificationKind.ProvisionalPassword => ["password", "valid_until"],
        NotificationKind.DelegationChanged => ["partner_name", "delegated"],
        NotificationKind.AccountLocked => ["duration"],
        NotificationKind.HouseholdInvitation => ["holder_name"],
        NotificationKind.SeparationRecorded => ["file_number"],
        NotificationKind.FileTransferred => ["file_number"],
        NotificationKind.ApplicantIdentifier => ["file_number"],
        NotificationKind.PhoneAccessLocked => ["duration"],
        NotificationKind.ContactChanged => ["new_contact"],
        NotificationKind.FileCodeIssued => ["code", "file_number", "reason"],
        _ => [],
    };

    public RenderedNotification Render(NotificationKind kind, NotificationChannel channel, IReadOnlyDictionary<string, string> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        foreach (var name in RequiredValues(kind))
        {
            if (!values.TryGetValue(name, out var value) || string.IsNullOrWhiteSpace(value))
            {
                throw new ArgumentException($"The {kind} message needs the value '{name}'.", nameof(values));
            }
        }

        var template = TemplateFor(kind, values);
        return channel switch
        {
            NotificationChannel.Sms => new RenderedNotification(null, Substitute(template.Sms, values, encode: false), null),
            NotificationChannel.Email => new RenderedNotification(template.Subject, EmailText(template, values), EmailHtml(template, values)),
            NotificationChannel.Letter => new RenderedNotification(template.Subject, LetterText(template, values), null),
            _ => throw new ArgumentOutOfRangeException(nameof(channel)),
        };
    }

    /// <summary>
    /// <see cref="NotificationKind.DelegationChanged"/> is written to the holder (the seed 004 confirmation) unless
    /// <c>recipient</c> is <see cref="RecipientPartner"/>: then to the partner, and <c>holder_name</c> is required.
    /// </summary>
    public const string RecipientValue = "recipient";

    /// <summary>
    /// When present, <see cref="NotificationKind.ApplicantIdentifier"/> tells an existing account holder of their new
    /// file and that their own password still works (no provisional password is sent).
    /// </summary>
    public const string KeepsPasswordValue = "keeps_password";
    public const string RecipientPartner = "conjoint";

    /// <summary>
    /// When present, <see cref="NotificationKind.ProvisionalPassword"/> is the activation letter of « Créer Mon Compte »
    /// (a person whose file holds no contact), and <see cref="NotificationKind.AccountCreated"/> the letter telling a person
    /// whose file holds no contact that their account was activated with the file's code (« si ce n'est pas vous… »).
    /// </summary>
    public const string ActivationValue = "activation";

    private static bool ForPartner(IReadOnlyDictionary<string, string> values)
    {
        if (!values.TryGetValue(RecipientValue, out var recipient) || recipient != RecipientPartner)
        {
            return false;
        }
        if (!values.TryGetValue("holder_name", out var holder) || string.IsNullOrWhiteSpace(holder))
        {
            throw new ArgumentException("The DelegationChanged message to the partner needs the value 'holder_name'.", nameof(values));
        }
        return true;
    }

    private static Template TemplateFor(NotificationKind kind, IReadOnlyDictionary<string, string> values) => kind switch
    {
        NotificationKind.VerificationCode => new Template(
            "Votre code de vérification",
            [
                "Vous venez de demander un code de vérification pour confirmer vos coordonnées de contact.",
                "Votre code de vérification : {code}",
                "Ce code est valable {validity}. Ne communiquez jamais ce code : votre Caf ne vous le demandera jamais, ni par téléphone ni par courriel.",
                "Si vous n'êtes pas à l'origine de cette demande, ne tenez pas compte de ce message.",
            ],
            "Votre code de vérification Caf : {code}. Il est valable {validity}. Ne communiquez jamais ce code. A bientôt sur caf.fr"),

        NotificationKind.AccountCreated when values.ContainsKey(ActivationValue) => new Template(
            "Activation de votre Espace Mon Compte",
            [
                "Votre Espace Mon Compte vient d'être activé avec le code confidentiel de votre dossier et votre numéro de Sécurité sociale.",
                "Si ce n'est pas vous, contactez rapidement votre Caf (par téléphone ou à l'accueil) : elle bloquera cet accès et vous enverra un mot de passe provisoire.",
            ],
            "Votre Espace Mon Compte Caf vient d'être activé. Si ce n'est pas vous, contactez rapidement votre Caf. A bientôt sur caf.fr"),

        NotificationKind.AccountCreated when values.ContainsKey("identifier") => new Template(
            "Accusé de réception de votre démarche en ligne",
            [
                "Vous venez de créer votre Espace Mon Compte.",
                "Pour y accéder, utilisez votre identifiant provisoire : {identifier}. Veillez le conserver.",
            ],
            "Vous venez de créer votre Espace Mon Compte. Pour y accéder, utilisez votre identifiant provisoire : {identifier}. A bientôt sur caf.fr"),

        NotificationKind.AccountCreated => new Template(
            "Accusé de réception de votre démarche en ligne",
            [
                "Vous venez de créer votre Espace Mon Compte.",
                "Pour y accéder, utilisez votre numéro de Sécurité sociale.",
            ],
            "Vous venez de créer votre Espace Mon Compte. Pour y accéder, utilisez votre numéro de Sécurité sociale. A bientôt sur caf.fr"),

        NotificationKind.HouseholdInvitation => new Template(
            "Créez votre Espace Mon Compte",
            [
                "{holder_name}, responsable de votre dossier Caf, vous invite à créer votre propre Espace Mon Compte.",
                "Pour le créer, rendez-vous sur caf.fr ou sur l'application mobile Caf - Mon Compte, choisissez « Créer Mon Compte » et saisissez votre état civil et ces coordonnées de contact. Avec votre numéro de Sécurité sociale, choisissez « Avec mon numéro de Sécurité sociale » ; sinon, un identifiant provisoire vous sera attribué.",
                "Cette invitation est valable 30 jours. Si vous ne connaissez pas cette personne, ne tenez pas compte de ce message.",
            ],
            "{holder_name}, responsable de votre dossier Caf, vous invite à créer votre Espace Mon Compte : sur caf.fr, choisissez « Créer Mon Compte » avec votre état civil et ce numéro. Valable 30 jours."),

        NotificationKind.ProvisionalIdReminder => new Template(
            "Votre identifiant provisoire",
            [
                "Vous venez de réaliser une demande d'envoi de votre identifiant de connexion à votre Espace Mon Compte.",
                "Rappel de celui-ci : {identifier}.",
                "Veillez le conserver.",
            ],
            "Vous venez de demander votre identifiant de connexion. Veillez le conserver : {identifier}. A bientôt sur caf.fr"),

        // A first-time applicant registered by the benefits system (seed 000): the password comes with the new file.
        NotificationKind.ProvisionalPassword when values.ContainsKey(ActivationValue) => new Template(
            "Votre code d'activation de l'Espace Mon Compte",
            [
                "Vous avez demandé la création de votre Espace Mon Compte avec votre numéro de Sécurité sociale.",
                "Votre code d'activation : {password}",
                "Il est valable jusqu'au {valid_until}. Connectez-vous sur caf.fr avec votre numéro de Sécurité sociale et ce code à la place du mot de passe : vous choisirez ensuite votre mot de passe personnel.",
                "Si vous n'êtes pas à l'origine de cette demande, ne tenez pas compte de ce courrier et signalez-le à votre Caf : sans ce code, personne ne peut activer votre compte.",
            ],
            "Votre code d'activation Caf : {password}, valable jusqu'au {valid_until}. Ne le communiquez jamais. A bientôt sur caf.fr"),

        NotificationKind.ContactChanged => new Template(
            "Nouvelles coordonnées de contact",
            [
                "De nouvelles coordonnées de contact ({new_contact}) viennent d'être ajoutées à votre Espace Mon Compte.",
                "Si ce n'est pas vous, contactez rapidement votre Caf.",
            ],
            "De nouvelles coordonnées ({new_contact}) ont été ajoutées à votre Espace Mon Compte Caf. Si ce n'est pas vous, contactez votre Caf."),

        NotificationKind.ProvisionalPassword when values.ContainsKey("file_number") => new Template(
            "Votre mot de passe provisoire",
            [
                "Votre demande a bien été enregistrée : votre numéro allocataire est le {file_number}.",
                "Pour suivre votre dossier dans l'Espace Mon Compte, votre mot de passe provisoire : {password}",
                "Il est valable jusqu'au {valid_until}. Lors de votre première connexion, vous choisirez votre mot de passe personnel.",
                "Ne communiquez jamais ce mot de passe : votre Caf ne vous le demandera jamais.",
            ],
            "Votre demande Caf est enregistrée (n° allocataire {file_number}). Mot de passe provisoire : {password}, valable jusqu'au {valid_until}. Ne le communiquez jamais. A bientôt sur caf.fr"),

        NotificationKind.ProvisionalPassword => new Template(
            "Votre mot de passe provisoire",
            [
                "Vous venez de demander un nouveau mot de passe pour votre Espace Mon Compte.",
                "Votre mot de passe provisoire : {password}",
                "Il est valable jusqu'au {valid_until}. Lors de votre prochaine connexion, vous choisirez votre mot de passe personnel.",
                "Ne communiquez jamais ce mot de passe : votre Caf ne vous le demandera jamais.",
            ],
            "Votre mot de passe provisoire Caf : {password}. Il est valable jusqu'au {valid_until}. Ne le communiquez jamais. A bientôt sur caf.fr"),

        NotificationKind.PasswordChanged => new Template(
            "Modification de votre mot de passe",
            [
                "Le mot de passe de votre Espace Mon Compte vient d'être modifié.",
                "Si vous n'êtes pas à l'origine de ce changement, contactez rapidement votre Caf.",
            ],
            "Le mot de passe de votre Espace Mon Compte vient d'être modifié. Si vous n'êtes pas à l'origine de ce changement, contactez votre Caf. A bientôt sur caf.fr"),

        NotificationKind.DelegationChanged when ForPartner(values) && IsTrue(values["delegated"]) => new Template(
            "Mes autorisations",
            [
                "{holder_name}, responsable de votre dossier Caf, vous autorise désormais à consulter l'ensemble du dossier et à réaliser les démarches en ligne.",
                "Vous retrouvez ces services dans votre Espace Mon Compte.",
            ],
            "{holder_name}, responsable de votre dossier Caf, vous autorise désormais à consulter le dossier et à réaliser les démarches en ligne. A bientôt sur caf.fr"),

        NotificationKind.DelegationChanged when ForPartner(values) => new Template(
            "Mes autorisations",
            [
                "{holder_name}, responsable de votre dossier Caf, ne vous autorise plus à consulter l'ensemble du dossier ni à réaliser les démarches en ligne.",
                "Vous gardez l'accès à vos données personnelles, à vos coordonnées de contact et à la déclaration de séparation.",
            ],
            "{holder_name}, responsable de votre dossier Caf, ne vous autorise plus à consulter le dossier ni à réaliser les démarches en ligne. A bientôt sur caf.fr"),

        NotificationKind.DelegationChanged when IsTrue(values["delegated"]) => new Template(
            "Mes autorisations",
            [
                "Nous vous confirmons que votre conjoint, {partner_name}, est maintenant autorisé à consulter l'ensemble du dossier et à réaliser les démarches en ligne.",
                "Vous pouvez modifier ce choix depuis le menu > Gérer mon compte.",
            ],
            "Votre conjoint, {partner_name}, est maintenant autorisé à consulter votre dossier Caf et à réaliser les démarches en ligne. Vous pouvez modifier ce choix depuis Gérer mon compte sur caf.fr"),

        NotificationKind.DelegationChanged => new Template(
            "Mes autorisations",
            [
                "Nous vous confirmons que votre conjoint, {partner_name}, ne peut plus consulter l'ensemble du dossier et réaliser les démarches en ligne.",
                "Vous pouvez modifier ce choix depuis le menu > Gérer mon compte.",
            ],
            "Votre conjoint, {partner_name}, ne peut plus consulter votre dossier Caf ni réaliser les démarches en ligne. Vous pouvez modifier ce choix depuis Gérer mon compte sur caf.fr"),

        NotificationKind.AccountLocked => new Template(
            "Votre compte a été temporairement bloqué",
            [
                "Votre compte a été temporairement bloqué après plusieurs tentatives de connexion infructueuses.",
                "Il sera de nouveau accessible dans {duration}. Vous pouvez aussi le débloquer dès maintenant en choisissant un nouveau mot de passe avec « Mot de passe oublié ? » sur la page de connexion.",
                "Si vous n'êtes pas à l'origine de ces tentatives, quelqu'un essaie peut-être d'accéder à votre compte : choisissez un nouveau mot de passe. Votre Caf ne vous demandera jamais votre mot de passe.",
            ],
            "Votre compte Caf a été temporairement bloqué après plusieurs tentatives de connexion infructueuses. Il sera de nouveau accessible dans {duration}. Si vous n'êtes pas à l'origine de ces tentatives, changez votre mot de passe. A bientôt sur caf.fr"),

        NotificationKind.SeparationRecorded => new Template(
            "Votre séparation a été enregistrée",
            [
                "Votre Caf a enregistré votre séparation. Votre dossier est désormais le dossier n° {file_number}.",
                "Vous gardez votre Espace Mon Compte personnel et votre mot de passe. Votre ancien conjoint n'a plus accès à votre dossier, ni vous au sien.",
            ],
            "Votre Caf a enregistré votre séparation. Votre dossier est désormais le n° {file_number}. Vous gardez votre compte et votre mot de passe. A bientôt sur caf.fr"),

        NotificationKind.FileTransferred => new Template(
            "Votre dossier a changé de Caf",
            [
                "Votre dossier a été transféré à votre nouvelle Caf. Votre nouveau numéro allocataire est le {file_number}.",
                "Vous gardez votre Espace Mon Compte : vous vous connectez toujours avec le même identifiant et le même mot de passe.",
            ],
            "Votre dossier a été transféré à votre nouvelle Caf. Nouveau numéro allocataire : {file_number}. Votre identifiant et votre mot de passe ne changent pas. A bientôt sur caf.fr"),

        NotificationKind.NirAttached => new Template(
            "Votre identifiant de connexion change",
            [
                "Votre numéro de Sécurité sociale est désormais connu de votre Caf.",
                "Connectez-vous maintenant avec votre numéro de Sécurité sociale et votre mot de passe habituel : votre identifiant provisoire ne fonctionne plus. Votre Espace Mon Compte et son historique sont conservés.",
            ],
            "Votre numéro de Sécurité sociale est désormais votre identifiant Caf : votre identifiant provisoire ne fonctionne plus. Votre mot de passe ne change pas. A bientôt sur caf.fr"),

        NotificationKind.ApplicantIdentifier when values.ContainsKey(KeepsPasswordValue) => new Template(
            "Votre demande est enregistrée",
            [
                "Votre demande a bien été enregistrée : votre numéro allocataire est le {file_number}.",
                "Pour suivre votre dossier dans l'Espace Mon Compte, connectez-vous avec votre identifiant et votre mot de passe habituels.",
                "Si vous n'êtes pas à l'origine de cette demande, contactez votre Caf.",
            ],
            "Votre demande Caf est enregistrée (n° allocataire {file_number}). Connectez-vous avec votre mot de passe habituel. Si vous n'êtes pas à l'origine de cette demande, contactez votre Caf."),

        NotificationKind.ApplicantIdentifier when values.ContainsKey("identifier") => new Template(
            "Votre identifiant de connexion",
            [
                "Votre demande a bien été enregistrée : votre numéro allocataire est le {file_number}.",
                "Pour suivre votre dossier dans l'Espace Mon Compte, votre identifiant provisoire : {identifier}. Veillez le conserver.",
                "Votre mot de passe provisoire vous parvient par un courrier distinct.",
            ],
            "Votre demande Caf est enregistrée (n° allocataire {file_number}). Votre identifiant provisoire : {identifier}. A bientôt sur caf.fr"),

        NotificationKind.ApplicantIdentifier => new Template(
            "Votre identifiant de connexion",
            [
                "Votre demande a bien été enregistrée : votre numéro allocataire est le {file_number}.",
                "Pour suivre votre dossier dans l'Espace Mon Compte, connectez-vous avec votre numéro de Sécurité sociale (inscrit sur votre carte Vitale).",
                "Votre mot de passe provisoire vous parvient par un courrier distinct.",
            ],
            "Votre demande Caf est enregistrée (n° allocataire {file_number}). Connectez-vous avec votre numéro de Sécurité sociale. A bientôt sur caf.fr"),
        NotificationKind.PhoneAccessLocked => new Template(
            "L'accès à votre dossier par téléphone a été temporairement bloqué",
            [
                "L'accès à votre dossier par le serveur vocal (numéro allocataire et code confidentiel à 8 chiffres) a été temporairement bloqué après plusieurs saisies de code incorrectes.",
                "Il sera de nouveau accessible dans {duration}. Votre accès sur caf.fr et sur l'application, avec votre propre mot de passe, n'est pas bloqué.",
                "Si vous n'êtes pas à l'origine de ces appels, quelqu'un essaie peut-être d'accéder à votre dossier : contactez votre Caf. Votre Caf ne vous demandera jamais votre code confidentiel.",
            ],
            "L'accès à votre dossier Caf par téléphone a été temporairement bloqué après plusieurs codes incorrects. Il sera de nouveau accessible dans {duration}. Si vous n'êtes pas à l'origine de ces appels, contactez votre Caf. A bientôt sur caf.fr"),

        NotificationKind.PhoneCodeChanged => new Template(
            "Votre code confidentiel pour le téléphone",
            [
                "Le code confidentiel à 8 chiffres qui vous permet d'accéder à votre dossier par téléphone avec votre numéro de Sécurité sociale vient d'être choisi ou modifié dans votre Espace Mon Compte.",
                "Si ce n'est pas vous, changez votre mot de passe et contactez rapidement votre Caf. Votre Caf ne vous demandera jamais votre code confidentiel.",
            ],
            "Votre code confidentiel Caf pour le téléphone vient d'être modifié. Si ce n'est pas vous, contactez votre Caf. A bientôt sur caf.fr"),

        // Seed 002: « En cas de mot de passe oublié, je sélectionne le choix « mot de passe oublié » sur le serveur vocal.
        // Je reçois un nouveau mot de passe par SMS » — and a new code for each file after a separation or a mutation.
        NotificationKind.FileCodeIssued when values.TryGetValue("reason", out var why) && why == "oubli" => new Template(
            "Votre nouveau code confidentiel pour le téléphone",
            [
                "Vous avez demandé un nouveau code confidentiel sur le serveur vocal de votre Caf pour le dossier {file_number}.",
                "Votre nouveau code confidentiel : {code}",
                "Utilisez-le avec votre numéro allocataire lors de votre prochain appel : votre ancien code ne fonctionnera plus ensuite. Ne le communiquez jamais : votre Caf ne vous le demandera jamais.",
                "Si vous n'êtes pas à l'origine de cette demande, ne tenez pas compte de ce message : votre code actuel reste valable.",
            ],
            "Votre nouveau code confidentiel Caf pour le téléphone (dossier {file_number}) : {code}. Ne le communiquez jamais. Si vous ne l'avez pas demandé, ignorez ce message."),
        NotificationKind.FileCodeIssued => new Template(
            "Votre nouveau code confidentiel pour le téléphone",
            [
                "Votre situation familiale a changé : votre dossier porte désormais le numéro allocataire {file_number} et reçoit un nouveau code confidentiel.",
                "Votre nouveau code confidentiel : {code}",
                "Utilisez-le avec votre numéro allocataire pour accéder à votre dossier par téléphone ; l'ancien code ne fonctionne plus. Ne le communiquez jamais : votre Caf ne vous le demandera jamais.",
            ],
            "Votre nouveau code confidentiel Caf pour le téléphone (dossier {file_number}) : {code}. Ne le communiquez jamais."),

        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "No template for this kind of message."),
    };

    private static bool IsTrue(string value) =>
        value.Trim() is var v && (v.Equals("true", StringComparison.OrdinalIgnoreCase) || v == "1" || v.Equals("oui", StringComparison.OrdinalIgnoreCase));

    private static string EmailText(Template template, IReadOnlyDictionary<string, string> values)
    {
        var text = new StringBuilder().Append(Greeting).Append("\n\n");
        foreach (var paragraph in template.Paragraphs)
        {
            text.Append(Substitute(paragraph, values, encode: false)).Append("\n\n");
        }
        return text.Append(Closing).Append("\n\n").Append(Signature).Append("\n\n").Append(AntiPhishing).Append('\n').ToString();
    }

    private static string LetterText(Template template, IReadOnlyDictionary<string, string> values)
    {
        var text = new StringBuilder().Append(template.Subject.ToUpperInvariant()).Append("\n\n").Append(LetterGreeting).Append("\n\n");
        foreach (var paragraph in template.Paragraphs)
        {
            text.Append(Substitute(paragraph, values, encode: false)).Append("\n\n");
        }
        return text.Append(Closing).Append("\n\n").Append(Signature).Append('\n').ToString();
    }

    private static string EmailHtml(Template template, IReadOnlyDictionary<string, string> values)
    {
        var html = new StringBuilder()
            .Append("<!DOCTYPE html>\n<html lang=\"fr\">\n<head><meta charset=\"utf-8\"><title>")
            .Append(Html.Encode(template.Subject))
            .Append("</title></head>\n<body style=\"font-family: Arial, Helvetica, sans-serif; color: #1d1d1b; line-height: 1.5;\">\n")
            .Append("<p>").Append(Html.Encode(Greeting)).Append("</p>\n");
        foreach (var paragraph in template.Paragraphs)
        {
            html.Append("<p>").Append(Substitute(paragraph, values, encode: true)).Append("</p>\n");
        }
        return html
            .Append("<p>").Append(Html.Encode(Closing)).Append("</p>\n")
            .Append("<p>").Append(Html.Encode(Signature)).Append("</p>\n")
            .Append("<p style=\"font-size: 0.85em; color: #555555;\">").Append(Html.Encode(AntiPhishing)).Append("</p>\n")
            .Append("</body>\n</html>\n")
            .ToString();
    }

    /// <summary>Fills <c>{name}</c> placeholders; in HTML every piece is encoded and values are set in bold.</summary>
    private static string Substitute(string template, IReadOnlyDictionary<string, string> values, bool encode)
    {
        var result = new StringBuilder();
        var last = 0;
        foreach (Match match in Placeholder().Matches(template))
        {
            var literal = template[last..match.Index];
            result.Append(encode ? Html.Encode(literal) : literal);
            var value = values[match.Groups[1].Value].Trim();
            result.Append(encode ? "<strong>" + Html.Encode(value) + "</strong>" : value);
            last = match.Index + match.Length;
        }
        var tail = template[last..];
        return result.Append(encode ? Html.Encode(tail) : tail).ToString();
    }

    [GeneratedRegex(@"\{([a-z_]+)\}")]
    private static partial Regex Placeholder();
}
