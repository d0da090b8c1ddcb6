using System.Text;

namespace CafConnect.IdP.Features.PublicInformation;

/// <summary>
/// Where people who are stuck get help (section <c>Help</c>): the agency's help line, shown in the « Besoin d'aide ? »
/// block of the journeys and on the accessibility statement. Seed 000: « un lien lui explique les règles à suivre et
/// l'oriente, le cas échéant, vers le 0810 29 29 29 pour obtenir de l'aide ».
/// </summary>
public sealed class HelpOptions
{
    public const string DefaultPhoneNumber = "0810 29 29 29";

    /// <summary>The help line as people read it, French national format (<c>Help:PhoneNumber</c>).</summary>
    public string PhoneNumber { get; set; } = DefaultPhoneNumber;

    /// <summary>The <c>tel:</c> link of <see cref="PhoneNumber"/> in international form (RFC 3966), e.g. <c>tel:+33810292929</c>.</summary>
    public string PhoneLink
    {
        get
        {
            var digits = new StringBuilder();
            foreach (var c in PhoneNumber)
            {
                if (char.IsAsciiDigit(c) || (c == '+' && digits.Length == 0)) digits.Append(c);
            }
            var number = digits.ToString();
            // A French number 0X XX XX XX XX is +33 X XX XX XX XX; short numbers (3xxx) and international ones stay as written.
            return "tel:" + (number.Length == 10 && number[0] == '0' ? "+33" + number[1..] : number);
        }
    }
}

/// <summary>
/// What « Mentions légales » says that depends on the deployment (section <c>Legal</c>): who hosts the service. The
/// default names the agency itself; an operator hosting elsewhere sets <c>Legal:HostingProvider</c>.
/// </summary>
public sealed class LegalNoticeOptions
{
    public string HostingProvider { get; set; } =
        "Caisse nationale des allocations familiales (Cnaf), 32 avenue de la Sibelle, 75685 Paris Cedex 14.";
}
