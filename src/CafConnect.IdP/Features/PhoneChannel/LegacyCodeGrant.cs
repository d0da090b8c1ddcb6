using System.Security.Claims;
using CafConnect.Application.Persistence;
using CafConnect.Application.PhoneChannel;
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

    /// <summary>The caller's NIR (13 or 15 characters), with <see cref="PersonalCodeParameter"/>: the personal way (issue 16, item 8).</summary>
    public const string NirParameter = "nir";

    /// <summary>The caller's own 8-digit phone code, chosen in « Mon compte ».</summary>
    public const string PersonalCodeParameter = "phone_code";

    /// <summary>The <c>amr</c> value of a phone authentication with the person's own code.</summary>
    public const string PersonalAuthenticationMethod = "caf_code_personnel";

    /// <summary>
    /// The shared file code is retired (<c>PhoneChannel:LegacyCodeUntil</c> passed): the caller must use their own code. A
    /// value of <see cref="GrantRefusals.CafConnectErrorParameter"/>, which the voice server tells apart.
    /// </summary>
    public const string LegacyCodeRetiredError = "legacy_code_retired";

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
        http.Items[HttpAuditContextAccessor.ChannelItem] = LegacyCodeGrant.Channel;
        var byFile = request[LegacyCodeGrant.FileNumberParameter] is not null || request[LegacyCodeGrant.CodeParameter] is not null;
        var byPerson = request[LegacyCodeGrant.NirParameter] is not null || request[LegacyCodeGrant.PersonalCodeParameter] is not null;
        if (byFile && byPerson)
        {
            return GrantRefusals.Refuse(OpenIddictConstants.Errors.InvalidRequest, "Send either file_number and legacy_code, or nir and phone_code.");
        }
        return byPerson ? await ExchangePersonalCodeAsync(http, request) : await ExchangeFileCodeAsync(http, request);
    }

    /// <summary>
    /// NIR + the person's own phone code (issue 16, item 8): a token for that person, with their own rights on each of
    /// their files — a partner without delegation gets only their own data. The same budget as the file's code, per person
    /// (<see cref="ILoginThrottle.BeginForPhoneCodeAsync"/>), and the same one <c>invalid_grant</c> for every failure.
    /// </summary>
    private async Task<IResult> ExchangePersonalCodeAsync(HttpContext http, OpenIddictRequest request)
    {
        var cancellationToken = http.RequestAborted;
        var typedNir = (string?)request[LegacyCodeGrant.NirParameter];
        var code = (string?)request[LegacyCodeGrant.PersonalCodeParameter];
        // Strict on the protocol: the voice server sends the characters, no spaces or dots to tidy up.
        if (typedNir is not { Length: 13 or 15 } || typedNir.Any(char.IsWhiteSpace) || !Nir.TryParse(typedNir, out var nir, out _))
        {
            return GrantRefusals.Refuse(OpenIddictConstants.Errors.InvalidRequest, "The nir parameter must be a valid NIR of 13 or 15 characters.");
        }
        if (!LegacyCodePolicy.IsWellFormed(code))
        {
            return GrantRefusals.Refuse(OpenIddictConstants.Errors.InvalidRequest, "The phone_code parameter must be exactly 8 digits.");
        }

        var person = await persons.FindByNirAsync(nir.Value, cancellationToken);
        var gate = await throttle.BeginForPhoneCodeAsync(person?.Id, await SourceAsync(http, request), cancellationToken);
        var target = person is null ? "person=unknown" : "code=personal";
        if (!gate.Allowed)
        {
            hasher.VerifyAgainstDummy(code);
            audit.Append(new AuditEntry(AuditEventTypes.LoginFailed, gate.RefusalReason, person?.Id, request.ClientId,
                $"scope={Scope(gate.Decision.Refusal)};{target}"));
            await unitOfWork.CommitAsync(cancellationToken);
            PhoneLog.PersonalFailed(logger, person?.Id);
            return WrongCode();
        }

        // One Argon2id computation on every path: no enumeration of NIRs or of who chose a code by timing.
        var reason = person?.PhoneCodeHash is not { } hash
            ? Dummy(person is null ? "unknown_person" : "no_phone_code")
            : !VerifyAndUpgrade(person, hash) ? "wrong_code"
            : person.IsClosed ? "closed_account"
            : null;
        if (reason is not null)
        {
            await throttle.FailedAsync(gate, person is { IsClosed: false } ? person : null, request.ClientId, cancellationToken);
            audit.Append(new AuditEntry(AuditEventTypes.LoginFailed, reason, person?.Id, request.ClientId, target));
            await unitOfWork.CommitAsync(cancellationToken);
            PhoneLog.PersonalFailed(logger, person?.Id);
            return WrongCode();
        }
        await throttle.SucceededAsync(gate, cancellationToken);

        var principal = CreatePrincipal(person!.Subject, fileRestriction: null, LegacyCodeGrant.PersonalAuthenticationMethod, request.ClientId!, clock.GetUtcNow());
        audit.Append(new AuditEntry(AuditEventTypes.LoginSucceeded, LegacyCodeGrant.PersonalAuthenticationMethod, person.Id, request.ClientId, target));
        audit.Append(new AuditEntry(AuditEventTypes.TokenIssued, LegacyCodeGrant.GrantType, person.Id, request.ClientId, target));
        // Committed with the token row, in the grant's one write (Protocol/TokenWriteHandlers, docs/decisions.md #34).
        return Results.SignIn(principal, properties: null, OpenIddictServerAspNetCoreDefaults.AuthenticationScheme);

        string Dummy(string why)
        {
            hasher.VerifyAgainstDummy(code);
            return why;
        }

        bool VerifyAndUpgrade(PersonAccount known, string storedHash)
        {
            if (!secrets.VerifyAndUpgrade(code, storedHash, out var upgradedHash))
            {
                return false;
            }
            if (upgradedHash is not null)
            {
                known.PhoneCodeHash = upgradedHash;
            }
            return true;
        }
    }

    private async Task<IResult> ExchangeFileCodeAsync(HttpContext http, OpenIddictRequest request)
    {
        var cancellationToken = http.RequestAborted;

        // Malformed input says nothing about files: refused before any lookup, without spending the budget.
        var typedFile = (string?)request[LegacyCodeGrant.FileNumberParameter];
        var code = (string?)request[LegacyCodeGrant.CodeParameter];
        // Strict on the protocol: the voice server sends the digits, no spaces or dots to tidy up.
        if (typedFile is not { Length: FileNumber.Length } || !FileNumber.TryParse(typedFile, out var fileNumber, out _))
        {
            return GrantRefusals.Refuse(OpenIddictConstants.Errors.InvalidRequest, "The file_number parameter must be exactly 7 digits.");
        }
        if (!LegacyCodePolicy.IsWellFormed(code))
        {
            return GrantRefusals.Refuse(OpenIddictConstants.Errors.InvalidRequest, "The legacy_code parameter must be exactly 8 digits.");
        }
        if (options.LegacyCodeRetired(clock.GetUtcNow()))
        {
            // The same for every file (a date, not a fact about the file): nothing looked up, no budget spent.
            audit.Append(new AuditEntry(AuditEventTypes.LoginFailed, LegacyCodeGrant.LegacyCodeRetiredError, null, request.ClientId, "code=file"));
            await unitOfWork.CommitAsync(cancellationToken);
            return GrantRefusals.Refuse(OpenIddictConstants.Errors.InvalidGrant,
                "The shared file code is retired: use the caller's NIR and personal phone code.", LegacyCodeGrant.LegacyCodeRetiredError);
        }

        var file = await persons.FindFileAsync(fileNumber.Value, cancellationToken);
        var gate = await throttle.BeginForFileAsync(file?.Id, await SourceAsync(http, request), cancellationToken);
        var holder = file is null ? null : FileCodeIssuer.Holder(file);
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
        // A new code asked by phone (pending) is checked when the current one does not match; its first use makes it the
        // file's code (docs/decisions.md #25).
        var reason = file?.LegacySecretHash is not { } hash && file?.PendingLegacySecretHash is null
            ? Dummy(file is null ? "unknown_file" : "no_legacy_code")
            : !VerifyAndUpgrade(file!) ? "wrong_code"
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

        var principal = CreatePrincipal(holder!.Subject, file!.FileNumber, LegacyCodeGrant.AuthenticationMethod, request.ClientId!, clock.GetUtcNow());
        audit.Append(new AuditEntry(AuditEventTypes.LoginSucceeded, LegacyCodeGrant.AuthenticationMethod, holder!.Id, request.ClientId, FileDetail(file)));
        audit.Append(new AuditEntry(AuditEventTypes.TokenIssued, LegacyCodeGrant.GrantType, holder.Id, request.ClientId, FileDetail(file)));
        // Committed with the token row, in the grant's one write (Protocol/TokenWriteHandlers, docs/decisions.md #34).
        return Results.SignIn(principal, properties: null, OpenIddictServerAspNetCoreDefaults.AuthenticationScheme);

        string Dummy(string why)
        {
            hasher.VerifyAgainstDummy(code);
            return why;
        }

        bool VerifyAndUpgrade(Household knownFile)
        {
            if (knownFile.LegacySecretHash is { } current && secrets.VerifyAndUpgrade(code, current, out var upgradedHash))
            {
                if (upgradedHash is not null)
                {
                    // A legacy format kept at import, or weaker Argon2id parameters: Argon2id from now on, as at the web login.
                    // Committed with the exchange's audit lines.
                    knownFile.LegacySecretHash = upgradedHash;
                }
                return true;
            }
            if (knownFile.PendingLegacySecretHash is { } pending && secrets.VerifyAndUpgrade(code, pending, out _))
            {
                // The code sent after « code confidentiel oublié », used for the first time: it replaces the old one.
                knownFile.LegacySecretHash = pending;
                knownFile.PendingLegacySecretHash = null;
                knownFile.PendingLegacySecretIssuedAt = null;
                audit.Append(new AuditEntry(AuditEventTypes.LegacyCodeIssued, "pending_used", holder?.Id, request.ClientId, FileDetail(knownFile)));
                return true;
            }
            return false;
        }
    }

    /// <summary>
    /// The source budget of the attempt: the voice server's own (<see cref="PhoneChannelOptions.Budget"/>) when the caller
    /// is an authenticated confidential client holding the phone grant — only such a client is exempt from the per-IP
    /// budget — and the per-IP one otherwise (<see cref="ConfidentialClients.ThrottleSourceAsync"/>, the kiosks' rule too).
    /// </summary>
    private Task<ThrottleSource> SourceAsync(HttpContext http, OpenIddictRequest request) =>
        applications.ThrottleSourceAsync(http, request, LegacyCodeGrant.GrantType, options.Budget, http.RequestAborted);

    private static string Scope(ThrottleRefusal? refusal) => refusal switch
    {
        ThrottleRefusal.IpBlocked => "ip",
        ThrottleRefusal.ClientBlocked => "client",
        _ => "file",
    };

    /// <summary>
    /// Only the subject, the file restriction and the authentication facts, all in the access token (no ID token is
    /// issued: the scope has no openid). Userinfo recomputes <c>caf_files</c> from the store, limited to <c>caf_file</c>.
    /// </summary>
    private static ClaimsPrincipal CreatePrincipal(string subject, string? fileRestriction, string method, string clientId, DateTimeOffset now)
    {
        var identity = new ClaimsIdentity(authenticationType: "CafConnect.Telephone", nameType: Claims.Name, roleType: Claims.Role);
        identity.AddClaim(new Claim(Claims.Subject, subject));
        if (fileRestriction is not null)
        {
            identity.AddClaim(new Claim(CafClaimTypes.FileRestriction, fileRestriction));
        }
        identity.AddClaim(new Claim(CafClaimTypes.Channel, LegacyCodeGrant.Channel));
        identity.AddClaim(new Claim(CafClaimTypes.AuthenticationMethods, method));
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

    private static IResult WrongCode() => GrantRefusals.Refuse(OpenIddictConstants.Errors.InvalidGrant, "The file number or the code is incorrect.");
}

internal static partial class PhoneLog
{
    [LoggerMessage(EventId = 2108, EventName = "PhoneCodeFailed", Level = LogLevel.Information, Message = "Phone channel code refused for household {HouseholdId}")]
    public static partial void Failed(ILogger logger, Guid? householdId);

    [LoggerMessage(EventId = 2302, EventName = "PhonePersonalCodeFailed", Level = LogLevel.Information, Message = "Phone channel personal code refused for person {PersonId}")]
    public static partial void PersonalFailed(ILogger logger, Guid? personId);
}
