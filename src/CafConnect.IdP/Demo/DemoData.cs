using CafConnect.Domain.Accounts;
using CafConnect.Domain.Households;
using CafConnect.Infrastructure.Persistence;
using CafConnect.Infrastructure.Security;
using Microsoft.EntityFrameworkCore;

namespace CafConnect.IdP.Demo;

/// <summary>A demo person with the password the README documents.</summary>
public sealed record DemoPerson(string? Nir, string? ProvisionalId, Civility Civility, string GivenNames, string BirthName, DateOnly BirthDate, string? Email, string? Mobile, string Password);

/// <summary>
/// Households with known test credentials for the embedded default (Demo:Enabled, Development only by default).
/// Seeded only into an empty store. The numbers are made up and follow the NIR format.
/// </summary>
public sealed class DemoData(CafConnectDbContext db, ISecretHasher hasher, TimeProvider clock)
{
    public static readonly DemoPerson JeanneDupont = new("2850375112048", null, Civility.Madame, "Jeanne", "DUPONT", new DateOnly(1985, 3, 14), "jeanne.dupont@example.fr", "+33615000001", "Soleil2Paris");
    public static readonly DemoPerson MarcDupont = new("1831175115230", null, Civility.Monsieur, "Marc", "DUPONT", new DateOnly(1983, 11, 2), "marc.dupont@example.fr", "+33615000002", "Riviere7Lyon");
    public static readonly DemoPerson LouiseDubois = new("2920769383017", null, Civility.Madame, "Louise", "DUBOIS", new DateOnly(1992, 7, 21), "louise.dubois@example.fr", "+33615000003", "Montagne4Nice");
    // A household still on the legacy 8-digit file code: both partners migrate at their first login ("la bascule").
    public static readonly DemoPerson PaulMartin = new("1780413055123", null, Civility.Monsieur, "Paul", "MARTIN", new DateOnly(1978, 4, 2), "paul.martin@example.fr", "+33615000004", Password: "");
    public static readonly DemoPerson SophieMartin = new("2800913055456", null, Civility.Madame, "Sophie", "MARTIN", new DateOnly(1980, 9, 17), null, "+33615000005", Password: "");
    public const string MartinLegacyCode = "58231947";

    public static readonly DemoPerson AminaDiallo = new(null, "P33392250", Civility.Madame, "Amina", "DIALLO", new DateOnly(1990, 5, 9), "amina.diallo@example.fr", null, "Baobab8Dakar");

    // Own password, but no verified contact (a mobile on file, never verified): "Mot de passe oublié ?" answers by letter.
    public static readonly DemoPerson KarimBenali = new("1880633063042", null, Civility.Monsieur, "Karim", "BENALI", new DateOnly(1988, 6, 30), null, "+33615000006", "Cedre5Bordeaux");

    // Imported from the agency's records (a child of 17 on the DUBOIS file), never signed in and without a password:
    // « Créer Mon Compte » with her NIR activates her account; the code goes to the mobile the records hold.
    public static readonly DemoPerson LeaDubois = new("2090369383025", null, Civility.Madame, "Léa", "DUBOIS", new DateOnly(2009, 3, 12), null, "+33615000007", Password: "");

    public async Task SeedWhenEmptyAsync(CancellationToken cancellationToken = default)
    {
        if (await db.Persons.AnyAsync(cancellationToken))
        {
            return;
        }

        var jeanne = Create(JeanneDupont);
        var marc = Create(MarcDupont);
        var louise = Create(LouiseDubois);
        var amina = Create(AminaDiallo);
        var paul = CreateLegacy(PaulMartin);
        var sophie = CreateLegacy(SophieMartin);
        var karim = Create(KarimBenali);
        karim.MobilePhoneVerified = false;
        var lea = CreateLegacy(LeaDubois);
        db.Persons.AddRange(jeanne, marc, louise, amina, paul, sophie, karim, lea);

        var now = clock.GetUtcNow();
        var dupont = new Household { FileNumber = "0260311" };
        // Jeanne already answered « Mes autorisations » with « Non » (Marc is not delegated): her logins go straight
        // through and she changes it under /mon-compte/autorisations. Paul MARTIN has not: he is asked at the end of his first login.
        dupont.Members.Add(new HouseholdMembership { Person = jeanne, Role = HouseholdRole.Allocataire, JoinedAt = now, DelegationChoiceAt = now });
        dupont.Members.Add(new HouseholdMembership { Person = marc, Role = HouseholdRole.Conjoint, JoinedAt = now });
        var dubois = new Household { FileNumber = "1234567" };
        dubois.Members.Add(new HouseholdMembership { Person = louise, Role = HouseholdRole.Allocataire });
        dubois.Members.Add(new HouseholdMembership { Person = lea, Role = HouseholdRole.Enfant });
        var martin = new Household { FileNumber = "0412345", LegacySecretHash = hasher.Hash(MartinLegacyCode) };
        martin.Members.Add(new HouseholdMembership { Person = paul, Role = HouseholdRole.Allocataire });
        martin.Members.Add(new HouseholdMembership { Person = sophie, Role = HouseholdRole.Conjoint });
        db.Households.AddRange(dupont, dubois, martin);

        await db.SaveChangesAsync(cancellationToken);
    }

    /// <summary>Known to the file, never signed in: no password of their own, no terms accepted, contacts unverified.</summary>
    private static PersonAccount CreateLegacy(DemoPerson demo) => new()
    {
        Nir = demo.Nir,
        Civility = demo.Civility,
        GivenNames = demo.GivenNames,
        BirthName = demo.BirthName,
        BirthDate = demo.BirthDate,
        Email = demo.Email,
        MobilePhone = demo.Mobile,
        CredentialKind = CredentialKind.None,
    };

    private PersonAccount Create(DemoPerson demo) => new()
    {
        AcceptedTermsVersion = 1,
        TermsAcceptedAt = clock.GetUtcNow(),
        Nir = demo.Nir,
        ProvisionalId = demo.ProvisionalId,
        Civility = demo.Civility,
        GivenNames = demo.GivenNames,
        BirthName = demo.BirthName,
        BirthDate = demo.BirthDate,
        Email = demo.Email,
        EmailVerified = demo.Email is not null,
        MobilePhone = demo.Mobile,
        MobilePhoneVerified = demo.Mobile is not null,
        PasswordHash = hasher.Hash(demo.Password),
        CredentialKind = CredentialKind.Personal,
        PasswordSetAt = clock.GetUtcNow(),
    };
}
