using System.CommandLine;
using CafConnect.Infrastructure.Persistence;

namespace CafConnect.Cli;

/// <summary>Options every command accepts (declared once on the root command, recursive).</summary>
public sealed class GlobalOptions
{
    public Option<string?> Provider { get; } = new("--provider")
    {
        Description = "Store provider: Sqlite, PostgreSql or SqlServer (overrides Storage:Provider)",
        HelpName = "provider",
        Recursive = true,
    };

    public Option<string?> ConnectionString { get; } = new("--connection-string")
    {
        Description = "Connection string of the store (overrides ConnectionStrings:CafConnect)",
        HelpName = "connection-string",
        Recursive = true,
    };

    public Option<FileInfo?> Config { get; } = new("--config")
    {
        Description = "A JSON configuration file (same keys as the IdP's appsettings.json)",
        HelpName = "file",
        Recursive = true,
    };

    public Option<bool> Verbose { get; } = new("--verbose")
    {
        Description = "Log what happens on stderr and show stack traces of errors",
        Recursive = true,
    };

    public GlobalOptions()
    {
        Provider.Validators.Add(result =>
        {
            var value = result.GetValueOrDefault<string?>();
            if (value is not null && !Enum.TryParse<StorageProvider>(value, ignoreCase: true, out _))
            {
                result.AddError($"--provider '{value}' is not supported; use Sqlite, PostgreSql or SqlServer");
            }
        });
    }

    public void AddTo(RootCommand root)
    {
        root.Options.Add(Provider);
        root.Options.Add(ConnectionString);
        root.Options.Add(Config);
        root.Options.Add(Verbose);
    }

    public CliSettings Read(ParseResult parseResult) => new(
        parseResult.GetValue(Provider),
        parseResult.GetValue(ConnectionString),
        parseResult.GetValue(Config)?.FullName,
        parseResult.GetValue(Verbose));
}

/// <summary>The global option values of one invocation.</summary>
public sealed record CliSettings(string? Provider, string? ConnectionString, string? ConfigFile, bool Verbose);
