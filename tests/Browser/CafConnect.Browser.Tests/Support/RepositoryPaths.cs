namespace CafConnect.Browser.Tests.Support;

/// <summary>Where the checkout is, found from the test binaries (the folder holding CafConnect.IdP.sln).</summary>
public static class RepositoryPaths
{
    public static string Root { get; } = FindRoot();

    public static string BrowserTools => Path.Combine(Root, "tests", "Browser");
    public static string AxeScript => Path.Combine(BrowserTools, "node_modules", "axe-core", "axe.min.js");
    public static string Interop => Path.Combine(Root, "tests", "Interop");
    public static string Screens => Path.Combine(Root, "docs", "screens");

    private static string FindRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "CafConnect.IdP.sln")))
            {
                return directory.FullName;
            }
        }
        throw new InvalidOperationException("CafConnect.IdP.sln not found above " + AppContext.BaseDirectory);
    }
}
