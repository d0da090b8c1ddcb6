using System.Text.RegularExpressions;
using CafConnect.Domain.Accounts;
using CafConnect.Domain.Identity;
using CafConnect.Infrastructure.Accounts;
using CafConnect.Infrastructure.Audit;
using CafConnect.Application.Credentials;
using FluentValidation;

namespace CafConnect.Application.Admin;

/// <summary>
/// An agent at a Caf office sends a person a provisional password (2 months, replaced at the first login): the one code
/// path of <c>cafconnect accounts provisional-password</c> and <c>POST /admin/v1/persons/provisional-password</c>.
/// </summary>
public sealed partial class AgentProvisionalPassword(PersonDirectory persons, CredentialReset credentials)
{
    public static bool IsAgentId(string? value) => value is not null && AgentIdPattern().IsMatch(value);

    public Task<PersonAccount?> FindAsync(LoginIdentifier identifier, CancellationToken cancellationToken) =>
        persons.FindByLoginIdentifierAsync(identifier, cancellationToken);

    /// <summary>The person a request names, checked against the civil status it states (if any).</summary>
    public Task<PersonLookup> FindSamePersonAsync(PersonReference reference, CancellationToken cancellationToken) =>
        persons.FindSamePersonAsync(reference.Identifier(), reference.CivilStatus(), cancellationToken);

    /// <summary>
    /// Issues it (password, revocations, message) without committing, and returns the audit entry naming the agent:
    /// the caller stores both in one transaction.
    /// </summary>
    public async Task<(ProvisionalPasswordDelivery Delivery, AuditEntry Audit)> IssueAsync(PersonAccount person, string agentId, string? clientId, string idempotencyKey, CancellationToken cancellationToken)
    {
        var sent = await credentials.IssueProvisionalPasswordAsync(person, idempotencyKey, cancellationToken);
        return (sent, new AuditEntry(AuditEventTypes.ProvisionalPasswordIssued, sent.Channel.ToString(), person.Id, clientId, $"by=agent; agent={agentId}"));
    }

    [GeneratedRegex("^[A-Za-z0-9._-]{1,64}$")]
    private static partial Regex AgentIdPattern();
}

/// <summary>Body of <c>POST /admin/v1/persons/provisional-password</c>: the person (NIR or provisional id, never in the URL) and the agent.</summary>
public sealed record AgentProvisionalPasswordRequest
{
    public PersonReference? Person { get; init; }
    public string? AgentId { get; init; }
    /// <summary>Optional: the caller's id for this request, to make a retry safe (the same id is answered once).</summary>
    public string? RequestId { get; init; }
}

public sealed class AgentProvisionalPasswordRequestValidator : AbstractValidator<AgentProvisionalPasswordRequest>
{
    public AgentProvisionalPasswordRequestValidator()
    {
        RuleFor(r => r.Person).NotNull().OverridePropertyName("person").WithMessage("person is required");
        RuleFor(r => r.Person!).SetValidator(new PersonReferenceValidator()).When(r => r.Person is not null).OverridePropertyName("person");
        RuleFor(r => r.AgentId).Must(AgentProvisionalPassword.IsAgentId).OverridePropertyName("agent_id")
            .WithMessage("agent_id: the agent's identifier, 1 to 64 letters, digits, '.', '_' or '-'");
        RuleFor(r => r.RequestId).Matches("^[A-Za-z0-9._:-]{1,100}$").When(r => r.RequestId is not null).OverridePropertyName("request_id")
            .WithMessage("request_id: 1 to 100 letters, digits, '.', '_', ':' or '-'");
    }
}

/// <summary>The admin API's side of <see cref="AgentProvisionalPassword"/>: validation, refusals as problems, one transaction.</summary>
public sealed class AgentProvisionalPasswordEndpoint(AgentProvisionalPassword agents, IdempotentAdminRequests idempotency, AuditTrail audit)
{
    private static readonly AgentProvisionalPasswordRequestValidator Validator = new();

    public async Task<AdminResponse> IssueAsync(AgentProvisionalPasswordRequest request, AdminCaller caller, string correlationId, CancellationToken cancellationToken)
    {
        var validation = await Validator.ValidateAsync(request, cancellationToken);
        if (!validation.IsValid)
        {
            return AdminResponse.Failure(AdminProblem.Invalid(validation));
        }
        var requestId = request.RequestId ?? correlationId;
        return await idempotency.RunAsync(caller.IdempotencyKey("provisional-password", requestId), AdminJson.PayloadHash(request), async ct =>
        {
            var lookup = await agents.FindSamePersonAsync(request.Person!, ct);
            if (lookup.IsMismatch)
            {
                return AdminResponse.Failure(AdminProblem.CivilStatusMismatch("person")) with
                {
                    RefusalAudit = new AuditEntry(AuditEventTypes.IdentityMismatchRefused, "provisional_password", lookup.Mismatch!.Id, caller.ClientId,
                        $"request={requestId}; {caller.AuditDetails}"),
                };
            }
            var person = lookup.Person;
            if (person is null)
            {
                return AdminResponse.Failure(AdminProblem.Unprocessable("unknown_person", "No account has this identifier."));
            }
            if (person.IsClosed)
            {
                return AdminResponse.Failure(AdminProblem.Unprocessable("closed_account", "The person's account is closed."));
            }
            var (delivery, entry) = await agents.IssueAsync(person, request.AgentId!, caller.ClientId, caller.IdempotencyKey("provisional-password:api", requestId), ct);
            audit.Append(entry with { Details = entry.Details + "; " + caller.AuditDetails });
            return AdminResponse.Success(200, new
            {
                channel = delivery.Channel == Infrastructure.Notifications.NotificationChannel.Sms ? "sms" : "courrier",
                recipient = delivery.MaskedRecipient.Contains('\n') ? null : delivery.MaskedRecipient,
                valid_until = delivery.ValidUntil.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture),
            });
        }, cancellationToken);
    }
}
