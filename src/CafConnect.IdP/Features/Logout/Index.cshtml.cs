using CafConnect.Application.Persistence;
using CafConnect.IdP.Sessions;
using CafConnect.Infrastructure.Audit;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace CafConnect.IdP.Features.Logout;

/// <summary>Logout asked by the person (or by a relying party that gave no ID token hint): confirm, then sign out.</summary>
[AllowAnonymous]
public sealed class LogoutPage(AuditTrail audit, IUnitOfWork unitOfWork) : PageModel
{
    public bool SignedIn => User.Identity?.IsAuthenticated == true;

    public void OnGet()
    {
    }

    public async Task<IActionResult> OnPostAsync()
    {
        // A session opened through FranceConnect ends there too (its end-session endpoint, with the ID token as hint).
        var franceConnectIdToken = SignedIn ? User.FranceConnectIdToken() : null;
        if (SignedIn)
        {
            audit.Append(new AuditEntry(AuditEventTypes.Logout, "user_initiated", User.PersonId(),
                Details: franceConnectIdToken is null ? null : "franceconnect=true"));
            await unitOfWork.CommitAsync(HttpContext.RequestAborted);
        }
        var sessionId = User.FindFirst(CafConnect.IdP.Protocol.CafClaimTypes.SessionId)?.Value;
        await PersonSession.SignOutAsync(HttpContext, CafConnect.Infrastructure.Sessions.SessionRegistry.EndedByLogout);
        if (SignedIn && sessionId is not null)
        {
            LogoutNotification.Start(HttpContext, sessionId);
        }
        if (await FranceConnectSignOut.SignOutAsync(HttpContext, franceConnectIdToken))
        {
            return new EmptyResult();
        }
        return Redirect("/deconnexion/terminee");
    }
}
