using System.CommandLine;
using System.Globalization;
using System.Text.RegularExpressions;
using CafConnect.Domain.Identity;
using CafConnect.Application.Admin;
using CafConnect.Infrastructure.Audit;
using CafConnect.Infrastructure.Notifications;
using CafConnect.Application.Credentials;
using Microsoft.AspNetCore.DataProtection;
using Spectre.Console;

namespace CafConnect.Cli.Commands;

/// <summary><c>cafconnect accounts provisional-password</c>: what an agent does for a person who lost their password.</summary>
public static partial class AccountCommands
{
    public static Command Create(GlobalOptions globals) => new("accounts", "People's accounts and files")
    {
        ProvisionalPassword(globals),
        ImportCommands.Import(globals),
    };

    private static Command ProvisionalPassword(GlobalOptions globals)
    {
        var nir = new Option<string?>("--nir") { Description = "The person's NIR (13 or 15 characters, spaces allowed)", HelpName = "nir" };
        var provisionalId = new Option<string?>("--provisional-id") { Description = "The person's provisional identifier (P + 8 digits)", HelpName = "P12345678" };
        var agent = new Option<string>("--agent") { Description = "The agent's identifier, recorded in the audit trail", HelpName = "agent-id", Required = true };
        var command = new Command("provisional-password",
            "Send the person a provisional password valid 2 months, to be replaced at their first login: by SMS to their "
            + "verified mobile, else by letter. Their current password stops working and every token they hold is revoked. "
            + "The password is never printed: it goes to the person only.")
        {
            nir, provisionalId, agent,
        };
        CafConnectCli.SetAction(command, globals, requireMigratedStore: true, async (session, parseResult, cancellationToken) =>
        {
            var agentId = parseResult.GetRequiredValue(agent).Trim();
            if (!AgentProvisionalPassword.IsAgentId(agentId))
            {
                throw CliException.Usage("--agent: expected the agent's identifier (1 to 64 letters, digits, '.', '_' or '-')");
            }
            var identifier = ParseIdentifier(parseResult.GetValue(nir), parseResult.GetValue(provisionalId));

            var agents = session.Get<AgentProvisionalPassword>();
            var person = await agents.FindAsync(identifier, cancellationToken)
                ?? throw CliException.Failure($"no account with {(identifier.Kind == LoginIdentifierKind.Nir ? "NIR" : "provisional identifier")} {identifier}");
            if (person.IsClosed)
            {
                throw CliException.Failure($"the account {identifier} is closed");
            }

            // The message body is encrypted with the Data Protection key ring, itself in the store: make sure the ring
            // exists before the transaction (creating it inside would need a second connection: SQLite locks).
            session.Get<IDataProtectionProvider>().CreateProtector("CafConnect.Cli.KeyRingCheck").Protect([0]);

            var delivery = await session.AuditedAsync(
                ct => agents.IssueAsync(person, agentId, clientId: null, $"provisional-password:cli:{session.Host.CorrelationId}", ct), cancellationToken);

            var how = delivery.Channel == NotificationChannel.Sms ? $"by SMS to {delivery.MaskedRecipient}" : "by letter (the print service resolves the postal address)";
            session.Console.MarkupLine($"Provisional password for {Markup.Escape(identifier.ToString())} queued {Markup.Escape(how)}.");
            session.Console.MarkupLine($"Valid until {delivery.ValidUntil.UtcDateTime.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture)} UTC; the person chooses their own password at their next login.");
            session.Console.MarkupLine("Their previous password no longer works and their sessions and tokens were revoked.");
            return ExitCodes.Success;
        });
        return command;
    }

    private static LoginIdentifier ParseIdentifier(string? nir, string? provisionalId)
    {
        if ((nir is null) == (provisionalId is null))
        {
            throw CliException.Usage("give exactly one of --nir and --provisional-id");
        }
        if (nir is not null)
        {
            return Nir.TryParse(nir, out _, out var nirError) && LoginIdentifier.TryParse(nir, out var byNir, out _)
                ? byNir
                : throw CliException.Usage($"--nir: {Nir.MessageFor(nirError)}");
        }
        return ProvisionalId.TryParse(provisionalId, out _, out var error) && LoginIdentifier.TryParse(provisionalId, out var byId, out _)
            ? byId
            : throw CliException.Usage($"--provisional-id: {ProvisionalId.MessageFor(error)}");
    }
}
