using System.Net;
using CafConnect.IdP.Tests.Features.FirstLogin;
using CafConnect.IdP.Tests.Features.Recovery;
using CafConnect.IdP.Tests.Support;
using CafConnect.Infrastructure.Imports;
using CafConnect.Infrastructure.Security;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace CafConnect.IdP.Tests.Admin;

/// <summary>
/// A legacy code imported in a format CafConnect does not hash itself (<c>legacy_secret_format=pbkdf2-sha256</c>, the
/// example verifier): kept as it is, verified at the login by its verifier, then re-hashed with Argon2id.
/// </summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
public sealed class LegacyVerifierLoginTests(StoreKind kind)
{
    private const string Nir = "1790575112044";
    private const string Code = "58231947";
    private const string Header = "file_number,role,nir,provisional_id,civility,birth_name,usage_name,given_names,birth_date,birth_country,birth_city,postal_code,mobile,email,legacy_secret,legacy_secret_format";

    [Test]
    public async Task An_imported_pbkdf2_code_signs_in_is_upgraded_to_Argon2id_and_still_signs_in()
    {
        await using var host = HostStore.Start(kind);
        var stored = Pbkdf2Sha256LegacySecretVerifier.Create(Code, iterations: 1000);
        var csv = $"{Header}\n0999001,allocataire,{Nir},,M,ROUSSEAU,,Alain,1979-05-03,FRANCE,Paris,75011,,,{stored},pbkdf2-sha256\n"
            + $"0999002,allocataire,1790575112055,,M,MOREAU,,Luc,1979-05-03,FRANCE,Paris,75011,,,{stored},md5-crypt\n";
        using (var scope = host.Host.Services.CreateScope())
        {
            var report = await scope.ServiceProvider.GetRequiredService<AccountImporter>().ImportAsync(new StringReader(csv), new ImportOptions());
            Assert.That(report.HouseholdsImported, Is.EqualTo(1));
            Assert.That(report.Problems.Single().Reason, Does.Contain("legacy_secret_format").And.Contain("pbkdf2-sha256"), "an unknown format is refused, naming the known ones");
        }
        Assert.That(await LegacyHashAsync(host), Is.EqualTo("$legacy$pbkdf2-sha256$" + stored), "kept as it is, tagged with its format");

        var wrong = await new OidcDriver(host.Host.CreateBrowser()).SubmitLoginAsync(new Uri("/connexion", UriKind.Relative), Nir, "58231948");
        Assert.That(wrong.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(await LegacyHashAsync(host), Does.StartWith("$legacy$"), "a wrong code changes nothing");

        var first = await new FirstLoginDriver(host.Host.CreateBrowser()).LoginWithLegacyCodeAsync(nir: Nir);
        Assert.That(first.AbsolutePathOrOriginal(), Is.EqualTo("/premiere-connexion"));
        var upgraded = await LegacyHashAsync(host);
        Assert.That(upgraded, Does.StartWith("$argon2id$v=19$"));
        Assert.That(Argon2idSecretHasher.IsSupported(upgraded), Is.True);

        var second = await new FirstLoginDriver(host.Host.CreateBrowser()).LoginWithLegacyCodeAsync(nir: Nir);
        Assert.That(second.AbsolutePathOrOriginal(), Is.EqualTo("/premiere-connexion"));
        Assert.That(await LegacyHashAsync(host), Is.EqualTo(upgraded), "hashed once");
    }

    private static Task<string?> LegacyHashAsync(JourneyHost host) =>
        host.QueryAsync(db => db.Households.Where(h => h.FileNumber == "0999001").Select(h => h.LegacySecretHash).SingleAsync());
}
