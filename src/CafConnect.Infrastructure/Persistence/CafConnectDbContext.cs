using CafConnect.Domain.Accounts;
using CafConnect.Domain.Households;
using CafConnect.Infrastructure.Audit;
using CafConnect.Infrastructure.Flows;
using CafConnect.Infrastructure.Terms;
using CafConnect.Infrastructure.Keys;
using CafConnect.Infrastructure.Notifications;
using CafConnect.Infrastructure.Sessions;
using Microsoft.AspNetCore.DataProtection.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore;

namespace CafConnect.Infrastructure.Persistence;

/// <summary>
/// The one store of CafConnect: accounts, households, OpenIddict's applications/authorizations/tokens,
/// token keys, Data Protection keys, the audit trail and the notification outbox. Each database provider has its own subclass
/// (see <see cref="SqliteCafConnectDbContext"/>…) only so that each keeps its own migrations.
/// </summary>
public abstract class CafConnectDbContext(DbContextOptions options) : DbContext(options), IDataProtectionKeyContext
{
    public DbSet<PersonAccount> Persons => Set<PersonAccount>();
    public DbSet<Household> Households => Set<Household>();
    public DbSet<HouseholdMembership> Memberships => Set<HouseholdMembership>();
    public DbSet<TokenKeyRecord> TokenKeys => Set<TokenKeyRecord>();
    public DbSet<AuditEvent> AuditEvents => Set<AuditEvent>();
    public DbSet<DataProtectionKey> DataProtectionKeys => Set<DataProtectionKey>();
    public DbSet<SelfServiceFlow> Flows => Set<SelfServiceFlow>();
    public DbSet<TermsOfUseVersion> TermsOfUse => Set<TermsOfUseVersion>();
    public DbSet<TermsAcceptance> TermsAcceptances => Set<TermsAcceptance>();
    public DbSet<PendingRequiredAction> RequiredActions => Set<PendingRequiredAction>();
    public DbSet<OutboxMessage> OutboxMessages => Set<OutboxMessage>();
    public DbSet<Accounts.ExternalLogin> ExternalLogins => Set<Accounts.ExternalLogin>();
    public DbSet<HouseholdInvitation> HouseholdInvitations => Set<HouseholdInvitation>();
    public DbSet<Admin.ProcessedAdminRequest> ProcessedAdminRequests => Set<Admin.ProcessedAdminRequest>();
    public DbSet<ProviderSession> ProviderSessions => Set<ProviderSession>();
    public DbSet<ProviderSessionClient> ProviderSessionClients => Set<ProviderSessionClient>();

    protected override void OnModelCreating(ModelBuilder builder)
    {
        base.OnModelCreating(builder);
        builder.UseOpenIddict();

        builder.Entity<PersonAccount>(person =>
        {
            person.ToTable("Persons");
            person.HasKey(p => p.Id);
            person.Property(p => p.Subject).HasMaxLength(64).IsRequired();
            person.HasIndex(p => p.Subject).IsUnique();
            person.Property(p => p.Nir).HasMaxLength(13);
            person.HasIndex(p => p.Nir).IsUnique();
            person.Property(p => p.ProvisionalId).HasMaxLength(9);
            person.HasIndex(p => p.ProvisionalId).IsUnique();
            person.Property(p => p.BirthName).HasMaxLength(100);
            person.Property(p => p.UsageName).HasMaxLength(100);
            person.Property(p => p.BirthCountry).HasMaxLength(60);
            person.Property(p => p.BirthCity).HasMaxLength(100);
            person.Property(p => p.PostalCode).HasMaxLength(5);
            person.Property(p => p.Parent1BirthName).HasMaxLength(100);
            person.Property(p => p.Parent1GivenNames).HasMaxLength(200);
            person.Property(p => p.Parent2BirthName).HasMaxLength(100);
            person.Property(p => p.Parent2GivenNames).HasMaxLength(200);
            person.Property(p => p.GivenNames).HasMaxLength(200);
            person.Property(p => p.Email).HasMaxLength(254);
            person.Property(p => p.MobilePhone).HasMaxLength(20);
            person.Property(p => p.PasswordHash).HasMaxLength(256);
            person.Property(p => p.PendingProvisionalPasswordHash).HasMaxLength(256);
            person.Property(p => p.PhoneCodeHash).HasMaxLength(256);
            person.Property(p => p.ConcurrencyStamp).IsConcurrencyToken();
            // FranceConnect's first sign-in looks for the few persons born on the pivot identity's birth date.
            person.HasIndex(p => p.BirthDate);
            person.Ignore(p => p.FamilyName);
            person.Ignore(p => p.IsClosed);
        });

        builder.Entity<Accounts.ExternalLogin>(link =>
        {
            link.ToTable("ExternalLogins");
            link.HasKey(l => l.Id);
            link.Property(l => l.Provider).HasMaxLength(32).IsRequired();
            link.Property(l => l.Subject).HasMaxLength(255).IsRequired();
            // One person per external identity, and one external identity per person and provider.
            link.HasIndex(l => new { l.Provider, l.Subject }).IsUnique();
            link.HasIndex(l => new { l.Provider, l.PersonId }).IsUnique();
            link.HasOne<PersonAccount>().WithMany().HasForeignKey(l => l.PersonId).OnDelete(DeleteBehavior.Cascade);
        });

        builder.Entity<PendingRequiredAction>(action =>
        {
            action.ToTable("PendingRequiredActions");
            action.HasKey(a => a.Id);
            action.Property(a => a.Reason).HasMaxLength(200);
            action.HasOne<PersonAccount>().WithMany(p => p.RequiredActions).HasForeignKey(a => a.PersonId).OnDelete(DeleteBehavior.Cascade);
            action.HasIndex(a => new { a.PersonId, a.Action }).IsUnique();
        });

        builder.Entity<SelfServiceFlow>(flow =>
        {
            flow.ToTable("Flows");
            flow.HasKey(f => f.Id);
            flow.Property(f => f.Id).HasMaxLength(64);
            flow.Property(f => f.Type).HasMaxLength(32).IsRequired();
            flow.Property(f => f.State).HasMaxLength(32).IsRequired();
            flow.Property(f => f.ClientId).HasMaxLength(100);
            flow.Property(f => f.ReturnUrl).HasMaxLength(4096).IsRequired();
            flow.Property(f => f.BrowserBinding).HasMaxLength(64).IsRequired();
            flow.Property(f => f.ConcurrencyStamp).IsConcurrencyToken();
            flow.HasIndex(f => f.ExpiresAt);
            flow.HasIndex(f => f.PersonId);
        });

        builder.Entity<TermsOfUseVersion>(terms =>
        {
            terms.ToTable("TermsOfUse");
            terms.HasKey(t => t.Version);
            terms.Property(t => t.Version).ValueGeneratedNever();
            terms.Property(t => t.Title).HasMaxLength(200).IsRequired();
            terms.Property(t => t.Text).IsRequired();
        });

        builder.Entity<TermsAcceptance>(acceptance =>
        {
            acceptance.ToTable("TermsAcceptances");
            acceptance.HasKey(a => a.Id);
            acceptance.Property(a => a.Channel).HasMaxLength(32);
            acceptance.HasIndex(a => new { a.PersonId, a.Version });
        });

        builder.Entity<Household>(household =>
        {
            household.ToTable("Households");
            household.HasKey(h => h.Id);
            household.Property(h => h.FileNumber).HasMaxLength(7).IsRequired();
            household.HasIndex(h => h.FileNumber).IsUnique();
            household.Property(h => h.LegacySecretHash).HasMaxLength(256);
            household.Property(h => h.PendingLegacySecretHash).HasMaxLength(256);
        });

        builder.Entity<HouseholdMembership>(membership =>
        {
            membership.ToTable("HouseholdMemberships");
            membership.HasKey(m => m.Id);
            membership.HasIndex(m => new { m.HouseholdId, m.PersonId }).IsUnique();
            membership.HasOne(m => m.Household).WithMany(h => h.Members).HasForeignKey(m => m.HouseholdId).OnDelete(DeleteBehavior.Cascade);
            membership.HasOne(m => m.Person).WithMany(p => p.Memberships).HasForeignKey(m => m.PersonId).OnDelete(DeleteBehavior.Cascade);
        });

        builder.Entity<HouseholdInvitation>(invitation =>
        {
            invitation.ToTable("HouseholdInvitations");
            invitation.HasKey(i => i.Id);
            invitation.Property(i => i.BirthName).HasMaxLength(100).IsRequired();
            invitation.Property(i => i.GivenNames).HasMaxLength(200).IsRequired();
            invitation.Property(i => i.Contact).HasMaxLength(254).IsRequired();
            // Account creation looks invitations up by the invitee's birth date.
            invitation.HasIndex(i => i.BirthDate);
            invitation.HasIndex(i => i.HouseholdId);
            invitation.HasOne(i => i.Household).WithMany().HasForeignKey(i => i.HouseholdId).OnDelete(DeleteBehavior.Cascade);
        });

        builder.Entity<TokenKeyRecord>(key =>
        {
            key.ToTable("TokenKeys");
            key.HasKey(k => k.Id);
            key.Property(k => k.KeyId).HasMaxLength(64).IsRequired();
            key.HasIndex(k => k.KeyId).IsUnique();
            key.Property(k => k.Use).HasMaxLength(8).IsRequired();
            key.Property(k => k.Algorithm).HasMaxLength(16).IsRequired();
            key.Property(k => k.ProtectedMaterial).IsRequired();
        });

        builder.Entity<AuditEvent>(audit =>
        {
            audit.ToTable("AuditEvents");
            audit.HasKey(a => a.Id);
            audit.Property(a => a.Type).HasMaxLength(64).IsRequired();
            audit.Property(a => a.Outcome).HasMaxLength(64);
            audit.Property(a => a.ClientId).HasMaxLength(100);
            audit.Property(a => a.Channel).HasMaxLength(32);
            audit.Property(a => a.IpAddress).HasMaxLength(64);
            audit.Property(a => a.UserAgent).HasMaxLength(512);
            audit.Property(a => a.SessionId).HasMaxLength(64);
            audit.Property(a => a.CorrelationId).HasMaxLength(64);
            audit.Property(a => a.Details).HasMaxLength(2000);
            audit.HasIndex(a => new { a.PersonId, a.OccurredAt });
            audit.HasIndex(a => a.OccurredAt);
        });

        builder.Entity<Admin.ProcessedAdminRequest>(request =>
        {
            request.ToTable("ProcessedAdminRequests");
            request.HasKey(r => r.Key);
            request.Property(r => r.Key).HasMaxLength(160);
            request.Property(r => r.PayloadHash).HasMaxLength(64).IsRequired();
            request.Property(r => r.Response).HasMaxLength(4000).IsRequired();
            request.HasIndex(r => r.ProcessedAt);
        });

        builder.Entity<ProviderSession>(session =>
        {
            session.ToTable("ProviderSessions");
            session.HasKey(s => s.Id);
            session.Property(s => s.Id).HasMaxLength(64);
            session.Property(s => s.EndReason).HasMaxLength(32);
            // Incident revocation selects sessions by creation time.
            session.HasIndex(s => s.CreatedAt);
            session.HasIndex(s => s.PersonId);
        });

        builder.Entity<ProviderSessionClient>(link =>
        {
            link.ToTable("ProviderSessionClients");
            link.HasKey(l => new { l.SessionId, l.ClientId });
            link.Property(l => l.SessionId).HasMaxLength(64);
            link.Property(l => l.ClientId).HasMaxLength(100);
            link.Property(l => l.LastLogoutError).HasMaxLength(500);
            link.HasOne<ProviderSession>().WithMany().HasForeignKey(l => l.SessionId).OnDelete(DeleteBehavior.Cascade);
            link.HasIndex(l => l.LastAuthorizedAt);
        });

        builder.Entity<OutboxMessage>(message =>
        {
            message.ToTable("OutboxMessages");
            message.HasKey(m => m.Id);
            message.Property(m => m.Kind).HasConversion<string>().HasMaxLength(32);
            message.Property(m => m.Channel).HasConversion<string>().HasMaxLength(16);
            message.Property(m => m.Recipient).HasMaxLength(512).IsRequired();
            message.Property(m => m.Subject).HasMaxLength(200);
            message.Property(m => m.IdempotencyKey).HasMaxLength(200).IsRequired();
            message.HasIndex(m => m.IdempotencyKey).IsUnique();
            message.Property(m => m.LockedBy).HasMaxLength(100);
            message.Property(m => m.LastError).HasMaxLength(500);
            // The dispatcher's query: not sent, not given up, due.
            message.HasIndex(m => new { m.SentAt, m.FailedAt, m.NextAttemptAt });
            message.HasIndex(m => m.CreatedAt);
        });
    }
}
