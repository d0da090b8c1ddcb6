namespace CafConnect.IdP.Tests;

/// <summary>
/// Test hosts do not watch their configuration files: each watcher takes an inotify instance, and the machine's limit
/// (128 per user, shared by every test run on it) is reached when many hosts start, failing requests with a 500.
/// </summary>
[SetUpFixture]
public sealed class HostEnvironmentSetup
{
    [OneTimeSetUp]
    public void NoConfigurationFileWatchers() => Environment.SetEnvironmentVariable("DOTNET_hostBuilder__reloadConfigOnChange", "false");
}
