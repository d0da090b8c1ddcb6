using CafConnect.Domain.Accounts;
using CafConnect.Infrastructure.Audit;
using CafConnect.Infrastructure.Persistence;
using CafConnect.Infrastructure.Sessions;
using Microsoft.EntityFrameworkCore;
using OpenIddict.Abstractions;
using OpenIddict.EntityFrameworkCore.Models;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace CafConnect.Infrastructure.Incidents;

/// <summary>The window (from inclusive, to exclusive) and, optionally, the one client an incident response covers.</summary>
public sealed record IncidentScope(DateTimeOffset From, DateTimeOffset To, string? ClientId);

/// <summary>A person the incident touched, for the notification list: internal id and verified contacts only.</summary>
public sealed record AffectedPerson(Guid PersonId, string? Mobile, string? Email, IReadOnlyList<string> Reasons);

/// <summary>What a run found (dry run) or did. Counts are of things changed by this run: a re-run counts 0.</summary>
public sealed record IncidentReport(
    bool DryRun,
    int SessionsRevoked,
    int AuthorizationsRevoked,
    int TokensRevoked,
    int FlowsVoided,
    int PasswordsFlagged,
    int InvitationsVoided,
    IReadOnlyList<AffectedPerson> AffectedPersons,
    IReadOnlyList<LogoutTarget> LogoutTargets);

/// <summary>Progress of a run, for the CLI's progress bar.</summary>
public sealed record IncidentProgress(string Step, int Done, int Total);

/// <summary>
/// <c>cafconnect incident revoke</c>: in one transaction, ends every provider session opened in the window, revokes
/// every OpenIddict authorization and token created in it (and the tokens of those authorizations), voids every
/// self-service flow in progress, asks a new password at the next login of everyone whose password was set in the
/// window, and ends the « Mon foyer » invitations still unanswered that were sent in the window or from a session it
/// ends (docs/decisions.md #60). Then (after the commit, see <see cref="BackchannelLogoutSender"/>) the relying parties are told.
/// Idempotent: only what is still live is changed, so a re-run changes and counts nothing.
/// </summary>
public sealed class IncidentRevocation(CafConnectDbContext db, IOpenIddictApplicationManager applications, TimeProvider clock)
{
    public const string IncidentReason = "incident";
    private const int Chunk = 500;

    /// <summary>
    /// Finds, and unless <paramref name="dryRun"/> changes, everything in scope. <paramref name="audit"/> receives
    /// one per-person audit row per affected person (written in the caller's transaction).
    /// </summary>
    public async Task<IncidentReport> RunAsync(IncidentScope scope, bool dryRun, Func<AuditEntry, Task> audit, IProgress<IncidentProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        var now = clock.GetUtcNow();
        var from = scope.From;
        var to = scope.To;
        var fromUtc = from.UtcDateTime;
        var toUtc = to.UtcDateTime;
        string? applicationId = null;
        if (scope.ClientId is not null)
        {
            var application = await applications.FindByClientIdAsync(scope.ClientId, cancellationToken)
                ?? throw new InvalidOperationException($"no client '{scope.ClientId}'");
            applicationId = await applications.GetIdAsync(application, cancellationToken);
        }
        var reasons = new Dictionary<Guid, SortedSet<string>>();
        void Affect(Guid person, string reason)
        {
            if (!reasons.TryGetValue(person, out var set))
            {
                reasons[person] = set = new SortedSet<string>(StringComparer.Ordinal);
            }
            set.Add(reason);
        }

        // 1. Authorizations and tokens created in the window (for one client when asked).
        progress?.Report(new IncidentProgress("authorizations", 0, 1));
        var authorizationQuery = db.Set<OpenIddictEntityFrameworkCoreAuthorization>()
            .Where(a => a.CreationDate >= fromUtc && a.CreationDate < toUtc);
        if (applicationId is not null)
        {
            authorizationQuery = authorizationQuery.Where(a => a.Application!.Id == applicationId);
        }
        var authorizations = await authorizationQuery.Select(a => new { a.Id, a.Subject, a.Status }).ToListAsync(cancellationToken);
        var windowAuthorizationIds = authorizations.Select(a => a.Id!).ToList();
        var liveAuthorizationIds = authorizations.Where(a => a.Status != Statuses.Revoked).Select(a => a.Id!).ToList();

        var tokenQuery = db.Set<OpenIddictEntityFrameworkCoreToken>().Where(t => t.CreationDate >= fromUtc && t.CreationDate < toUtc);
        if (applicationId is not null)
        {
            tokenQuery = tokenQuery.Where(t => t.Application!.Id == applicationId);
        }
        var tokens = await tokenQuery.Select(t => new { t.Id, t.Subject, t.Status }).ToListAsync(cancellationToken);
        // Tokens issued after the window under an authorization granted in it go too (a refresh chain started in it).
        foreach (var ids in windowAuthorizationIds.Chunk(Chunk))
        {
            tokens.AddRange(await db.Set<OpenIddictEntityFrameworkCoreToken>()
                .Where(t => ids.Contains(t.Authorization!.Id!) && !(t.CreationDate >= fromUtc && t.CreationDate < toUtc))
                .Select(t => new { t.Id, t.Subject, t.Status }).ToListAsync(cancellationToken));
        }
        var liveTokenIds = tokens.Where(t => t.Status != Statuses.Revoked).Select(t => t.Id!).Distinct().ToList();

        var subjects = authorizations.Select(a => a.Subject).Concat(tokens.Select(t => t.Subject)).OfType<string>().Distinct().ToList();
        var personBySubject = new Dictionary<string, Guid>(StringComparer.Ordinal);
        foreach (var chunk in subjects.Chunk(Chunk))
        {
            foreach (var p in await db.Persons.Where(p => chunk.Contains(p.Subject)).Select(p => new { p.Subject, p.Id }).ToListAsync(cancellationToken))
            {
                personBySubject[p.Subject] = p.Id;
            }
        }
        foreach (var subject in authorizations.Select(a => a.Subject).OfType<string>())
        {
            if (personBySubject.TryGetValue(subject, out var id)) Affect(id, "authorization");
        }
        foreach (var subject in tokens.Select(t => t.Subject).OfType<string>())
        {
            if (personBySubject.TryGetValue(subject, out var id)) Affect(id, "token");
        }

        // 2. Provider sessions opened in the window (with a client: those in which that client was authorized).
        progress?.Report(new IncidentProgress("sessions", 0, 1));
        var sessionQuery = db.ProviderSessions.Where(s => s.CreatedAt >= from && s.CreatedAt < to);
        if (scope.ClientId is not null)
        {
            var clientId = scope.ClientId;
            sessionQuery = sessionQuery.Where(s => db.ProviderSessionClients.Any(l => l.SessionId == s.Id && l.ClientId == clientId));
        }
        var sessions = await sessionQuery.Select(s => new { s.Id, s.PersonId, s.CreatedAt, s.EndedAt }).ToListAsync(cancellationToken);
        var liveSessionIds = sessions.Where(s => s.EndedAt == null).Select(s => s.Id).ToList();
        foreach (var s in sessions)
        {
            Affect(s.PersonId, "session");
        }

        // 3. Relying parties to tell: links of the sessions in the window, and links whose authorizations overlap it,
        // not yet told (a re-run retries only the failed deliveries).
        var windowSessionIds = sessions.Select(s => s.Id).ToList();
        var linkQuery = db.ProviderSessionClients.Where(l => l.LogoutDeliveredAt == null
            && (db.ProviderSessions.Any(s => s.Id == l.SessionId && s.CreatedAt >= from && s.CreatedAt < to)
                || (l.FirstAuthorizedAt < to && l.LastAuthorizedAt >= from)));
        if (scope.ClientId is not null)
        {
            var clientId = scope.ClientId;
            linkQuery = linkQuery.Where(l => l.ClientId == clientId);
        }
        var links = await linkQuery
            .Join(db.ProviderSessions, l => l.SessionId, s => s.Id, (l, s) => new { l.SessionId, l.ClientId, s.PersonId })
            .Join(db.Persons, x => x.PersonId, p => p.Id, (x, p) => new { x.SessionId, x.ClientId, p.Subject, PersonId = p.Id })
            .ToListAsync(cancellationToken);
        var logoutTargets = links.Select(l => new LogoutTarget(l.SessionId, l.ClientId, l.Subject, l.PersonId))
            .OrderBy(t => t.SessionId, StringComparer.Ordinal).ThenBy(t => t.ClientId, StringComparer.Ordinal).ToList();

        // 4. Self-service flows in progress (any start: an attacker may be mid-journey now).
        var flowQuery = db.Flows.Where(f => f.CompletedAt == null && f.VoidedAt == null && f.ExpiresAt > now);
        if (scope.ClientId is not null)
        {
            var clientId = scope.ClientId;
            flowQuery = flowQuery.Where(f => f.ClientId == clientId);
        }
        var flows = await flowQuery.Select(f => new { f.Id, f.PersonId }).ToListAsync(cancellationToken);
        foreach (var f in flows)
        {
            if (f.PersonId is { } id) Affect(id, "flow");
        }

        // 5. Passwords set in the window: a new one at the next login (with a client: of the persons it touched).
        var passwordQuery = db.Persons.Where(p => p.PasswordSetAt >= from && p.PasswordSetAt < to && p.PasswordHash != null && p.ClosedAt == null);
        var passwordCandidates = await passwordQuery
            .Select(p => new { p.Id, Flagged = db.RequiredActions.Any(a => a.PersonId == p.Id && a.Action == RequiredAction.ChooseNewPassword) })
            .ToListAsync(cancellationToken);
        if (scope.ClientId is not null)
        {
            passwordCandidates = passwordCandidates.Where(p => reasons.ContainsKey(p.Id)).ToList();
        }
        foreach (var p in passwordCandidates)
        {
            Affect(p.Id, "password");
        }
        var passwordsToFlag = passwordCandidates.Where(p => !p.Flagged).Select(p => p.Id).ToList();

        // 6. « Mon foyer » invitations still unanswered, sent in the window (with a client: by the persons it touched) or
        // later from a session opened in it: sending one asks no password, so whoever was in another's session could
        // place a civil status and a contact of their own on that file for 30 days (the 2021 failure mode; decision 60).
        // Dates compared in memory but the window's, as every invitation query does.
        var sentInWindow = await db.HouseholdInvitations.Where(i => i.AcceptedAt == null && i.CreatedAt >= from && i.CreatedAt < to)
            .Select(i => new { i.Id, i.InvitedByPersonId, i.CreatedAt, i.ExpiresAt }).ToListAsync(cancellationToken);
        if (scope.ClientId is not null)
        {
            sentInWindow = sentInWindow.Where(i => reasons.ContainsKey(i.InvitedByPersonId)).ToList();
        }
        var sessionsByPerson = sessions.ToLookup(s => s.PersonId);
        foreach (var persons in sessionsByPerson.Select(g => g.Key).Chunk(Chunk))
        {
            var sentLater = await db.HouseholdInvitations.Where(i => i.AcceptedAt == null && persons.Contains(i.InvitedByPersonId) && i.CreatedAt >= to)
                .Select(i => new { i.Id, i.InvitedByPersonId, i.CreatedAt, i.ExpiresAt }).ToListAsync(cancellationToken);
            sentInWindow.AddRange(sentLater.Where(i => sessionsByPerson[i.InvitedByPersonId]
                .Any(s => s.CreatedAt <= i.CreatedAt && (s.EndedAt is not { } ended || i.CreatedAt < ended))));
        }
        var invitationsToVoid = sentInWindow.Where(i => i.ExpiresAt > now).ToList();
        foreach (var i in invitationsToVoid)
        {
            Affect(i.InvitedByPersonId, "invitation");
        }

        // Contacts for the notification list: verified ones only (an unverified address may not be the person's).
        var affected = new List<AffectedPerson>();
        foreach (var chunk in reasons.Keys.Chunk(Chunk))
        {
            var contacts = await db.Persons.Where(p => chunk.Contains(p.Id))
                .Select(p => new { p.Id, p.MobilePhone, p.MobilePhoneVerified, p.Email, p.EmailVerified }).ToListAsync(cancellationToken);
            affected.AddRange(contacts.Select(c => new AffectedPerson(c.Id, c.MobilePhoneVerified ? c.MobilePhone : null, c.EmailVerified ? c.Email : null,
                reasons[c.Id].ToList())));
        }
        affected = [.. affected.OrderBy(a => a.PersonId)];

        var report = new IncidentReport(dryRun, liveSessionIds.Count, liveAuthorizationIds.Count, liveTokenIds.Count, flows.Count, passwordsToFlag.Count,
            invitationsToVoid.Count, affected, logoutTargets);
        if (dryRun)
        {
            return report;
        }

        var total = liveSessionIds.Count + liveAuthorizationIds.Count + liveTokenIds.Count + flows.Count + passwordsToFlag.Count + invitationsToVoid.Count;
        var done = 0;
        void Step(string step, int count)
        {
            done += count;
            progress?.Report(new IncidentProgress(step, done, total));
        }

        foreach (var ids in liveSessionIds.Chunk(Chunk))
        {
            await db.ProviderSessions.Where(s => ids.Contains(s.Id) && s.EndedAt == null)
                .ExecuteUpdateAsync(s => s.SetProperty(x => x.EndedAt, now).SetProperty(x => x.EndReason, SessionRegistry.EndedByIncident), cancellationToken);
            Step("sessions", ids.Length);
        }
        // Authorizations and tokens are revoked by their scope, not by the ids listed above: the UPDATE chooses the rows
        // when it runs (docs/decisions.md #38). A refresh under an authorization of the window that commits after the
        // listing inserts tokens the list does not hold; revoked by id, its access token would stay valid.
        var authorizationChanged = Guid.NewGuid().ToString();
        var authorizationsRevoked = await authorizationQuery.Where(a => a.Status != Statuses.Revoked)
            .ExecuteUpdateAsync(s => s.SetProperty(a => a.Status, Statuses.Revoked).SetProperty(a => a.ConcurrencyToken, authorizationChanged), cancellationToken);
        Step("authorizations", liveAuthorizationIds.Count);
        var tokenScope = db.Set<OpenIddictEntityFrameworkCoreToken>().Where(t =>
            (t.CreationDate >= fromUtc && t.CreationDate < toUtc && (applicationId == null || t.Application!.Id == applicationId))
            || authorizationQuery.Any(a => a.Id == t.Authorization!.Id));
        // As every revocation: the rows' concurrency tokens change too, so a redemption in flight cannot write over it.
        var tokensRevoked = await BatchedTokenStore.RevokeAsync(tokenScope, cancellationToken);
        Step("tokens", liveTokenIds.Count);
        foreach (var ids in flows.Select(f => f.Id).Chunk(Chunk))
        {
            await db.Flows.Where(f => ids.Contains(f.Id) && f.VoidedAt == null && f.CompletedAt == null)
                .ExecuteUpdateAsync(s => s.SetProperty(f => f.VoidedAt, now), cancellationToken);
            Step("flows", ids.Length);
        }
        foreach (var ids in passwordsToFlag.Chunk(Chunk))
        {
            foreach (var personId in ids)
            {
                db.RequiredActions.Add(new PendingRequiredAction
                {
                    PersonId = personId,
                    Action = RequiredAction.ChooseNewPassword,
                    Reason = $"incident {from:O}..{to:O}",
                    CreatedAt = now,
                });
            }
            await db.SaveChangesAsync(cancellationToken);
            Step("passwords", ids.Length);
        }
        // Voided as a password setting voids them: the invitation expires now, so no journey offers or joins it any more.
        foreach (var chunk in invitationsToVoid.Chunk(Chunk))
        {
            var ids = chunk.Select(i => i.Id).ToList();
            await db.HouseholdInvitations.Where(i => ids.Contains(i.Id) && i.AcceptedAt == null)
                .ExecuteUpdateAsync(s => s.SetProperty(i => i.ExpiresAt, now), cancellationToken);
            foreach (var invitation in chunk)
            {
                await audit(new AuditEntry(AuditEventTypes.HouseholdInvitationVoided, IncidentReason, invitation.InvitedByPersonId, scope.ClientId,
                    $"invitation={invitation.Id}; window={from:O}..{to:O}"));
            }
            Step("invitations", chunk.Length);
        }

        // What this run changed: the UPDATEs' own counts (a refresh committed since the listing adds its tokens).
        report = report with { AuthorizationsRevoked = authorizationsRevoked, TokensRevoked = tokensRevoked };
        foreach (var person in affected)
        {
            await audit(new AuditEntry(AuditEventTypes.IncidentPersonRevoked, string.Join(',', person.Reasons), person.PersonId, scope.ClientId,
                $"window={from:O}..{to:O}"));
        }
        return report;
    }
}
