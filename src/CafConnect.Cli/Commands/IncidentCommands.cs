using System.CommandLine;
using System.Globalization;
using System.Text;
using CafConnect.Application.Persistence;
using CafConnect.Infrastructure.Audit;
using CafConnect.Infrastructure.Incidents;
using CafConnect.Infrastructure.Sessions;
using Spectre.Console;

namespace CafConnect.Cli.Commands;

/// <summary>
/// <c>cafconnect incident revoke --from T1 --to T2 [--client ID] [--dry-run] [--csv FILE]</c>: the response to an
/// incident like the one of 10 October 2021 (docs/security.md, "Incident response"; runbook in docs/operations.md).
/// </summary>
public static class IncidentCommands
{
    public static Command Create(GlobalOptions globals) => new("incident", "Incident response: revoke what was issued in a time window")
    {
        Revoke(globals),
    };

    private static Command Revoke(GlobalOptions globals)
    {
        var from = new Option<string>("--from") { Description = "Start of the window, inclusive (ISO 8601; without an offset: UTC)", HelpName = "time", Required = true };
        var to = new Option<string>("--to") { Description = "End of the window, exclusive (ISO 8601; without an offset: UTC)", HelpName = "time", Required = true };
        var client = new Option<string?>("--client") { Description = "Only what was issued to this client id", HelpName = "client-id" };
        var dryRun = new Option<bool>("--dry-run") { Description = "Count what would be revoked and who is affected; change and send nothing" };
        var csv = new Option<FileInfo?>("--csv") { Description = "Write the affected persons (internal id, verified contacts, reasons) to this CSV file", HelpName = "file" };
        var issuer = new Option<string?>("--issuer") { Description = "The provider's issuer for logout tokens (default: Oidc:Issuer)", HelpName = "url" };
        var command = new Command("revoke",
            "End every provider session and revoke every authorization and token issued in the window, void every flow in "
            + "progress and every household invitation sent in the window or from a session it ends, ask a new password of "
            + "everyone whose password was set in the window, list the affected persons, "
            + "and tell relying parties through OpenID back-channel logout. Idempotent: a re-run changes nothing twice and "
            + "retries only the logout deliveries that failed.")
        {
            from, to, client, dryRun, csv, issuer,
        };
        CafConnectCli.SetAction(command, globals, requireMigratedStore: true, async (session, parseResult, cancellationToken) =>
        {
            var start = AuditCommands.ParseTime("--from", parseResult.GetRequiredValue(from));
            var end = AuditCommands.ParseTime("--to", parseResult.GetRequiredValue(to));
            if (end <= start)
            {
                throw CliException.Usage("--to must be after --from");
            }
            var clientId = parseResult.GetValue(client)?.Trim();
            if (clientId is { Length: 0 })
            {
                clientId = null;
            }
            var isDryRun = parseResult.GetValue(dryRun);
            var issuerValue = parseResult.GetValue(issuer) ?? session.Host.Configuration["Oidc:Issuer"];
            if (issuerValue is not null && (!Uri.TryCreate(issuerValue, UriKind.Absolute, out var issuerUri) || issuerUri.Scheme is not ("https" or "http")))
            {
                throw CliException.Usage($"--issuer / Oidc:Issuer: '{issuerValue}' is not an absolute http(s) URL");
            }
            var scope = new IncidentScope(start, end, clientId);
            var window = $"from={AuditCommands.Format(start)}; to={AuditCommands.Format(end)}; client={clientId ?? "(all)"}";
            var revocation = session.Get<IncidentRevocation>();
            var sender = session.Get<BackchannelLogoutSender>();
            var auditTrail = session.Get<AuditTrail>();

            IncidentReport report = null!;
            IReadOnlyList<LogoutDelivery> deliveries = [];
            var withUri = new List<LogoutTarget>();
            await session.Console.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
                .StartAsync(async context =>
                {
                    var revoking = context.AddTask(isDryRun ? "find (dry run: nothing changed)" : "revoke", maxValue: 1);
                    var progress = new InlineProgress<IncidentProgress>(p =>
                    {
                        revoking.MaxValue = Math.Max(1, p.Total);
                        revoking.Value = p.Done;
                        revoking.Description = $"{(isDryRun ? "find" : "revoke")}: {p.Step} ({p.Done:N0}/{p.Total:N0})";
                    });
                    try
                    {
                        if (isDryRun)
                        {
                            report = await revocation.RunAsync(scope, dryRun: true, _ => Task.CompletedTask, progress, cancellationToken);
                        }
                        else
                        {
                            // Every change and its audit rows in one transaction: never a revocation without its trace.
                            report = await session.AuditedAsync(async ct =>
                            {
                                var r = await revocation.RunAsync(scope, dryRun: false, entry => { auditTrail.Append(entry); return Task.CompletedTask; }, progress, ct);
                                return (r, new AuditEntry(AuditEventTypes.IncidentRevoked, "done", ClientId: clientId, Details: $"{window}; {Counts(r)}"));
                            }, cancellationToken);
                        }
                    }
                    catch (InvalidOperationException e) when (e.Message.StartsWith("no client", StringComparison.Ordinal))
                    {
                        throw CliException.Usage($"--client: {e.Message}");
                    }
                    revoking.Value = revoking.MaxValue;

                    foreach (var target in report.LogoutTargets)
                    {
                        if (await sender.LogoutUriOfAsync(target.ClientId, cancellationToken) is not null)
                        {
                            withUri.Add(target);
                        }
                    }
                    if (isDryRun || withUri.Count == 0)
                    {
                        return;
                    }
                    if (issuerValue is null)
                    {
                        throw CliException.Usage("Oidc:Issuer is not configured: give the provider's issuer with --issuer so logout tokens can be signed "
                            + "(the revocation itself is done; run the same command again with --issuer to tell the relying parties)");
                    }
                    var notifying = context.AddTask("back-channel logout", maxValue: withUri.Count);
                    deliveries = await sender.DeliverAsync(issuerValue, withUri, new InlineProgress<LogoutDelivery>(_ => notifying.Increment(1)), cancellationToken);
                    foreach (var delivery in deliveries)
                    {
                        auditTrail.Append(new AuditEntry(AuditEventTypes.BackchannelLogout, delivery.Delivered ? "delivered" : "failed",
                            delivery.Target.PersonId, delivery.Target.ClientId,
                            $"operator={CliSession.OperatorName}; reason=incident; sid={delivery.Target.SessionId}" + (delivery.Error is null ? "" : "; error=" + delivery.Error)));
                    }
                    await session.Get<IUnitOfWork>().CommitAsync(cancellationToken);
                });

            if (isDryRun)
            {
                await session.AuditedAsync(_ => Task.FromResult(new AuditEntry(AuditEventTypes.IncidentRevokeDryRun, "dry_run", ClientId: clientId,
                    Details: $"{window}; {Counts(report)}; logouts={withUri.Count}")), cancellationToken);
            }

            if (parseResult.GetValue(csv) is { } file)
            {
                await WriteCsvAsync(file, report.AffectedPersons, cancellationToken);
            }

            var failed = deliveries.Where(d => !d.Delivered).ToList();
            var prefix = isDryRun ? "Dry run, nothing changed or sent: would revoke" : "Revoked";
            session.Console.MarkupLine(Markup.Escape(
                $"{prefix} {report.SessionsRevoked} session(s), {report.AuthorizationsRevoked} authorization(s), {report.TokensRevoked} token(s); "
                + $"{(isDryRun ? "would void" : "voided")} {report.FlowsVoided} flow(s) and {report.InvitationsVoided} household invitation(s); {(isDryRun ? "would ask" : "asked")} a new password of {report.PasswordsFlagged} person(s); "
                + $"{report.AffectedPersons.Count} person(s) affected ({window})."));
            session.Console.MarkupLine(Markup.Escape(isDryRun
                ? $"Back-channel logout: {withUri.Count} logout token(s) would be sent."
                : $"Back-channel logout: {deliveries.Count - failed.Count} delivered, {failed.Count} failed."));
            if (parseResult.GetValue(csv) is { } written)
            {
                session.Console.MarkupLine(Markup.Escape($"Affected persons written to {written.FullName}."));
            }
            foreach (var failure in failed.Take(100))
            {
                await session.Error.WriteLineAsync($"warning: back-channel logout to client {failure.Target.ClientId} for session {failure.Target.SessionId} failed: {failure.Error}");
            }
            if (failed.Count > 0)
            {
                await session.Error.WriteLineAsync($"warning: {failed.Count} logout token(s) not delivered: run the same command again later (delivered ones are not sent twice).");
                return ExitCodes.Incomplete;
            }
            return ExitCodes.Success;
        });
        return command;
    }

    private static string Counts(IncidentReport r) =>
        $"sessions={r.SessionsRevoked}; authorizations={r.AuthorizationsRevoked}; tokens={r.TokensRevoked}; flows={r.FlowsVoided}; "
        + $"invitations={r.InvitationsVoided}; passwords={r.PasswordsFlagged}; persons={r.AffectedPersons.Count}";

    /// <summary>The notification list: readable by the operator only (it holds contacts), one row per person.</summary>
    private static async Task WriteCsvAsync(FileInfo file, IReadOnlyList<AffectedPerson> persons, CancellationToken cancellationToken)
    {
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }
        try
        {
            await using var writer = new StreamWriter(file.FullName, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false), options);
            await writer.WriteLineAsync("person_id,mobile,email,reasons");
            foreach (var person in persons)
            {
                cancellationToken.ThrowIfCancellationRequested();
                await writer.WriteLineAsync(string.Join(',',
                    person.PersonId.ToString(),
                    // An E.164 number starts with '+': kept as is (it is digits only, no formula); other cells are neutralised.
                    person.Mobile is { } mobile && mobile.Skip(1).All(char.IsAsciiDigit) && mobile.StartsWith('+') ? mobile : AuditCommands.Csv(person.Mobile ?? ""),
                    AuditCommands.Csv(person.Email ?? ""),
                    AuditCommands.Csv(string.Join(' ', person.Reasons))));
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw CliException.Failure($"--csv: cannot write {file.FullName}: {e.Message}");
        }
    }
}
