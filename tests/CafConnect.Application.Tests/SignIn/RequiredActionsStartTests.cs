using CafConnect.Application.Persistence;
using CafConnect.Application.SignIn;
using CafConnect.Domain.Accounts;
using CafConnect.Domain.Passwords;
using CafConnect.Infrastructure.Audit;
using CafConnect.Infrastructure.Persistence;
using CafConnect.Infrastructure.Terms;
using CafConnect.Infrastructure.Tests.Support;
using Microsoft.EntityFrameworkCore;

namespace CafConnect.Application.Tests.SignIn;

/// <summary>
/// « Starting required actions », once for every way in (login page, FranceConnect, account creation): which steps
/// stand before the session, and the audit line of a login held back by them — appended, committed by the caller.
/// </summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSql)]
public sealed class RequiredActionsStartTests(StoreKind kind)
{
    private TestDatabase _database = null!;
    private CafConnectDbContext _db = null!;
    private RequiredActionsStart _start = null!;

    [SetUp]
    public async Task CreateStoreAsync()
    {
        _database = await TestDatabase.CreateAsync(kind);
        _db = _database.NewContext();
        var terms = new TermsOfUseCatalog(_db, TimeProvider.System);
        await terms.EnsurePublishedAsync();
        _start = new RequiredActionsStart(terms, new LoginOptions(), new AuditTrail(_db, new FixedAuditContextAccessor(AuditContext.None), TimeProvider.System), TimeProvider.System);
    }

    [TearDown]
    public async Task DropStoreAsync()
    {
        if (_db is not null)
        {
            await _db.DisposeAsync();
        }
        if (_database is not null)
        {
            await _database.DisposeAsync();
        }
    }

    /// <summary>Terms accepted, a verified e-mail, a personal password set today: nothing to do.</summary>
    private static PersonAccount UpToDate() => new()
    {
        Nir = "2850375112048", BirthName = "DUPONT", GivenNames = "Jeanne", AcceptedTermsVersion = 1,
        Email = "jeanne.dupont@example.fr", EmailVerified = true, PasswordHash = "$argon2id$stand-in", CredentialKind = CredentialKind.Personal,
        PasswordSetAt = DateTimeOffset.UtcNow,
    };

    /// <summary>Imported, never signed in: the file's legacy code is all they have.</summary>
    private static PersonAccount Migrating() => new() { Nir = "1780413055123", BirthName = "MARTIN", GivenNames = "Paul", CredentialKind = CredentialKind.None };

    private async Task<List<AuditEvent>> StoredAuditAsync()
    {
        await using var elsewhere = _database.NewContext();
        return await elsewhere.AuditEvents.ToListAsync();
    }

    [Test]
    public async Task A_legacy_code_first_login_goes_through_the_whole_migration_and_its_audit_line_waits_for_the_commit()
    {
        var person = Migrating();
        var result = await _start.EvaluateAsync(new RequiredActionsRequest(person, SignInMethod.Password, "rp", PasswordKind.LegacyFileCode));

        Assert.That(result.Pending, Is.EqualTo(new[] { RequiredAction.AcceptTerms, RequiredAction.ChooseNewPassword, RequiredAction.VerifyContact }));
        Assert.That(result.SignedInWith, Is.EqualTo(PasswordKind.LegacyFileCode));
        Assert.That(await StoredAuditAsync(), Is.Empty, "appended, not committed");

        await new StoreUnitOfWork(_db).CommitAsync();
        var line = (await StoredAuditAsync()).Single();
        Assert.That((line.Type, line.Outcome, line.ClientId, line.Details),
            Is.EqualTo((AuditEventTypes.LoginRequiredActions, "AcceptTerms,ChooseNewPassword,VerifyContact", "rp", "secret=LegacyFileCode")));
    }

    [Test]
    public async Task Nothing_pending_appends_nothing()
    {
        var result = await _start.EvaluateAsync(new RequiredActionsRequest(UpToDate(), SignInMethod.Password, "rp", PasswordKind.Personal));

        Assert.That(result.AnyPending, Is.False);
        Assert.That(_db.ChangeTracker.Entries<AuditEvent>(), Is.Empty);
    }

    [Test]
    public async Task A_kiosk_login_is_held_back_only_by_the_steps_no_one_may_skip()
    {
        // No verified contact: the web asks for one (skippable); the kiosk does not, and appends no held-back line.
        var noContact = UpToDate();
        noContact.EmailVerified = false;
        var kiosk = await _start.EvaluateAsync(new RequiredActionsRequest(noContact, SignInMethod.Kiosk, "borne", PasswordKind.Personal));
        Assert.That(kiosk.AnyPending, Is.False);
        Assert.That(_db.ChangeTracker.Entries<AuditEvent>(), Is.Empty);
        var web = await _start.EvaluateAsync(new RequiredActionsRequest(noContact, SignInMethod.Password, "caf-fr", PasswordKind.Personal));
        Assert.That(web.Pending, Is.EqualTo(new[] { RequiredAction.VerifyContact }));

        // The legacy code: terms and a new password hold the kiosk back too (first_login_required), the contact does not.
        var migrating = await _start.EvaluateAsync(new RequiredActionsRequest(Migrating(), SignInMethod.Kiosk, "borne", PasswordKind.LegacyFileCode));
        Assert.That(migrating.Pending, Is.EqualTo(new[] { RequiredAction.AcceptTerms, RequiredAction.ChooseNewPassword }));
    }

    [Test]
    public async Task FranceConnect_without_a_password_of_our_own_is_a_migration()
    {
        var result = await _start.EvaluateAsync(new RequiredActionsRequest(Migrating(), SignInMethod.FranceConnect, "rp"));

        Assert.That(result.SignedInWith, Is.EqualTo(PasswordKind.LegacyFileCode));
        Assert.That(result.Pending, Does.Contain(RequiredAction.ChooseNewPassword));
        Assert.That(_db.ChangeTracker.Entries<AuditEvent>().Single().Entity.Details, Is.EqualTo("secret=fc"));
    }

    [Test]
    public async Task FranceConnect_does_not_ask_for_an_expired_personal_password_it_did_not_vouch_for()
    {
        var person = UpToDate();
        person.PasswordSetAt = DateTimeOffset.UtcNow.AddYears(-3);
        Assert.That((await _start.EvaluateAsync(new RequiredActionsRequest(person, SignInMethod.Password, "rp", PasswordKind.Personal))).Pending,
            Is.EqualTo(new[] { RequiredAction.ChooseNewPassword }), "the password login asks for it");

        var throughFranceConnect = await _start.EvaluateAsync(new RequiredActionsRequest(person, SignInMethod.FranceConnect, "rp"));
        Assert.That(throughFranceConnect.AnyPending, Is.False);
    }

    [Test]
    public async Task FranceConnect_still_asks_for_a_password_an_agent_required()
    {
        var person = UpToDate();
        person.RequiredActions.Add(new PendingRequiredAction { PersonId = person.Id, Action = RequiredAction.ChooseNewPassword, Reason = "agent" });

        var result = await _start.EvaluateAsync(new RequiredActionsRequest(person, SignInMethod.FranceConnect, "rp"));
        Assert.That(result.Pending, Is.EqualTo(new[] { RequiredAction.ChooseNewPassword }));
    }

    [Test]
    public async Task Account_creation_is_evaluated_as_a_provisional_credential_without_a_login_audit_line()
    {
        var person = new PersonAccount { BirthName = "DIALLO", GivenNames = "Amina", Email = "amina@example.fr", EmailVerified = true, CredentialKind = CredentialKind.None };

        var result = await _start.EvaluateAsync(new RequiredActionsRequest(person, SignInMethod.AccountCreation, "rp"));

        Assert.That(result.SignedInWith, Is.EqualTo(PasswordKind.Provisional));
        Assert.That(result.Pending, Is.EqualTo(new[] { RequiredAction.AcceptTerms, RequiredAction.ChooseNewPassword }));
        Assert.That(_db.ChangeTracker.Entries<AuditEvent>(), Is.Empty, "the creation journey audits the account's creation itself");
    }
}
