using System.Security.Claims;
using System.Text.Json;
using CafConnect.Domain.Accounts;
using CafConnect.Domain.Households;
using CafConnect.Infrastructure.Clients;
using OpenIddict.Abstractions;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace CafConnect.IdP.Protocol;

/// <summary>Claim names of the CafConnect contract (docs/claims.md) beyond the OIDC standard ones.</summary>
public static class CafClaimTypes
{
    public const string Files = "caf_files";
    /// <summary>true for a person with no file yet (primo-demandeur); absent otherwise.</summary>
    public const string PrimoDemandeur = "caf_primo_demandeur";
    /// <summary>What the person may do outside any file: the primo-demandeur's set; absent otherwise.</summary>
    public const string Permissions = "caf_permissions";
    public const string Nir = "nir";
    public const string SessionId = "sid";
    public const string AuthenticationMethods = "amr";
    /// <summary>A token restricted to one file (the phone channel): userinfo releases that file only.</summary>
    public const string FileRestriction = "caf_file";
    /// <summary>The channel a token was issued for, when not the web (the phone server: <c>telephone</c>).</summary>
    public const string Channel = "caf_channel";
}

/// <summary>
/// The one function that decides which claims a person releases for a set of scopes. The ID token, the access
/// token and userinfo all come from it, always from the current state of the store (so a change — a delegation,
/// a separation — shows at the next refresh or userinfo call).
/// </summary>
public static class CafClaims
{
    /// <param name="onlyFile">
    /// For a token restricted to one file (the phone channel's <c>caf_file</c>): <c>caf_files</c> holds that file alone, or
    /// nothing once the person has left it, and the primo-demandeur facts are never released.
    /// </param>
    /// <param name="sharedCodePermissions">
    /// For a token from the file's shared phone code: what every adult of the file may do
    /// (<see cref="HouseholdPermissions.ForSharedFileCode"/>), released in place of the subject's own permissions on that
    /// file — the code proves the household, not the person (docs/claims.md, "Phone channel").
    /// </param>
    public static Dictionary<string, object> Release(PersonAccount person, IEnumerable<string> scopes, string? onlyFile = null, IReadOnlyList<string>? sharedCodePermissions = null)
    {
        var granted = scopes.ToHashSet(StringComparer.Ordinal);
        var claims = new Dictionary<string, object>(StringComparer.Ordinal) { [Claims.Subject] = person.Subject };

        if (granted.Contains(Scopes.Profile))
        {
            claims[Claims.GivenName] = person.GivenNames;
            claims[Claims.FamilyName] = person.FamilyName;
            claims[Claims.Name] = $"{person.GivenNames} {person.FamilyName}".Trim();
            if (person.BirthDate is { } birthDate)
            {
                claims[Claims.Birthdate] = birthDate.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
            }
            if (person.Civility != Civility.Unknown)
            {
                claims[Claims.Gender] = person.Civility == Civility.Madame ? "female" : "male";
            }
        }
        if (granted.Contains(Scopes.Email) && person.Email is not null)
        {
            claims[Claims.Email] = person.Email;
            claims[Claims.EmailVerified] = person.EmailVerified;
        }
        if (granted.Contains(Scopes.Phone) && person.MobilePhone is not null)
        {
            claims[Claims.PhoneNumber] = person.MobilePhone;
            claims[Claims.PhoneNumberVerified] = person.MobilePhoneVerified;
        }
        if (granted.Contains(CafScopes.Caf))
        {
            // A file still being processed (first-time applicant) gives no file rights: the person is a primo-demandeur.
            claims[CafClaimTypes.Files] = person.Memberships
                .Where(m => m.Household is { Pending: false } && (onlyFile is null || string.Equals(m.Household.FileNumber, onlyFile, StringComparison.Ordinal)))
                .OrderBy(m => m.Household!.FileNumber, StringComparer.Ordinal)
                .Select(m => new Dictionary<string, object>
                {
                    ["file_number"] = m.Household!.FileNumber,
                    ["role"] = m.Role.ToClaimValue(),
                    ["delegated"] = m.Delegated,
                    // The one table (Domain, HouseholdPermissions) decides; relying parties read, never recompute.
                    ["permissions"] = (sharedCodePermissions ?? HouseholdPermissions.For(m.Role, m.Delegated)).ToList(),
                })
                .ToList();
            if (onlyFile is null && HouseholdPermissions.IsPrimoDemandeur(person))
            {
                claims[CafClaimTypes.PrimoDemandeur] = true;
                claims[CafClaimTypes.Permissions] = HouseholdPermissions.ForPrimoDemandeur().ToList();
            }
        }
        if (granted.Contains(CafScopes.Nir) && person.Nir is not null)
        {
            claims[CafClaimTypes.Nir] = person.Nir;
        }
        return claims;
    }

    /// <summary>
    /// Builds the principal OpenIddict signs: the released claims plus the authentication facts of the session
    /// (<c>auth_time</c>, <c>amr</c>, <c>sid</c>). Identity claims go to the ID token; the access token carries only
    /// the subject and session (resource servers ask userinfo or introspection for more).
    /// </summary>
    public static ClaimsPrincipal CreatePrincipal(PersonAccount person, IReadOnlyCollection<string> scopes, SessionFacts session)
    {
        var identity = new ClaimsIdentity(
            authenticationType: "CafConnect",
            nameType: Claims.Name,
            roleType: Claims.Role);

        foreach (var (type, value) in Release(person, scopes))
        {
            switch (value)
            {
                case string text:
                    identity.AddClaim(new Claim(type, text));
                    break;
                case bool flag:
                    identity.AddClaim(new Claim(type, flag ? "true" : "false", ClaimValueTypes.Boolean));
                    break;
                case System.Collections.IEnumerable items:
                    // A multi-valued claim is one claim per element; OpenIddict writes them back as a JSON array.
                    foreach (var item in items)
                    {
                        identity.AddClaim(type, JsonSerializer.SerializeToElement(item));
                    }
                    break;
                default:
                    identity.AddClaim(type, JsonSerializer.SerializeToElement(value));
                    break;
            }
        }

        identity.AddClaim(new Claim(Claims.AuthenticationTime, session.AuthenticatedAt.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture), ClaimValueTypes.Integer64));
        identity.AddClaim(new Claim(CafClaimTypes.AuthenticationMethods, session.Method));
        identity.AddClaim(new Claim(CafClaimTypes.SessionId, session.SessionId));

        var principal = new ClaimsPrincipal(identity);
        principal.SetScopes(scopes);
        identity.SetDestinations(claim => claim.Type switch
        {
            Claims.Subject or CafClaimTypes.SessionId => [Destinations.AccessToken, Destinations.IdentityToken],
            Claims.AuthenticationTime or CafClaimTypes.AuthenticationMethods => [Destinations.IdentityToken],
            // caf_files (roles, delegation, permissions), the primo-demandeur facts and nir are served by userinfo, computed
            // live; they never ride in a token that could outlive a change (a withdrawn delegation must not survive in a
            // 5-minute ID token). The OIDC "claims" request parameter does not change this (OIDC Core 5.5: the OP may ignore it).
            CafClaimTypes.Files or CafClaimTypes.Nir or CafClaimTypes.PrimoDemandeur or CafClaimTypes.Permissions => [],
            _ => [Destinations.IdentityToken],
        });
        return principal;
    }
}

/// <summary>What the session knows about how and when the person authenticated.</summary>
public sealed record SessionFacts(DateTimeOffset AuthenticatedAt, string Method, string SessionId);
