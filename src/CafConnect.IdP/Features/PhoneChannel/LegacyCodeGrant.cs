using System.Security.Claims;
using CafConnect.Application.Persistence;
using CafConnect.Domain.Accounts;
using CafConnect.Domain.Households;
using CafConnect.Domain.Identity;
using CafConnect.Domain.Passwords;
using CafConnect.IdP.Protocol;
using CafConnect.IdP.Sessions;
using CafConnect.Infrastructure.Accounts;
using CafConnect.Infrastructure.Audit;
using CafConnect.Infrastructure.Clients;
using CafConnect.Infrastructure.Security;
using CafConnect.Infrastructure.Throttling;
using OpenIddict.Abstractions;
using OpenIddict.Server.AspNetCore;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace CafConnect.IdP.Features.PhoneChannel;

/// <summary>Names of the phone channel's grant: its parameters and the facts its tokens carry (docs/claims.md).</summary>
public static class LegacyCodeGrant
{
    public const string GrantType = CafGrantTypes.LegacyCode;

    /// <summary>The numéro allocataire the caller typed (7 digits, leading zeros significant).</summary>
    public const string FileNumberParameter = "file_number";

    /// <summary>The file's shared 8-digit code the caller typed.</summary>
    public const string CodeParameter = "legacy_code";

    /// <summary>The one scope a phone token carries: no openid (no ID token), no offline_access (no refresh token).</summary>
    public const string Scope = CafScopes.Caf;

    /// <summary>The <c>amr</c> value of a phone authentication: the file's shared code, not a person's password.</summary>
    public const string AuthenticationMethod = "caf_code_dossier";

    /// <summary>The audit channel and the <c>caf_channel</c> claim of the phone server.</summary>
    public const string Channel = "telephone";

    /// <summary>Short: a call, not a session. No refresh token, so a caller must type the code again on the next call.</summary>
    public static readonly TimeSpan AccessTokenLifetime = TimeSpan.FromMinutes(5);
}

/// <summary>
/// Section <c>PhoneChannel</c>: the failure budget of a voice server (an authenticated confidential client holding the
/// phone grant). Its one IP carries every caller's mistakes, so the per-IP budget of browsers
/// (<c>Throttling:IpMaxFailures</c>, 30 in 10 minutes) would let a few dozen wrong codes from all callers block the
/// whole phone channel. Instead it gets a budget of its own, sized for a call centre; the per-file lock still applies
/// (docs/security.md, docs/decisions.md #13).
/// </summary>
public sealed class PhoneChannelOptions
{
    /// <summary>Failures (wrong codes, unknown files) one voice-server client may present within <see cref="ClientWindow"/>.</summary>
    public int ClientBudget { get; set; } = 300;

    public TimeSpan ClientWindow { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>How long the client's attempts are refused once its budget is spent (every phone caller waits with it).</summary>
    public TimeSpan ClientBlockDuration { get; set; } = TimeSpan.FromMinutes(5);

    public SourceBudget Budget => new(ClientBudget, ClientWindow, ClientBlockDuration);

    /// <summary>Binds the section and refuses nonsense at start-up rather than at the first call.</summary>
    public static PhoneChannelOptions FromConfiguration(IConfiguration configuration)
    {
        var options = configuration.GetSection("PhoneChannel").Get<PhoneChannelOptions>() ?? new PhoneChannelOptions();
        if (options.ClientBudget < 1 || options.ClientWindow <= TimeSpan.Zero || options.ClientBlockDuration <= TimeSpan.Zero)
        {
            throw new InvalidOperationException(
                "PhoneChannel:ClientBudget must be at least 1 and PhoneChannel:ClientWindow and PhoneChannel:ClientBlockDuration must be positive durations.");
        }
        return options;
    }
}

/// <summary>
/// The phone server's grant (<see cref="LegacyCodeGrant.GrantType"/>): file number + the file's 8-digit legacy code,
/// exchanged for a short access token restricted to that one file. OpenIddict has already authenticated the client
/// (confidential) and checked it holds the grant-type permission (<c>unauthorized_client</c> otherwise).
/// <para>
/// The code is shared by the household: it proves "someone of this file", not a person. The token's subject is the file
/// holder (the allocataire, who acts for the household), its <c>caf_file</c> claim restricts every release (userinfo) to
/// that file, and it carries no identity claims (docs/decisions.md #13).
/// </para>
/// </summary>
public sealed class LegacyCodeGrantHandler(
    PersonDirectory persons, ISecretHasher hasher, LegacySecretVerifiers secrets, ILoginThrottle throttle, AuditTrail audit, IUnitOfWork unitOfWork, TimeProvider clock,
    ILogger<LegacyCodeGrantHandler> logger, IOpenIddictApplicationManager applications, PhoneChannelOptions options)
{
    public async Task<IResult> ExchangeAsync(HttpContext http, OpenIddictRequest request)
    {
        var cancellationToken = http.RequestAborted;
        http.Items[HttpAuditContextAccessor.ChannelItem] = LegacyCodeGrant.Channel;

        // Malformed input says nothing about files: refused before any lookup, without spending the budget.
        var typedFile = (string?)request[LegacyCodeGrant.FileNumberParameter];
        var code = (string?)request[LegacyCodeGrant.CodeParameter];
        // Strict on the protocol: the voice server sends the digits, no spaces or dots to tidy up.
        if (typedFile is not { Length: FileNumber.Length } || !FileNumber.TryParse(typedFile, out var fileNumber, out _))
        {
            return Error(OpenIddictConstants.Errors.InvalidRequest, "The file_number parameter must be exactly 7 digits.");
        }
        if (!LegacyCodePolicy.IsWellFormed(code))
        {
            return Error(OpenIddictConstants.Errors.InvalidRequest, "The legacy_code parameter must be exactly 8 digits.");
        }

        var file = await persons.FindFileAsync(fileNumber.Value, cancellationToken);
        var gate = await IsAuthenticatedVoiceServerAsync(request.ClientId, cancellationToken)
            ? await throttle.BeginForFileFromClientAsync(file?.Id, request.ClientId!, options.Budget, cancellationToken)
            : await throttle.BeginForFileAsync(file?.Id, http.Connection.RemoteIpAddress, cancellationToken);
        var holder = file is null ? null : Holder(file);
        if (!gate.Allowed)
        {
            // Refused before checking: the same answer and the same cost as a wrong code.
            hasher.VerifyAgainstDummy(code);
            audit.Append(new AuditEntry(AuditEventTypes.LoginFailed, gate.RefusalReason, holder?.Id, request.ClientId,
                $"scope={Scope(gate.Decision.Refusal)};{FileDetail(file)}"));
            await unitOfWork.CommitAsync(cancellationToken);
            PhoneLog.Failed(logger, file?.Id);
            return WrongCode();
        }

        // At least one Argon2id computation on every path (a dummy one when there is no code to check, one more for a
        // code kept in a legacy format): no enumeration by timing. Checked like the web login's code (LegacySecretVerifiers).
        var reason = file?.LegacySecretHash is not { } hash
            ? Dummy(file is null ? "unknown_file" : "no_legacy_code")
            : !VerifyAndUpgrade(file, hash) ? "wrong_code"
            : holder is null ? "no_active_holder"
            : null;
        if (reason is not null)
        {
            await throttle.FailedAsync(gate, holder, request.ClientId, cancellationToken);
            audit.Append(new AuditEntry(AuditEventTypes.LoginFailed, reason, holder?.Id, request.ClientId, FileDetail(file)));
            await unitOfWork.CommitAsync(cancellationToken);
            PhoneLog.Failed(logger, file?.Id);
            return WrongCode();
        }
        await throttle.SucceededAsync(gate, cancellationToken);

        var principal = CreatePrincipal(holder!, file!, request.ClientId!, clock.GetUtcNow());
        audit.Append(new AuditEntry(AuditEventTypes.LoginSucceeded, LegacyCodeGrant.AuthenticationMethod, holder!.Id, request.ClientId, FileDetail(file)));
        audit.Append(new AuditEntry(AuditEventTypes.TokenIssued, LegacyCodeGrant.GrantType, holder.Id, request.ClientId, FileDetail(file)));
        await unitOfWork.CommitAsync(cancellationToken);
        return Results.SignIn(principal, properties: null, OpenIddictServerAspNetCoreDefaults.AuthenticationScheme);

        string Dummy(string why)
        {
            hasher.VerifyAgainstDummy(code);
            return why;
        }

        bool VerifyAndUpgrade(Household knownFile, string storedHash)
        {
            if (!secrets.VerifyAndUpgrade(code, storedHash, out var upgradedHash))
            {
                return false;
            }
            if (upgradedHash is not null)
            {
                // A legacy format kept at import, or weaker Argon2id parameters: Argon2id from now on, as at the web login.
                // Committed with the exchange's audit lines.
                knownFile.LegacySecretHash = upgradedHash;
            }
            return true;
        }
    }

    /// <summary>
    /// Whether the caller is a confidential client holding the phone grant. OpenIddict has already authenticated the
    /// client and checked the permission before this handler runs; checked again here because it decides which budget
    /// applies: only such a client (the voice server) is exempt from the per-IP budget. Anything else (a registration
    /// edited by hand into a public client) falls back to the per-IP budget of browsers.
    /// </summary>
    private async Task<bool> IsAuthenticatedVoiceServerAsync(string? clientId, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(clientId) || await applications.FindByClientIdAsync(clientId, cancellationToken) is not { } application)
        {
            return false;
        }
        return await applications.HasClientTypeAsync(application, ClientTypes.Confidential, cancellationToken)
            && await applications.HasPermissionAsync(application, Permissions.Prefixes.GrantType + LegacyCodeGrant.GrantType, cancellationToken);
    }

    private static string Scope(ThrottleRefusal? refusal) => refusal switch
    {
        ThrottleRefusal.IpBlocked => "ip",
        ThrottleRefusal.ClientBlocked => "client",
        _ => "file",
    };

    /// <summary>The file holder with an open account: the one who acts for the household (code de la sécurité sociale).</summary>
    private static PersonAccount? Holder(Household file) => file.Members
        .Where(m => m.Role == HouseholdRole.Allocataire && m.Person is { IsClosed: false })
        .OrderBy(m => m.JoinedAt)
        .Select(m => m.Person)
        .FirstOrDefault();

    /// <summary>
    /// Only the subject, the file restriction and the authentication facts, all in the access token (no ID token is
    /// issued: the scope has no openid). Userinfo recomputes <c>caf_files</c> from the store, limited to <c>caf_file</c>.
    /// </summary>
    private static ClaimsPrincipal CreatePrincipal(PersonAccount holder, Household file, string clientId, DateTimeOffset now)
    {
        var identity = new ClaimsIdentity(authenticationType: "CafConnect.Telephone", nameType: Claims.Name, roleType: Claims.Role);
        identity.AddClaim(new Claim(Claims.Subject, holder.Subject));
        identity.AddClaim(new Claim(CafClaimTypes.FileRestriction, file.FileNumber));
        identity.AddClaim(new Claim(CafClaimTypes.Channel, LegacyCodeGrant.Channel));
        identity.AddClaim(new Claim(CafClaimTypes.AuthenticationMethods, LegacyCodeGrant.AuthenticationMethod));
        identity.AddClaim(new Claim(Claims.AuthenticationTime, now.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture), ClaimValueTypes.Integer64));

        var principal = new ClaimsPrincipal(identity);
        principal.SetScopes(LegacyCodeGrant.Scope);
        principal.SetAccessTokenLifetime(LegacyCodeGrant.AccessTokenLifetime);
        // The voice server is the token's audience: introspecting it, it reads the file, channel and method (OpenIddict
        // shows a token's claims to its audiences only).
        principal.SetAudiences(clientId);
        identity.SetDestinations(_ => [Destinations.AccessToken]);
        return principal;
    }

    private static string FileDetail(Household? file) => file is null ? "file=unknown" : $"household={file.Id:N}";

    private static IResult WrongCode() => Error(OpenIddictConstants.Errors.InvalidGrant, "The file number or the code is incorrect.");

    private static IResult Error(string error, string description) => Results.Forbid(new Microsoft.AspNetCore.Authentication.AuthenticationProperties(new Dictionary<string, string?>
    {
        [OpenIddictServerAspNetCoreConstants.Properties.Error] = error,
        [OpenIddictServerAspNetCoreConstants.Properties.ErrorDescription] = description,
    }), [OpenIddictServerAspNetCoreDefaults.AuthenticationScheme]);
}

internal static partial class PhoneLog
{
    [LoggerMessage(EventId = 2301, EventName = "PhoneCodeFailed", Level = LogLevel.Information, Message = "Phone channel code refused for household {HouseholdId}")]
    public static partial void Failed(ILogger logger, Guid? householdId);
}
