using System.CommandLine;
using System.CommandLine.Parsing;
using System.Text.RegularExpressions;
using CafConnect.Application.Clients;
using CafConnect.Infrastructure.Clients;
using FluentValidation.Results;
using Spectre.Console;

namespace CafConnect.Cli.Commands;

/// <summary><c>cafconnect clients list|add|update|remove</c>: relying parties, through <see cref="ClientAdministration"/>.</summary>
public static partial class ClientCommands
{
    public static Command Create(GlobalOptions globals)
    {
        return new Command("clients", "Relying parties (OpenID Connect clients)")
        {
            List(globals),
            Add(globals),
            Update(globals),
            Remove(globals),
        };
    }

    private static Command List(GlobalOptions globals)
    {
        var command = new Command("list", "List the registered clients (never their secrets: only a hash is stored)");
        CafConnectCli.SetAction(command, globals, requireMigratedStore: true, async (session, _, cancellationToken) =>
        {
            var clients = await session.Get<ClientAdministration>().ListAsync(cancellationToken);
            if (clients.Count == 0)
            {
                session.Console.MarkupLine("No client registered.");
                return ExitCodes.Success;
            }
            session.Console.Write(Table(clients));
            PrintExtraGrantTypes(session, clients);
            session.Console.MarkupLine($"{clients.Count} client(s).");
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Add(GlobalOptions globals)
    {
        var options = new ClientOptions(forAdd: true);
        var command = new Command("add", "Register a client; a generated secret is printed once, store it right away");
        options.AddTo(command);
        CafConnectCli.SetAction(command, globals, requireMigratedStore: true, async (session, parseResult, cancellationToken) =>
        {
            var registrations = session.Get<ClientRegistrations>();
            var registration = new ClientRegistration
            {
                ClientId = parseResult.GetRequiredValue(options.Id),
                DisplayName = parseResult.GetValue(options.Name)!,
                Kind = ParseKind(parseResult.GetValue(options.Kind)!),
                ClientSecret = parseResult.GetValue(options.Secret),
                RedirectUris = parseResult.GetValue(options.RedirectUris) ?? [],
                PostLogoutRedirectUris = parseResult.GetValue(options.PostLogoutRedirectUris) ?? [],
                Scopes = parseResult.GetValue(options.Scopes) ?? [],
                ExtraGrantTypes = parseResult.GetValue(options.GrantTypes) ?? [],
                BackchannelLogoutUri = parseResult.GetValue(options.BackchannelLogoutUri),
                IdTokenSignedResponseAlg = parseResult.GetValue(options.IdTokenSignedResponseAlg),
            };
            var secret = parseResult.GetValue(options.GenerateSecret) ? SecretChange.Generate : SecretChange.Given;

            // The rules are the Application's (the admin API applies the same ones); a refusal changes nothing.
            await registrations.EnsureSecretKeyAsync(cancellationToken);
            var result = await session.AuditedAsync(async ct =>
            {
                var change = await registrations.AddAsync(registration, secret, ct);
                ThrowIfRefused(change, alreadyExistsHint: " (use 'clients update' to change it)");
                return (change, change.Audit!);
            }, cancellationToken);

            session.Console.MarkupLine($"Client [bold]{Markup.Escape(registration.ClientId)}[/] added.");
            session.Console.Write(Table([result.Client!]));
            PrintExtraGrantTypes(session, [result.Client!]);
            PrintGeneratedSecret(session, result.GeneratedSecret);
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Update(GlobalOptions globals)
    {
        var options = new ClientOptions(forAdd: false);
        var command = new Command("update",
            "Change a client: options given replace the current values (a repeated option replaces the whole list), "
            + "options omitted keep them; the secret is kept unless --secret or --generate-secret is given");
        options.AddTo(command);
        CafConnectCli.SetAction(command, globals, requireMigratedStore: true, async (session, parseResult, cancellationToken) =>
        {
            var registrations = session.Get<ClientRegistrations>();
            var clientId = parseResult.GetRequiredValue(options.Id);
            var changes = new ClientUpdate
            {
                DisplayName = parseResult.GetValue(options.Name),
                Kind = parseResult.GetValue(options.Kind) is { } kindText ? ParseKind(kindText) : null,
                RedirectUris = Given(parseResult, options.RedirectUris),
                PostLogoutRedirectUris = Given(parseResult, options.PostLogoutRedirectUris),
                Scopes = Given(parseResult, options.Scopes),
                ExtraGrantTypes = parseResult.GetValue(options.NoGrantTypes) ? [] : Given(parseResult, options.GrantTypes),
                BackchannelLogoutUri = parseResult.GetValue(options.BackchannelLogoutUri),
                IdTokenSignedResponseAlg = parseResult.GetValue(options.IdTokenSignedResponseAlg),
            };
            var givenSecret = parseResult.GetValue(options.Secret);
            var secret = parseResult.GetValue(options.GenerateSecret) ? SecretChange.Generate
                : !string.IsNullOrEmpty(givenSecret) ? SecretChange.Given
                : SecretChange.Keep;

            await registrations.EnsureSecretKeyAsync(cancellationToken);
            var result = await session.AuditedAsync(async ct =>
            {
                var change = await registrations.UpdateAsync(clientId, changes, secret, givenSecret, ct);
                ThrowIfRefused(change);
                return (change, change.Audit!);
            }, cancellationToken);

            var kept = secret == SecretChange.Keep && result.Client!.Kind != "public";
            session.Console.MarkupLine($"Client [bold]{Markup.Escape(clientId)}[/] updated" + (kept ? " (secret unchanged)." : "."));
            session.Console.Write(Table([result.Client!]));
            PrintExtraGrantTypes(session, [result.Client!]);
            PrintGeneratedSecret(session, result.GeneratedSecret);
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Remove(GlobalOptions globals)
    {
        var id = new Option<string>("--id") { Description = "Client id", HelpName = "id", Required = true };
        var command = new Command("remove", "Remove a client with its authorizations and tokens") { id };
        CafConnectCli.SetAction(command, globals, requireMigratedStore: true, async (session, parseResult, cancellationToken) =>
        {
            var registrations = session.Get<ClientRegistrations>();
            var clientId = parseResult.GetRequiredValue(id);
            await session.AuditedAsync(async ct =>
            {
                var change = await registrations.RemoveAsync(clientId, ct);
                ThrowIfRefused(change);
                return change.Audit!;
            }, cancellationToken);

            session.Console.MarkupLine($"Client [bold]{Markup.Escape(clientId)}[/] removed.");
            return ExitCodes.Success;
        });
        return command;
    }

    /// <summary>
    /// A validation failure as one line naming the option at fault, e.g.
    /// <c>--redirect-uri: 'http://rp.example/cb': http is only allowed on loopback…</c>.
    /// </summary>
    public static string Describe(ValidationFailure failure) =>
        Describe(new ClientProblem(IndexSuffix().Replace(failure.PropertyName ?? string.Empty, string.Empty), failure.ErrorMessage));

    /// <summary>A refusal of the Application's client rules as one line naming the option at fault.</summary>
    public static string Describe(ClientProblem problem)
    {
        var property = problem.Field;
        var option = property switch
        {
            nameof(ClientRegistration.ClientId) => "--id",
            nameof(ClientRegistration.DisplayName) => "--name",
            nameof(ClientRegistration.Kind) => "--kind",
            nameof(ClientRegistration.ClientSecret) => "--secret",
            nameof(ClientRegistration.RedirectUris) => "--redirect-uri",
            nameof(ClientRegistration.PostLogoutRedirectUris) => "--post-logout-redirect-uri",
            nameof(ClientRegistration.Scopes) => "--scope",
            nameof(ClientRegistration.ExtraGrantTypes) => "--grant-type",
            nameof(ClientRegistration.BackchannelLogoutUri) => "--backchannel-logout-uri",
            nameof(ClientRegistration.IdTokenSignedResponseAlg) => "--id-token-signed-response-alg",
            _ => null,
        };
        var message = problem.Message;
        if (option == "--secret" && message is "a confidential client needs a secret" or "a public client becoming confidential needs a secret")
        {
            message += message.StartsWith("a public", StringComparison.Ordinal) ? " (--secret or --generate-secret)" : ": give --secret or --generate-secret";
        }
        return option is null ? message : $"{option}: {message}";
    }

    /// <summary>256 bits from the OS's CSPRNG, base64url: 43 characters (the Application's generator).</summary>
    internal static string NewSecret() => ClientRegistrations.NewSecret();

    /// <summary>A refused change, as the CLI reports it (inside the audited transaction, which it rolls back: nothing is kept).</summary>
    private static void ThrowIfRefused(ClientChangeResult change, string alreadyExistsHint = "")
    {
        switch (change.Status)
        {
            case ClientChangeStatus.Applied:
                return;
            case ClientChangeStatus.NotFound:
                throw CliException.Failure(change.Problems[0].Message);
            default:
                throw new CliException(ExitCodes.Usage, change.Problems
                    .Select(p => Describe(p) + (p.Field == nameof(ClientRegistration.ClientId) && p.Message.EndsWith("already exists", StringComparison.Ordinal) ? alreadyExistsHint : string.Empty))
                    .ToList());
        }
    }

    private static ClientKind ParseKind(string value) => Enum.Parse<ClientKind>(value, ignoreCase: true);

    /// <summary>The values of a repeatable option when it was given at all, otherwise null (keep the current ones).</summary>
    private static IReadOnlyList<string>? Given(ParseResult parseResult, Option<string[]> option) =>
        parseResult.GetResult(option) is { Implicit: false } ? parseResult.GetValue(option) ?? [] : null;


    /// <summary>Below the table (a column would squeeze the URIs): the grants beyond code and refresh token, e.g. the phone grant.</summary>
    private static void PrintExtraGrantTypes(CliSession session, IEnumerable<ClientSummary> clients)
    {
        foreach (var client in clients.Where(c => c.ExtraGrantTypes.Count > 0))
        {
            session.Console.WriteLine($"{client.ClientId}: extra grant type(s): {string.Join(' ', client.ExtraGrantTypes)}");
        }
        foreach (var client in clients.Where(c => c.IdTokenSignedResponseAlg is not null))
        {
            session.Console.WriteLine($"{client.ClientId}: ID tokens and logout tokens signed with {client.IdTokenSignedResponseAlg}");
        }
    }

    private static void PrintGeneratedSecret(CliSession session, string? secret)
    {
        if (secret is null)
        {
            return;
        }
        session.Console.MarkupLine("[yellow]Client secret (shown only this once: only its hash is stored; put it in the relying party's vault now):[/]");
        session.Console.WriteLine(secret);
    }

    private static Table Table(IEnumerable<ClientSummary> clients)
    {
        var table = new Table().Border(TableBorder.Rounded)
            .AddColumn("Client id").AddColumn("Name").AddColumn("Kind").AddColumn("Redirect URIs").AddColumn("Post-logout redirect URIs").AddColumn("Scopes");
        foreach (var client in clients)
        {
            table.AddRow(
                new Text(client.ClientId),
                new Text(client.DisplayName),
                new Text(client.Kind),
                new Text(string.Join('\n', client.RedirectUris)),
                new Text(string.Join('\n', client.PostLogoutRedirectUris)),
                new Text(string.Join(' ', client.Scopes.Prepend("openid"))));
        }
        return table;
    }

    [GeneratedRegex(@"\[\d+\]$")]
    private static partial Regex IndexSuffix();

    /// <summary>The options of <c>add</c> and <c>update</c> (one set per command).</summary>
    private sealed class ClientOptions
    {
        public ClientOptions(bool forAdd)
        {
            Id = new("--id") { Description = "Client id: 2–64 characters, lower-case letters, digits, '.', '_' or '-'", HelpName = "id", Required = true };
            Name = new("--name") { Description = "Display name shown to users", HelpName = "name", Required = forAdd };
            Kind = new("--kind") { Description = "confidential (a server that keeps a secret), public (native app, PKCE only) or service (a back-end system calling the admin API: client credentials, scope cafconnect.admin)", HelpName = "confidential|public|service", Required = forAdd };
            Kind.Validators.Add(result =>
            {
                if (result.GetValueOrDefault<string?>() is { } value && !Enum.TryParse<ClientKind>(value, ignoreCase: true, out _))
                {
                    result.AddError($"--kind '{value}' is not valid: use confidential, public or service");
                }
            });
            Secret = new("--secret") { Description = "Client secret, at least 24 characters (prefer --generate-secret: a command line can end up in shell history)", HelpName = "secret" };
            GenerateSecret = new("--generate-secret") { Description = "Generate a random 256-bit secret and print it once" };
            RedirectUris = new("--redirect-uri")
            {
                Description = forAdd
                    ? "Redirect URI (repeatable): absolute, https except on loopback, no wildcard or fragment; a public client may use a private-use scheme such as fr.caf.mobile:/callback"
                    : "Redirect URI (repeatable): replaces all current redirect URIs",
                HelpName = "uri",
                Required = false,
            };
            PostLogoutRedirectUris = new("--post-logout-redirect-uri") { Description = "Post-logout redirect URI (repeatable), same rules", HelpName = "uri" };
            Scopes = new("--scope") { Description = "Scope beyond openid (repeatable): " + string.Join(", ", CafScopes.Registrable.Order()), HelpName = "scope" };
            BackchannelLogoutUri = new("--backchannel-logout-uri") { Description = "Where back-channel logout tokens are posted (https)", HelpName = "uri" };
            IdTokenSignedResponseAlg = new("--id-token-signed-response-alg")
            {
                Description = "Algorithm of the client's ID tokens and logout tokens: RS256 (the default, every relying party supports it) or ES256",
                HelpName = "RS256|ES256",
            };
            IdTokenSignedResponseAlg.AcceptOnlyFromAmong(CafConnect.Infrastructure.Keys.TokenSigning.Rs256, CafConnect.Infrastructure.Keys.TokenSigning.Es256);
            GrantTypes = new("--grant-type")
            {
                Description = (forAdd ? "Grant type beyond authorization code and refresh token (repeatable), confidential clients only: "
                    : "Grant type beyond authorization code and refresh token (repeatable): replaces the current extra grant types; confidential clients only: ")
                    + string.Join(", ", CafGrantTypes.Registrable.Order()) + " (the phone channel's voice server)",
                HelpName = "urn",
            };
            NoGrantTypes = new("--no-grant-type") { Description = "Remove every extra grant type (e.g. take the phone grant away)" };
            _forAdd = forAdd;
        }

        private readonly bool _forAdd;

        public Option<string> Id { get; }
        public Option<string?> Name { get; }
        public Option<string?> Kind { get; }
        public Option<string?> Secret { get; }
        public Option<bool> GenerateSecret { get; }
        public Option<string[]> RedirectUris { get; }
        public Option<string[]> PostLogoutRedirectUris { get; }
        public Option<string[]> Scopes { get; }
        public Option<string?> BackchannelLogoutUri { get; }
        public Option<string?> IdTokenSignedResponseAlg { get; }
        public Option<string[]> GrantTypes { get; }
        public Option<bool> NoGrantTypes { get; }

        public void AddTo(Command command)
        {
            command.Options.Add(Id);
            command.Options.Add(Name);
            command.Options.Add(Kind);
            command.Options.Add(Secret);
            command.Options.Add(GenerateSecret);
            command.Options.Add(RedirectUris);
            command.Options.Add(PostLogoutRedirectUris);
            command.Options.Add(Scopes);
            command.Options.Add(BackchannelLogoutUri);
            command.Options.Add(IdTokenSignedResponseAlg);
            command.Options.Add(GrantTypes);
            if (!_forAdd)
            {
                command.Options.Add(NoGrantTypes);
            }
            command.Validators.Add(result =>
            {
                if (result.GetResult(Secret) is not null && result.GetValue(GenerateSecret))
                {
                    result.AddError("--secret and --generate-secret cannot be used together");
                }
                if (!_forAdd && result.GetResult(GrantTypes) is not null && result.GetValue(NoGrantTypes))
                {
                    result.AddError("--grant-type and --no-grant-type cannot be used together");
                }
            });
        }
    }
}
