using CafConnect.IdP.Hosting;

var builder = WebApplication.CreateBuilder(args);

// The embedded default listens on loopback port 5000 unless --urls, ASPNETCORE_URLS or Kestrel settings say otherwise.
if (string.IsNullOrEmpty(builder.Configuration["urls"]) && string.IsNullOrEmpty(builder.Configuration["http_ports"])
    && string.IsNullOrEmpty(builder.Configuration["https_ports"]) && !builder.Configuration.GetSection("Kestrel:Endpoints").Exists())
{
    builder.WebHost.UseUrls("http://127.0.0.1:5000");
}

builder.AddCafConnect();

var app = builder.Build();
app.UseCafConnect();
await app.InitializeCafConnectAsync();
await app.RunAsync();

/// <summary>Entry point, visible to the tests' WebApplicationFactory.</summary>
public partial class Program;
