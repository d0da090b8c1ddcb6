using System.CommandLine;
using System.Globalization;
using CafConnect.Infrastructure.Audit;
using CafConnect.Infrastructure.Persistence;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Spectre.Console;

namespace CafConnect.Cli.Commands;

/// <summary>
/// <c>cafconnect maintenance purge [--dry-run]</c>: deletes the housekeeping rows nothing else ever deletes — the session
/// registry's rows of sessions long over (<c>Sessions:RetentionDays</c>) and the stored answers of applied admin
/// requests (<c>Admin:IdempotencyRetentionDays</c>), journeys' flows expired long enough (<c>Flows:RetentionDays</c>) and
/// outbox messages sent or given up long enough (<c>Notifications:SentRetentionDays</c>). Audit events have their own
/// purge (<c>audit purge</c>).
/// </summary>
public static class MaintenanceCommands
{
    /// <summary>See <see cref="RetentionPolicy.DefaultSessionDays"/> (also shown on « Données personnelles »).</summary>
    public const int DefaultSessionRetentionDays = RetentionPolicy.DefaultSessionDays;

    /// <summary>See <see cref="RetentionPolicy.DefaultAdminRequestDays"/>.</summary>
    public const int DefaultIdempotencyRetentionDays = RetentionPolicy.DefaultAdminRequestDays;

    /// <summary>See <see cref="RetentionPolicy.DefaultFlowDays"/>.</summary>
    public const int DefaultFlowRetentionDays = RetentionPolicy.DefaultFlowDays;

    /// <summary>See <see cref="RetentionPolicy.DefaultOutboxDays"/>.</summary>
    public const int DefaultOutboxRetentionDays = RetentionPolicy.DefaultOutboxDays;

    public static Command Create(GlobalOptions globals) => new("maintenance", "Housekeeping of the store")
    {
        Purge(globals),
    };

    private static Command Purge(GlobalOptions globals)
    {
        var dryRun = new Option<bool>("--dry-run") { Description = "Count what would be deleted, delete nothing (audited too)" };
        var command = new Command("purge",
            "Delete the session registry's rows of sessions ended or started more than Sessions:RetentionDays ago (with their "
            + $"client links; default {DefaultSessionRetentionDays}) and the stored answers of admin requests (file events, "
            + $"applicants) older than Admin:IdempotencyRetentionDays (default {DefaultIdempotencyRetentionDays}), journeys' flows "
            + $"expired more than Flows:RetentionDays ago (default {DefaultFlowRetentionDays}) and outbox messages sent or given up "
            + $"more than Notifications:SentRetentionDays ago (default {DefaultOutboxRetentionDays}; messages still waiting are "
            + "never deleted). Audited (admin.maintenance.purged). Schedule it daily.")
        {
            dryRun,
        };
        CafConnectCli.SetAction(command, globals, requireMigratedStore: true, async (session, parseResult, cancellationToken) =>
        {
            var sessionDays = Days(session.Host.Configuration, "Sessions:RetentionDays", DefaultSessionRetentionDays);
            var requestDays = Days(session.Host.Configuration, "Admin:IdempotencyRetentionDays", DefaultIdempotencyRetentionDays);
            var flowDays = Days(session.Host.Configuration, "Flows:RetentionDays", DefaultFlowRetentionDays);
            var outboxDays = Days(session.Host.Configuration, "Notifications:SentRetentionDays", DefaultOutboxRetentionDays);
            var now = session.Get<TimeProvider>().GetUtcNow();
            var sessionCutoff = now.AddDays(-sessionDays);
            var requestCutoff = now.AddDays(-requestDays);
            var flowCutoff = now.AddDays(-flowDays);
            var outboxCutoff = now.AddDays(-outboxDays);
            var db = session.Get<CafConnectDbContext>();

            // A session ended before the cutoff, or never ended but started before it: its cookie died long ago (idle
            // timeout). Should one still be in use, deleting its row signs it out (the registry fails closed), nothing worse.
            var oldSessions = db.ProviderSessions.Where(s => (s.EndedAt != null && s.EndedAt < sessionCutoff) || (s.EndedAt == null && s.CreatedAt < sessionCutoff));
            var oldLinks = db.ProviderSessionClients.Where(l => oldSessions.Any(s => s.Id == l.SessionId));
            var oldRequests = db.ProcessedAdminRequests.Where(r => r.ProcessedAt < requestCutoff);
            // A flow lives an hour at most: one expired before the cutoff can no longer be used by anyone.
            var oldFlows = db.Flows.Where(f => f.ExpiresAt < flowCutoff);
            // Sent or given up (the body is already wiped); a message still waiting is never deleted, however old.
            var oldMessages = db.OutboxMessages.Where(m => (m.SentAt != null && m.SentAt < outboxCutoff) || (m.SentAt == null && m.FailedAt != null && m.FailedAt < outboxCutoff));
            var settings = $"sessions_retention_days={sessionDays}; sessions_cutoff={AuditCommands.Format(sessionCutoff)}; "
                + $"requests_retention_days={requestDays}; requests_cutoff={AuditCommands.Format(requestCutoff)}; "
                + $"flows_retention_days={flowDays}; flows_cutoff={AuditCommands.Format(flowCutoff)}; "
                + $"outbox_retention_days={outboxDays}; outbox_cutoff={AuditCommands.Format(outboxCutoff)}";

            if (parseResult.GetValue(dryRun))
            {
                var (sessions, links, requests) = (await oldSessions.CountAsync(cancellationToken), await oldLinks.CountAsync(cancellationToken), await oldRequests.CountAsync(cancellationToken));
                var (flows, messages) = (await oldFlows.CountAsync(cancellationToken), await oldMessages.CountAsync(cancellationToken));
                await session.AuditedAsync(_ => Task.FromResult(new AuditEntry(AuditEventTypes.MaintenancePurgeDryRun, (sessions + requests + flows + messages).ToString(CultureInfo.InvariantCulture),
                    Details: $"{settings}; sessions={sessions}; session_clients={links}; admin_requests={requests}; flows={flows}; outbox_messages={messages}")), cancellationToken);
                session.Console.MarkupLine($"Dry run, nothing deleted: would delete {sessions} session(s) ended or started before {AuditCommands.Format(sessionCutoff)} "
                    + $"({sessionDays} days) with {links} client link(s), {requests} admin request answer(s) older than {AuditCommands.Format(requestCutoff)} ({requestDays} days), "
                    + $"{flows} flow(s) expired before {AuditCommands.Format(flowCutoff)} ({flowDays} days) and {messages} outbox message(s) sent or given up before "
                    + $"{AuditCommands.Format(outboxCutoff)} ({outboxDays} days).");
                return ExitCodes.Success;
            }

            var (deletedSessions, deletedLinks, deletedRequests, deletedFlows, deletedMessages) = await session.AuditedAsync(async ct =>
            {
                // Links first: the cascade is the database's, but the count is worth reporting and SQLite may run without it.
                var links = await oldLinks.ExecuteDeleteAsync(ct);
                var sessions = await oldSessions.ExecuteDeleteAsync(ct);
                var requests = await oldRequests.ExecuteDeleteAsync(ct);
                var flows = await oldFlows.ExecuteDeleteAsync(ct);
                var messages = await oldMessages.ExecuteDeleteAsync(ct);
                return ((sessions, links, requests, flows, messages), new AuditEntry(AuditEventTypes.MaintenancePurged, (sessions + requests + flows + messages).ToString(CultureInfo.InvariantCulture),
                    Details: $"{settings}; sessions={sessions}; session_clients={links}; admin_requests={requests}; flows={flows}; outbox_messages={messages}"));
            }, cancellationToken);
            session.Console.MarkupLine($"Deleted {deletedSessions} session(s) ended or started before {AuditCommands.Format(sessionCutoff)} ({sessionDays} days) "
                + $"with {deletedLinks} client link(s), {deletedRequests} admin request answer(s) older than {AuditCommands.Format(requestCutoff)} ({requestDays} days), "
                + $"{deletedFlows} flow(s) expired before {AuditCommands.Format(flowCutoff)} ({flowDays} days) and {deletedMessages} outbox message(s) sent or given up "
                + $"before {AuditCommands.Format(outboxCutoff)} ({outboxDays} days).");
            return ExitCodes.Success;
        });
        return command;
    }

    private static int Days(IConfiguration configuration, string key, int defaultDays)
    {
        var value = configuration[key];
        if (string.IsNullOrWhiteSpace(value))
        {
            return defaultDays;
        }
        return int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var days) && days >= 1
            ? days
            : throw CliException.Usage($"{key}: expected a number of days, at least 1 (got '{value}')");
    }
}
