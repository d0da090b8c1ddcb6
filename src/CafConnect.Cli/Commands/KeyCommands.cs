using System.CommandLine;
using System.Globalization;
using CafConnect.Infrastructure.Audit;
using CafConnect.Infrastructure.Keys;
using Microsoft.AspNetCore.DataProtection;
using Spectre.Console;

namespace CafConnect.Cli.Commands;

/// <summary><c>cafconnect keys list|rotate</c>: the keys that sign and encrypt tokens (never their material).</summary>
public static class KeyCommands
{
    public static Command Create(GlobalOptions globals) => new("keys", "Token signing (sig) and encryption (enc) keys")
    {
        List(globals),
        Rotate(globals),
    };

    private static Command List(GlobalOptions globals)
    {
        var command = new Command("list", "List the token keys: kid, use, algorithm, creation and retirement (never key material)");
        CafConnectCli.SetAction(command, globals, requireMigratedStore: true, async (session, _, cancellationToken) =>
        {
            var keys = await session.Get<TokenKeyStore>().ListAsync(cancellationToken);
            if (keys.Count == 0)
            {
                session.Console.MarkupLine("No token key yet: the IdP creates its first keys at start-up (or run 'cafconnect keys rotate').");
                return ExitCodes.Success;
            }
            session.Console.Write(Table(keys, session.Get<TimeProvider>().GetUtcNow()));
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Rotate(GlobalOptions globals)
    {
        var use = new Option<string?>("--use")
        {
            Description = "sig (signing), enc (encryption) or mac (verification codes); sig and enc when omitted",
            HelpName = "sig|enc|mac",
        };
        use.AcceptOnlyFromAmong(TokenKeyUses.Signing, TokenKeyUses.Encryption, TokenKeyUses.Mac);
        var command = new Command("rotate", "Retire the active key(s) and create new ones") { use };
        CafConnectCli.SetAction(command, globals, requireMigratedStore: true, async (session, parseResult, cancellationToken) =>
        {
            var store = session.Get<TokenKeyStore>();
            var selected = parseResult.GetValue(use);
            var before = (await store.ListAsync(cancellationToken))
                .Where(k => k.RetiredAt is null && (selected is null || k.Use == selected)).ToList();

            // New keys are protected with the Data Protection key ring, itself kept in the store. Make sure that ring
            // exists before the transaction below: creating it then would need a second connection to write (SQLite locks).
            session.Get<IDataProtectionProvider>().CreateProtector("CafConnect.Cli.KeyRingCheck").Protect([0]);

            var created = await session.AuditedAsync(async ct =>
            {
                var fresh = await store.RotateAsync(selected, ct);
                var details = $"use={selected ?? "sig,enc"}; new={string.Join(',', fresh.Select(k => $"{k.Use}:{k.KeyId}"))}; "
                    + $"retired={string.Join(',', before.Select(k => $"{k.Use}:{k.KeyId}"))}";
                return (fresh, new AuditEntry(AuditEventTypes.KeysRotated, "success", Details: details));
            }, cancellationToken);

            foreach (var key in created)
            {
                session.Console.MarkupLine($"New {Markup.Escape(key.Use)} key [bold]{Markup.Escape(key.KeyId)}[/] ({Markup.Escape(key.Algorithm)}).");
            }
            foreach (var key in before)
            {
                session.Console.MarkupLine($"Retired {Markup.Escape(key.Use)} key {Markup.Escape(key.KeyId)}.");
            }
            var days = (int)TokenKeyStore.RetiredKeyLifetime.TotalDays;
            session.Console.MarkupLine("[yellow]Running IdP instances pick the new key up at their next restart: restart them to sign and encrypt with it.[/]");
            session.Console.MarkupLine($"[yellow]Retired keys stay published (and accepted) for {days} days, so tokens they protected remain valid.[/]");
            return ExitCodes.Success;
        });
        return command;
    }

    private static Table Table(IEnumerable<TokenKeyRecord> keys, DateTimeOffset now)
    {
        var table = new Table().Border(TableBorder.Rounded)
            .AddColumn("Kid").AddColumn("Use").AddColumn("Algorithm").AddColumn("Created (UTC)").AddColumn("Retired (UTC)").AddColumn("Status");
        foreach (var key in keys)
        {
            var status = key.RetiredAt switch
            {
                null => "active",
                { } retired when retired + TokenKeyStore.RetiredKeyLifetime > now => $"retired, published until {Format(retired + TokenKeyStore.RetiredKeyLifetime)}",
                _ => "expired (no longer published)",
            };
            table.AddRow(new Text(key.KeyId), new Text(key.Use), new Text(key.Algorithm), new Text(Format(key.CreatedAt)),
                new Text(key.RetiredAt is { } r ? Format(r) : "-"), new Text(status));
        }
        return table;
    }

    private static string Format(DateTimeOffset instant) =>
        instant.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);
}
