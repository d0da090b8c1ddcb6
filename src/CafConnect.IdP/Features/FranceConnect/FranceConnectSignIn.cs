using CafConnect.IdP.Federation;
using CafConnect.Application.Navigation;
using CafConnect.Application.Persistence;
using CafConnect.Application.SignIn;
using CafConnect.Domain.Accounts;
using CafConnect.IdP.Features.FirstLogin;
using CafConnect.IdP.Sessions;
using CafConnect.Infrastructure.Accounts;
using CafConnect.Infrastructure.Audit;
using CafConnect.Infrastructure.Persistence;
using Microsoft.AspNetCore.Authentication;
using Microsoft.EntityFrameworkCore;

namespace CafConnect.IdP.Features.FranceConnect;

/// <summary>Where the browser goes after FranceConnect's answer was accepted.</summary>
public sealed record FranceConnectOutcome(string RedirectTo, bool SignedIn);

/// <summary>
/// What a certified FranceConnect identity opens: the person linked to it, or — the first time — the one active person
/// whose civil status it matches, who is then linked (audited "FranceConnect link"). The session then opens as after a
/// password login (with <c>amr</c> <c>fc</c>), through the first-login steps when some are pending. No match, several
/// matches, a person already linked to another FranceConnect identity or a closed account: the same page, which names
/// nobody.
/// </summary>
public sealed class FranceConnectSignIn(
    CafConnectDbContext db, PersonDirectory persons, ExternalLoginDirectory links, AuditTrail audit, RequiredActionsStart requiredActions,
    IUnitOfWork unitOfWork, CommitSignIn signIns, FirstLoginJourney firstLogin, TimeProvider clock, ILogger<FranceConnectSignIn> logger)
{
    /// <summary>More persons born on one day than this are never compared in memory (a hostile or broken pivot).</summary>
    private const int MaxCandidates = 5000;

    public async Task<FranceConnectOutcome> SignInAsync(HttpContext http, PivotIdentity pivot, string? idToken, string returnUrl, string? clientId, CancellationToken cancellationToken)
    {
        var person = await LinkedPersonAsync(pivot, clientId, cancellationToken);
        if (person is null)
        {
            await unitOfWork.CommitAsync(cancellationToken);
            return new FranceConnectOutcome(FranceConnectOptions.NoMatchPath + "?returnUrl=" + Uri.EscapeDataString(returnUrl), SignedIn: false);
        }

        person.LastLoginAt = clock.GetUtcNow();
        var required = await requiredActions.EvaluateAsync(new RequiredActionsRequest(person, SignInMethod.FranceConnect, clientId), cancellationToken);
        if (required.AnyPending)
        {
            // The link, the last login, the audit lines and the first-login flow: one commit.
            var flow = firstLogin.Start(http, person, required.Pending, required.SignedInWith, returnUrl, clientId, "fc", FranceConnectLogoutHint.Protect(http, idToken));
            return await CommitAsync(person, returnUrl, cancellationToken) ?? new FranceConnectOutcome(FirstLoginJourney.UrlOf(flow), SignedIn: false);
        }

        var session = await PersonSession.SignInAsync(http, person, "fc", clock, idToken);
        http.Items[HttpAuditContextAccessor.SessionIdItem] = session.SessionId;
        audit.Append(new AuditEntry(AuditEventTypes.LoginSucceeded, "fc", person.Id, clientId));
        if (await CommitAsync(person, returnUrl, cancellationToken) is { } refused)
        {
            // The session row was never stored, so the cookie would be refused anyway: remove it at once.
            await http.SignOutAsync(PersonSession.Scheme);
            return refused;
        }
        return new FranceConnectOutcome(returnUrl, SignedIn: true);
    }

    /// <summary>
    /// The sign-in's one commit, as every sign-in commits (<see cref="CommitSignIn"/>): another sign-in of the same person
    /// at the same moment is merged. Null when stored; else where to go: the account's state changed while this
    /// sign-in was checking it, nothing was stored, and the person starts again.
    /// </summary>
    private async Task<FranceConnectOutcome?> CommitAsync(PersonAccount person, string returnUrl, CancellationToken cancellationToken) =>
        (await signIns.ExecuteAsync(new CommitSignInRequest(person), cancellationToken)).Committed
            ? null
            : new FranceConnectOutcome(FranceConnectOptions.ErrorPath + "?motif=indisponible"
                + (ReturnUrls.IsAuthorizationRequest(returnUrl) ? "&returnUrl=" + Uri.EscapeDataString(returnUrl) : string.Empty), SignedIn: false);

    private async Task<PersonAccount?> LinkedPersonAsync(PivotIdentity pivot, string? clientId, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var link = await links.FindAsync(FranceConnectOptions.ProviderName, pivot.Subject, cancellationToken);
        if (link is not null)
        {
            var linked = await persons.FindByIdAsync(link.PersonId, cancellationToken);
            if (linked is null || linked.IsClosed)
            {
                audit.Append(new AuditEntry(AuditEventTypes.FranceConnectNotLinked, "closed_account", link.PersonId, clientId));
                return null;
            }
            link.LastUsedAt = now;
            return linked;
        }

        if (pivot.BirthDate is not { } birthDate)
        {
            audit.Append(new AuditEntry(AuditEventTypes.FranceConnectNotLinked, "no_match", null, clientId, "birthdate=missing"));
            return null;
        }

        // Few persons share a birth date (indexed); the names are compared once normalised (accents, case, hyphens).
        // Memberships too: a birth commune held as a name counts only for a person on a file (PivotIdentityMatching).
        var candidates = await db.Persons.AsNoTracking().Include(p => p.Memberships)
            .Where(p => p.BirthDate == birthDate && p.ClosedAt == null).Take(MaxCandidates + 1).ToListAsync(cancellationToken);
        if (candidates.Count > MaxCandidates)
        {
            candidates = [];
        }
        // The files each person without a NIR joined by answering an invitation: their own doing, never the agency's record.
        var withoutNir = candidates.Where(p => p.Nir is null).Select(p => p.Id).ToList();
        var joinedByInvitation = (withoutNir.Count == 0 ? [] : await db.HouseholdInvitations.AsNoTracking()
                .Where(i => i.AcceptedByPersonId != null && withoutNir.Contains(i.AcceptedByPersonId.Value))
                .Select(i => new JoinedByInvitation(i.AcceptedByPersonId!.Value, i.HouseholdId))
                .ToListAsync(cancellationToken))
            .ToLookup(j => j.PersonId, j => j.HouseholdId);
        List<PersonAccount> matches = candidates.Where(p => PivotIdentityMatching.Matches(p, pivot, joinedByInvitation[p.Id].ToList())).Take(2).ToList();
        if (matches.Count != 1)
        {
            // Never the candidates' ids: an unmatched identity names nobody, even in the audit trail.
            audit.Append(new AuditEntry(AuditEventTypes.FranceConnectNotLinked, matches.Count == 0 ? "no_match" : "ambiguous", null, clientId));
            return null;
        }

        var person = await persons.FindByIdAsync(matches[0].Id, cancellationToken);
        if (person is null)
        {
            return null;
        }
        if (await links.FindForPersonAsync(FranceConnectOptions.ProviderName, person.Id, cancellationToken) is not null)
        {
            // The person is already linked to another FranceConnect identity: someone else with the same civil status,
            // or a change at FranceConnect. Either way an agent must look; nothing opens.
            audit.Append(new AuditEntry(AuditEventTypes.FranceConnectNotLinked, "already_linked", person.Id, clientId));
            logger.LogWarning(new EventId(2101, "FranceConnectAlreadyLinked"), "A second FranceConnect identity matched person {PersonId}", person.Id);
            return null;
        }

        links.Add(FranceConnectOptions.ProviderName, pivot.Subject, person.Id, now);
        audit.Append(new AuditEntry(AuditEventTypes.FranceConnectLinked, "matched", person.Id, clientId));
        return person;
    }
}

/// <summary>A file a person is on because they answered an invitation to it.</summary>
internal sealed record JoinedByInvitation(Guid PersonId, Guid HouseholdId);
