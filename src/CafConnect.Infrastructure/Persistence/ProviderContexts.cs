using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;

namespace CafConnect.Infrastructure.Persistence;

// One subclass per provider so that each provider keeps its own migrations folder
// (EF binds a migration to a context type). The model itself lives in CafConnectDbContext.

public sealed class SqliteCafConnectDbContext(DbContextOptions<SqliteCafConnectDbContext> options) : CafConnectDbContext(options)
{
    protected override void ConfigureConventions(ModelConfigurationBuilder configurationBuilder)
    {
        // SQLite has no date type that sorts or compares; store instants as UTC ticks so queries
        // (expiry, audit windows) can filter on them in the database.
        configurationBuilder.Properties<DateTimeOffset>().HaveConversion<DateTimeOffsetToBinaryConverter>();
    }
}

public sealed class PostgreSqlCafConnectDbContext(DbContextOptions<PostgreSqlCafConnectDbContext> options) : CafConnectDbContext(options);

public sealed class SqlServerCafConnectDbContext(DbContextOptions<SqlServerCafConnectDbContext> options) : CafConnectDbContext(options);

// Design-time factories: `dotnet ef migrations add X --context <Provider>CafConnectDbContext`.
// The connection strings are placeholders; generating a migration does not connect.

public sealed class SqliteDesignTimeFactory : IDesignTimeDbContextFactory<SqliteCafConnectDbContext>
{
    public SqliteCafConnectDbContext CreateDbContext(string[] args) =>
        new(StorageRegistration.Configure(new DbContextOptionsBuilder<SqliteCafConnectDbContext>(), StorageProvider.Sqlite, "Data Source=design.db").Options);
}

public sealed class PostgreSqlDesignTimeFactory : IDesignTimeDbContextFactory<PostgreSqlCafConnectDbContext>
{
    public PostgreSqlCafConnectDbContext CreateDbContext(string[] args) =>
        new(StorageRegistration.Configure(new DbContextOptionsBuilder<PostgreSqlCafConnectDbContext>(), StorageProvider.PostgreSql, "Host=localhost;Database=design").Options);
}

public sealed class SqlServerDesignTimeFactory : IDesignTimeDbContextFactory<SqlServerCafConnectDbContext>
{
    public SqlServerCafConnectDbContext CreateDbContext(string[] args) =>
        new(StorageRegistration.Configure(new DbContextOptionsBuilder<SqlServerCafConnectDbContext>(), StorageProvider.SqlServer, "Server=localhost;Database=design;TrustServerCertificate=True").Options);
}
