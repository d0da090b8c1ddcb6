using CafConnect.IdP.Sessions;
using CafConnect.Infrastructure.Audit;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace CafConnect.IdP.Features.Logout;

/// <summary>Logout asked by the person (or by a relying party that gave no ID token hint): confirm, then sign out.</summary>
[AllowAnonymous]
public sealed class LogoutPage(AuditTrail audit) : PageModel
{
    public bool SignedIn => User.Identity?.IsAuthenticated == true;

    public void OnGet()
    {
    }

    public async Task<IActionResult> OnPostAsync()
    {
        if (SignedIn)
        {
            await audit.WriteAsync(new AuditEntry(AuditEventTypes.Logout, "user_initiated", User.PersonId()), HttpContext.RequestAborted);
        }
        var sessionId = User.FindFirst(CafConnect.IdP.Protocol.CafClaimTypes.SessionId)?.Value;
        await PersonSession.SignOutAsync(HttpContext, CafConnect.Infrastructure.Sessions.SessionRegistry.EndedByLogout);
        if (SignedIn && sessionId is not null)
        {
            LogoutNotification.Start(HttpContext, sessionId);
        }
        return Redirect("/deconnexion/terminee");
    }
}
