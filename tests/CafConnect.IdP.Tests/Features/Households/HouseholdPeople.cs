using CafConnect.Domain.Accounts;
using CafConnect.Domain.Households;
using CafConnect.IdP.Demo;
using CafConnect.Infrastructure.Persistence;
using CafConnect.Infrastructure.Security;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace CafConnect.IdP.Tests.Features.Households;

/// <summary>A person the household tests sign in as: who they are, how they log in, on which file.</summary>
public sealed record HouseholdPerson(string Name, string Identifier, string Password, string? FileNumber, bool Provisional = false)
{
    public override string ToString() => Name;
}

/// <summary>
/// The demo households plus test people for the roles the demo lacks, added straight to the store: a child and another
/// adult on the DUBOIS file, a delegated partner and a conjoint_allocataire on files of their own. Every one has
/// accepted the terms and has a verified mobile, so their logins go straight through.
/// </summary>
public static class HouseholdPeople
{
    public const string Password = "Essai2Foyer";

    public static readonly HouseholdPerson Allocataire = new("allocataire", DemoData.JeanneDupont.Nir!, DemoData.JeanneDupont.Password, "0260311");
    public static readonly HouseholdPerson Conjoint = new("conjoint", DemoData.MarcDupont.Nir!, DemoData.MarcDupont.Password, "0260311");
    public static readonly HouseholdPerson ConjointDelegue = new("conjoint délégué", "2770675101022", Password, "0555001");
    public static readonly HouseholdPerson ConjointAllocataire = new("conjoint_allocataire", "2740975101044", Password, "0555002");
    public static readonly HouseholdPerson Enfant = new("enfant", "1080769383021", Password, "1234567");
    public static readonly HouseholdPerson Autre = new("autre", "2650269383034", Password, "1234567");
    public static readonly HouseholdPerson Primo = new("primo_demandeur", DemoData.AminaDiallo.ProvisionalId!, DemoData.AminaDiallo.Password, null, Provisional: true);

    public static readonly HouseholdPerson[] All = [Allocataire, Conjoint, ConjointDelegue, ConjointAllocataire, Enfant, Autre, Primo];

    public static async Task SeedAsync(IServiceProvider services)
    {
        using var scope = services.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<CafConnectDbContext>();
        var hasher = scope.ServiceProvider.GetRequiredService<ISecretHasher>();
        var hash = hasher.Hash(Password);
        var mobile = 10;
        PersonAccount Person(string nir, string given, string family, Civility civility) => new()
        {
            Nir = nir,
            GivenNames = given,
            BirthName = family,
            Civility = civility,
            AcceptedTermsVersion = 1,
            TermsAcceptedAt = DateTimeOffset.UtcNow,
            MobilePhone = $"+336150000{mobile++}",
            MobilePhoneVerified = true,
            PasswordHash = hash,
            CredentialKind = CredentialKind.Personal,
            PasswordSetAt = DateTimeOffset.UtcNow,
        };

        var dubois = await db.Households.SingleAsync(h => h.FileNumber == "1234567");
        db.Memberships.Add(new HouseholdMembership { HouseholdId = dubois.Id, Person = Person(Enfant.Identifier, "Lucas", "DUBOIS", Civility.Monsieur), Role = HouseholdRole.Enfant });
        db.Memberships.Add(new HouseholdMembership { HouseholdId = dubois.Id, Person = Person(Autre.Identifier, "Odette", "DUBOIS", Civility.Madame), Role = HouseholdRole.Autre });

        // The holder answered after the partner joined (a choice made before would be about a previous partner).
        var joined = DateTimeOffset.UtcNow.AddDays(-1);
        var delegated = new Household { FileNumber = "0555001" };
        delegated.Members.Add(new HouseholdMembership { Person = Person("1750575101011", "Karim", "BENALI", Civility.Monsieur), Role = HouseholdRole.Allocataire, JoinedAt = joined, DelegationChoiceAt = DateTimeOffset.UtcNow });
        delegated.Members.Add(new HouseholdMembership { Person = Person(ConjointDelegue.Identifier, "Nadia", "BENALI", Civility.Madame), Role = HouseholdRole.Conjoint, JoinedAt = joined, Delegated = true });

        var beneficiary = new Household { FileNumber = "0555002" };
        beneficiary.Members.Add(new HouseholdMembership { Person = Person("1720875101033", "Yves", "LEGRAND", Civility.Monsieur), Role = HouseholdRole.Allocataire });
        beneficiary.Members.Add(new HouseholdMembership { Person = Person(ConjointAllocataire.Identifier, "Rose", "LEGRAND", Civility.Madame), Role = HouseholdRole.ConjointAllocataire });

        db.Households.AddRange(delegated, beneficiary);
        await db.SaveChangesAsync();
    }
}
