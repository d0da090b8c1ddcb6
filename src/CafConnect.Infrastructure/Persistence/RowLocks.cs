using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Storage;

namespace CafConnect.Infrastructure.Persistence;

/// <summary>How <see cref="RowLocks.LockAsync"/> locks the rows it finds.</summary>
public enum RowLockMode
{
    /// <summary>Others may read and share-lock the rows, not change or delete them (PostgreSQL <c>FOR SHARE</c>).</summary>
    Share,

    /// <summary>Nobody else may lock, change or delete the rows, nor reference them from a new row (PostgreSQL <c>FOR UPDATE</c>).</summary>
    Update,
}

/// <summary>
/// Row locks held until the transaction ends, for the few writes whose check must see what concurrent transactions
/// commit (docs/decisions.md #51, #52, #54): the rows matching every (property, value) pair of an entity are locked.
/// Table and column names come from the model, values go as parameters.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item>PostgreSQL: <c>FOR SHARE</c> / <c>FOR UPDATE</c>. <c>FOR UPDATE</c> also conflicts with the <c>FOR KEY SHARE</c>
/// lock a foreign-key check takes on the referenced row: an insert referencing the row waits for the transaction.</item>
/// <item>SQL Server: <c>HOLDLOCK, ROWLOCK</c> (a shared lock kept to the end) / <c>XLOCK, ROWLOCK</c> — a foreign-key check
/// takes a shared lock on the referenced row: an update lock would not stop it, XLOCK does. Not run here (no SQL
/// Server).</item>
/// <item>SQLite: no locking clause; its writers take turns, and the transaction already holds the database's write lock.
/// The rows are still read: the answer says whether they exist.</item>
/// </list>
/// </remarks>
public static class RowLocks
{
    /// <summary>Locks the matching rows until the transaction ends; true when there was at least one.</summary>
    public static async Task<bool> LockAsync(DbContext db, Type entity, IReadOnlyList<(string Property, object Value)> where, RowLockMode mode,
        CancellationToken cancellationToken)
    {
        if (db.Database.CurrentTransaction is null)
        {
            throw new InvalidOperationException("a row lock outside a transaction ends with its statement");
        }
        var entityType = db.Model.FindEntityType(entity) ?? throw new ArgumentException($"{entity.Name} is not in the model", nameof(entity));
        var sql = db.GetService<ISqlGenerationHelper>();
        var table = sql.DelimitIdentifier(entityType.GetTableName()!, entityType.GetSchema());
        var conditions = string.Join(" AND ", where.Select((w, i) =>
            $"{sql.DelimitIdentifier((entityType.FindProperty(w.Property) ?? throw new ArgumentException($"{entity.Name}.{w.Property} is not mapped", nameof(where))).GetColumnName())} = {{{i}}}"));
        var value = sql.DelimitIdentifier("Value");
        var statement = db.Database.IsNpgsql() ? $"SELECT 1 AS {value} FROM {table} WHERE {conditions} {(mode == RowLockMode.Share ? "FOR SHARE" : "FOR UPDATE")}"
            : db.Database.IsSqlServer() ? $"SELECT 1 AS {value} FROM {table} WITH ({(mode == RowLockMode.Share ? "HOLDLOCK" : "XLOCK")}, ROWLOCK) WHERE {conditions}"
            : $"SELECT 1 AS {value} FROM {table} WHERE {conditions}";
        // Not composed (ToList): a locking clause stays at the top of its statement.
        return (await db.Database.SqlQueryRaw<int>(statement, where.Select(w => w.Value).ToArray()).ToListAsync(cancellationToken)).Count > 0;
    }

    /// <summary>
    /// Locks, until the transaction ends, every row whose <paramref name="property"/> is one of <paramref name="values"/>,
    /// in the order of that property — the same order for every caller, so that two transactions locking overlapping
    /// sets never wait for each other crosswise (a deadlock). One statement on PostgreSQL (<c>= ANY</c>, an array
    /// parameter); lists of at most <see cref="ValuesPerStatement"/> parameters elsewhere (SQL Server takes 2,100 at most).
    /// Returns how many rows were found.
    /// </summary>
    public static async Task<int> LockEachAsync<T>(DbContext db, Type entity, string property, IReadOnlyCollection<T> values, RowLockMode mode,
        CancellationToken cancellationToken) where T : notnull
    {
        if (db.Database.CurrentTransaction is null)
        {
            throw new InvalidOperationException("a row lock outside a transaction ends with its statement");
        }
        if (values.Count == 0)
        {
            return 0;
        }
        var entityType = db.Model.FindEntityType(entity) ?? throw new ArgumentException($"{entity.Name} is not in the model", nameof(entity));
        var sql = db.GetService<ISqlGenerationHelper>();
        var table = sql.DelimitIdentifier(entityType.GetTableName()!, entityType.GetSchema());
        var column = sql.DelimitIdentifier((entityType.FindProperty(property) ?? throw new ArgumentException($"{entity.Name}.{property} is not mapped", nameof(property))).GetColumnName());
        var value = sql.DelimitIdentifier("Value");
        if (db.Database.IsNpgsql())
        {
            // The rows are locked as the sort hands them over: in the column's order.
            var statement = $"SELECT 1 AS {value} FROM {table} WHERE {column} = ANY({{0}}) ORDER BY {column} {(mode == RowLockMode.Share ? "FOR SHARE" : "FOR UPDATE")}";
            return (await db.Database.SqlQueryRaw<int>(statement, new object[] { values.ToArray() }).ToListAsync(cancellationToken)).Count;
        }
        var hint = db.Database.IsSqlServer() ? $" WITH ({(mode == RowLockMode.Share ? "HOLDLOCK" : "XLOCK")}, ROWLOCK)" : "";
        var found = 0;
        foreach (var chunk in values.Distinct().Order().Chunk(ValuesPerStatement))
        {
            var statement = $"SELECT 1 AS {value} FROM {table}{hint} WHERE {column} IN ({string.Join(", ", chunk.Select((_, i) => $"{{{i}}}"))}) ORDER BY {column}";
            found += (await db.Database.SqlQueryRaw<int>(statement, chunk.Cast<object>().ToArray()).ToListAsync(cancellationToken)).Count;
        }
        return found;
    }

    /// <summary>Values per statement of <see cref="LockEachAsync{T}"/> outside PostgreSQL.</summary>
    public const int ValuesPerStatement = 1000;
}
