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
    public static Command Create(GlobalOptions globals) => new("keys", "Token signing (sig: RSA and sig-ec: EC P-256) and encryption (enc) keys")
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
            session.Console.Write(Table(keys, session.Get<TimeProvider>().GetUtcNow(), PublicationDelay(session.Host.Configuration)));
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Rotate(GlobalOptions globals)
    {
        var use = new Option<string?>("--use")
        {
            Description = "sig (both signing keys, RSA and EC), enc (encryption) or mac (verification codes); sig and enc when omitted",
            HelpName = "sig|enc|mac",
        };
        use.AcceptOnlyFromAmong(TokenKeyUses.Signing, TokenKeyUses.Encryption, TokenKeyUses.Mac);
        var immediately = new Option<bool>("--immediately")
        {
            Description = "Retire the active key(s) now instead of after Keys:PublicationDelay (a compromised key): tokens "
                + "an instance signs with the new key before the others reload may be refused for up to a minute",
        };
        var command = new Command("rotate",
            "Create new key(s), published at once and used to sign and encrypt once the active ones retire, "
            + "Keys:PublicationDelay later (default 1 hour); running instances reload the keys every Keys:RefreshInterval (1 minute)")
        { use, immediately };
        CafConnectCli.SetAction(command, globals, requireMigratedStore: true, async (session, parseResult, cancellationToken) =>
        {
            var store = session.Get<TokenKeyStore>();
            var selected = parseResult.GetValue(use);
            var delay = parseResult.GetValue(immediately) ? TimeSpan.Zero : PublicationDelay(session.Host.Configuration);
            var before = (await store.ListAsync(cancellationToken))
                // Without --use, only the token keys (sig, enc) are rotated: the mac key is not listed as retired.
                .Where(k => k.RetiredAt is null && (selected is null ? TokenKeyUses.IsSigning(k.Use) || k.Use == TokenKeyUses.Encryption
                    : selected == TokenKeyUses.Signing ? TokenKeyUses.IsSigning(k.Use) : k.Use == selected))
                .OrderBy(k => k.Use, StringComparer.Ordinal).ToList();

            // New keys are protected with the Data Protection key ring, itself kept in the store. Make sure that ring
            // exists before the transaction below: creating it then would need a second connection to write (SQLite locks).
            session.Get<IDataProtectionProvider>().CreateProtector("CafConnect.Cli.KeyRingCheck").Protect([0]);

            var created = await session.AuditedAsync(async ct =>
            {
                var fresh = (await store.RotateAsync(selected, delay, ct)).OrderBy(k => k.Use, StringComparer.Ordinal).ToList();
                var details = $"use={selected ?? "sig,sig-ec,enc"}; new={string.Join(',', fresh.Select(k => $"{k.Use}:{k.KeyId}"))}; "
                    + $"retired={string.Join(',', before.Select(k => $"{k.Use}:{k.KeyId}"))}; publication_delay_seconds={(int)delay.TotalSeconds}";
                return (fresh, new AuditEntry(AuditEventTypes.KeysRotated, "success", Details: details));
            }, cancellationToken);

            foreach (var key in created)
            {
                session.Console.MarkupLine($"New {Markup.Escape(key.Use)} key [bold]{Markup.Escape(key.KeyId)}[/] ({Markup.Escape(key.Algorithm)}).");
            }
            var retiresAt = session.Get<TimeProvider>().GetUtcNow() + delay;
            foreach (var key in before)
            {
                session.Console.MarkupLine(key.Use == TokenKeyUses.Mac || delay == TimeSpan.Zero
                    ? $"Retired {Markup.Escape(key.Use)} key {Markup.Escape(key.KeyId)}."
                    : $"{Markup.Escape(key.Use)} key {Markup.Escape(key.KeyId)} keeps signing/encrypting until {Format(retiresAt)} UTC, then retires.");
            }
            var days = (int)TokenKeyStore.RetiredKeyLifetime.TotalDays;
            session.Console.MarkupLine("[yellow]Running IdP instances load the new keys within Keys:RefreshInterval (1 minute by default), without a restart: "
                + "the new keys are published at once and used once the old ones retire.[/]");
            session.Console.MarkupLine($"[yellow]Retired keys stay published (and accepted) for {days} days, so tokens they protected remain valid.[/]");
            return ExitCodes.Success;
        });
        return command;
    }

    /// <summary><c>Keys:PublicationDelay</c> (a TimeSpan, e.g. <c>01:00:00</c>), by default <see cref="TokenKeyStore.DefaultPublicationDelay"/>.</summary>
    private static TimeSpan PublicationDelay(Microsoft.Extensions.Configuration.IConfiguration configuration)
    {
        try
        {
            return TokenKeySettings.PublicationDelay(configuration);
        }
        catch (FormatException e)
        {
            throw CliException.Usage(e.Message);
        }
    }

    private static Table Table(IReadOnlyList<TokenKeyRecord> keys, DateTimeOffset now, TimeSpan publicationDelay)
    {
        var table = new Table().Border(TableBorder.Rounded)
            .AddColumn("Kid").AddColumn("Use").AddColumn("Algorithm").AddColumn("Created (UTC)").AddColumn("Retired (UTC)").AddColumn("Status");
        // The RSA key that signs, by the host's own rule.
        var rsaSigner = TokenSigning.RsaSignerRecord(keys, now);
        foreach (var key in keys)
        {
            // An EC key added to a store of an earlier version is published at once but signs only after the publication
            // delay (docs/decisions.md #33), by the host's own rule.
            var ecSigningStartsAt = key.Use == TokenKeyUses.EcSigning && key.RetiredAt is null
                ? TokenSigning.EcSigningStartsAt(key, rsaSigner, publicationDelay)
                : null;
            var status = key.RetiredAt switch
            {
                null when keys.Any(k => k.Use == key.Use && k.RetiredAt > now) => "published; signs once the previous key retires",
                null when ecSigningStartsAt > now => $"published; waiting out the publication delay, signs from {Format(ecSigningStartsAt.Value)}",
                null => "active",
                { } retiring when retiring > now => $"active until {Format(retiring)}, then retired",
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
