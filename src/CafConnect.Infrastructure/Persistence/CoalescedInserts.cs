using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.ChangeTracking;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace CafConnect.Infrastructure.Persistence;

/// <summary>
/// Group commit of the inserts-only writes of concurrent grants on PostgreSQL (docs/decisions.md #48). A
/// client-credentials grant writes two rows (its access token, its audit line); written by each request on its own, that
/// is one round trip, two INSERT statements and one transaction per grant, and EF Core's save machinery around them. Here
/// every request hands its rows over and waits; one writer takes whatever has gathered meanwhile and stores it with one
/// multi-row <c>INSERT … SELECT FROM unnest(…)</c> per table, all in one Npgsql batch: one round trip and one implicit
/// transaction for all of them (if any row fails, none is kept). A request answers only once its rows are stored, so
/// "a token is handed out if and only if it and its audit line are stored" still holds.
/// </summary>
/// <remarks>
/// A write that fails for any reason is reported to each request of the batch, which then saves its own rows as before
/// (<see cref="TokenWriteBatch.FlushAsync"/>): a row that cannot be stored (the token of a client deleted meanwhile)
/// fails only its own request, with EF Core's exception, and the provider's retrying execution strategy applies. If the
/// server had in fact committed the batch before the connection broke, the request's own save finds its token's key taken
/// and fails: an error, never a token that is not stored.
/// </remarks>
public class CoalescedInserts : IAsyncDisposable, IDisposable
{
    /// <summary>Rows of one request at most in one write: a bound on the statement's arrays, far above what gathers in practice.</summary>
    public const int MaxRowsPerWrite = 512;

    private readonly string _connectionString;
    private readonly ILogger<CoalescedInserts> _logger;
    private readonly Channel<PendingWrite> _queue = Channel.CreateUnbounded<PendingWrite>(new UnboundedChannelOptions { SingleReader = true });
    private readonly ConcurrentDictionary<IEntityType, TableInsert?> _tables = new();
    private readonly Task _writer;
    private readonly Task _writesMayStart;
    private readonly long _bypassAfterFailureMs;
    private long _bypassUntil;
    private int _writes;

    /// <summary>
    /// After a write that failed without an answer from the server, requests save their own rows for this long. A store that does not answer (a network
    /// partition: each attempt waits for the connection timeout) would otherwise make every request wait for a shared
    /// attempt and then for its own; bypassed, an outage costs each request what it cost before the group commit.
    /// </summary>
    public static readonly TimeSpan BypassAfterFailure = TimeSpan.FromSeconds(5);

    public CoalescedInserts(StorageSettings settings, ILogger<CoalescedInserts> logger)
        : this(settings, logger, Task.CompletedTask, BypassAfterFailure)
    {
    }

    /// <summary>
    /// For tests: the writer waits for <paramref name="writesMayStart"/>, so that requests queued before it share a write;
    /// <paramref name="bypassAfterFailure"/> replaces <see cref="BypassAfterFailure"/>.
    /// </summary>
    protected internal CoalescedInserts(StorageSettings settings, ILogger<CoalescedInserts> logger, Task writesMayStart, TimeSpan bypassAfterFailure)
    {
        _writesMayStart = writesMayStart;
        _bypassAfterFailureMs = (long)bypassAfterFailure.TotalMilliseconds;
        if (settings.Provider != StorageProvider.PostgreSql)
        {
            throw new InvalidOperationException("coalesced inserts are written with PostgreSQL's unnest");
        }
        _connectionString = PostgreSqlConnectionDefaults.Apply(settings.ConnectionString);
        _logger = logger;
        _writer = Task.Run(WriteLoopAsync);
    }

    /// <summary>Whether every one of <paramref name="entries"/> (the rows a request added) can be written here.</summary>
    public bool CanWrite(IReadOnlyList<EntityEntry> entries)
    {
        foreach (var entry in entries)
        {
            if (entry.State != EntityState.Added || TableOf(entry.Metadata) is null)
            {
                return false;
            }
            // A key the caller set itself would be written by EF Core; here the server's identity gives it.
            if (entry.Metadata.FindPrimaryKey()!.Properties is [var key] && TableInsert.IsServerIdentityKey(key) && !entry.Property(key).IsTemporary)
            {
                return false;
            }
        }
        if (entries.Count == 0 || entries.Count > MaxRowsPerWrite)
        {
            return false;
        }
        // One insert per table, in no particular order: a row referring to another row of the same write (an
        // authorization and its code) would meet its foreign key before its parent exists. EF Core orders such a save.
        var types = entries.Select(e => e.Metadata).ToHashSet();
        return !types.Any(type => type.GetForeignKeys().Any(fk => types.Contains(fk.PrincipalEntityType)));
    }

    /// <summary>
    /// Stores the rows of <paramref name="entries"/> (values read now, on the caller's thread: they belong to its
    /// context) with other requests' rows. True once they are stored; false if the write failed, and then nothing of
    /// them is stored unless the server committed a batch whose answer was lost (the caller's own save then fails).
    /// </summary>
    public async Task<bool> TryInsertAsync(IReadOnlyList<EntityEntry> entries)
    {
        if (IsBypassed)
        {
            return false;
        }
        var rows = new PendingRow[entries.Count];
        try
        {
            for (var i = 0; i < entries.Count; i++)
            {
                var table = TableOf(entries[i].Metadata)!;
                rows[i] = new PendingRow(table, table.ValuesOf(entries[i]));
            }
        }
        catch (Exception exception)
        {
            // A value this writer cannot convert: EF Core's own save stores it or reports why.
            _logger.LogDebug(exception, "Rows not coalesced; the request saves them itself");
            return false;
        }
        var pending = new PendingWrite(rows);
        if (!_queue.Writer.TryWrite(pending))
        {
            return false;
        }
        return await pending.Stored.Task.ConfigureAwait(false);
    }

    /// <summary>Writes attempted so far (each holding the rows of one or more requests).</summary>
    internal int Writes => Volatile.Read(ref _writes);

    private bool IsBypassed => Environment.TickCount64 < Volatile.Read(ref _bypassUntil);

    private TableInsert? TableOf(IEntityType entityType) => _tables.GetOrAdd(entityType, TableInsert.For);

    private async Task WriteLoopAsync()
    {
        await _writesMayStart.ConfigureAwait(false);
        var batch = new List<PendingWrite>();
        while (await _queue.Reader.WaitToReadAsync().ConfigureAwait(false))
        {
            batch.Clear();
            var rows = 0;
            while (rows < MaxRowsPerWrite && _queue.Reader.TryRead(out var pending))
            {
                batch.Add(pending);
                rows += pending.Rows.Length;
            }
            var stored = false;
            if (!IsBypassed)
            {
                Interlocked.Increment(ref _writes);
                try
                {
                    await WriteAsync(batch).ConfigureAwait(false);
                    stored = true;
                }
                catch (Exception exception)
                {
                    // Each request saves its own rows instead, with EF Core's errors and retries: no detail is lost here.
                    _logger.LogDebug(exception, "A coalesced insert of {Requests} requests failed; each saves its own rows", batch.Count);
                    if (exception is not PostgresException)
                    {
                        // The store did not answer (a server's refusal of a row says it is there): bypass for a while.
                        Volatile.Write(ref _bypassUntil, Environment.TickCount64 + _bypassAfterFailureMs);
                    }
                }
            }
            foreach (var pending in batch)
            {
                pending.Stored.TrySetResult(stored);
            }
        }
    }

    private async Task WriteAsync(List<PendingWrite> writes)
    {
        var byTable = new Dictionary<TableInsert, List<object?[]>>();
        foreach (var write in writes)
        {
            foreach (var row in write.Rows)
            {
                if (!byTable.TryGetValue(row.Table, out var list))
                {
                    byTable[row.Table] = list = [];
                }
                list.Add(row.Values);
            }
        }
        await using var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync().ConfigureAwait(false);
        // One batch without a transaction: PostgreSQL runs it as one implicit transaction (decision 47).
        await using var command = new NpgsqlBatch(connection);
        foreach (var (table, values) in byTable)
        {
            command.BatchCommands.Add(table.Command(values));
        }
        await ExecuteAsync(command).ConfigureAwait(false);
    }

    /// <summary>Sends one write (overridden by tests that make the store fail).</summary>
    protected virtual Task ExecuteAsync(NpgsqlBatch batch) => batch.ExecuteNonQueryAsync();

    /// <summary>Stops taking rows and waits for the writes already queued (a host stopping: their requests are answered).</summary>
    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _writer.ConfigureAwait(false);
        GC.SuppressFinalize(this);
    }

    /// <summary>
    /// The same for a container disposed synchronously (a tool's): without it, such a container refuses to dispose a
    /// singleton that is only asynchronously disposable. Waits a bounded time: the queued writes finish in milliseconds.
    /// </summary>
    public void Dispose()
    {
        _queue.Writer.TryComplete();
        _writer.Wait(TimeSpan.FromSeconds(10));
        GC.SuppressFinalize(this);
    }

    private sealed record PendingRow(TableInsert Table, object?[] Values);

    private sealed class PendingWrite(PendingRow[] rows)
    {
        public PendingRow[] Rows { get; } = rows;
        public TaskCompletionSource<bool> Stored { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>One table's multi-row insert, built from EF Core's model (names, store types, value converters).</summary>
    private sealed class TableInsert
    {
        /// <summary>
        /// One column, as the model says once for every row: its property, the converter to its provider value, the
        /// element type of its array parameter (nullable for value types) and that array's PostgreSQL type.
        /// </summary>
        private sealed record Column(IProperty Property, ValueConverter? Converter, Type ElementType, string ArrayType);

        private readonly Column[] _columns;
        private readonly string _sql;

        private TableInsert(Column[] columns, string sql)
        {
            _columns = columns;
            _sql = sql;
        }

        /// <summary>A single integer key generated on add: an identity column on PostgreSQL (EF Core's convention).</summary>
        public static bool IsServerIdentityKey(IProperty property) =>
            property.IsPrimaryKey() && property.ValueGenerated == ValueGenerated.OnAdd
            && property.DeclaringType is IEntityType { } owner && owner.FindPrimaryKey()!.Properties.Count == 1
            && (property.ClrType == typeof(long) || property.ClrType == typeof(int));

        /// <summary>
        /// The insert of <paramref name="entityType"/>'s rows, or null when this writer cannot store them as EF Core would:
        /// a type that is not one plain table (inheritance, owned or split entities), or whose values the server generates
        /// other than an identity key (which is left to the server, as EF Core's insert does).
        /// </summary>
        public static TableInsert? For(IEntityType entityType)
        {
            if (entityType.GetTableName() is not { } tableName || entityType.BaseType is not null || entityType.GetDerivedTypes().Any()
                || entityType.IsOwned() || entityType.GetNavigations().Any(n => n.TargetEntityType.IsOwned()))
            {
                return null;
            }
            var store = StoreObjectIdentifier.Table(tableName, entityType.GetSchema());
            var columns = new List<Column>();
            var names = new List<string>();
            var casts = new List<string>();
            foreach (var property in entityType.GetProperties())
            {
                if (property.GetColumnName(store) is not { } name)
                {
                    return null;
                }
                if (property.ValueGenerated != ValueGenerated.Never)
                {
                    if (IsServerIdentityKey(property))
                    {
                        // The audit line's identity key is the server's to give; EF Core leaves it out of its insert too.
                        continue;
                    }
                    if (!(property.IsPrimaryKey() && (property.ClrType == typeof(Guid) || property.ClrType == typeof(string))))
                    {
                        // Keys EF Core generates on Add (a GUID) are written as they are; any other value the server would
                        // compute (a default, a computed column) is not handled here: such a type is saved by EF Core.
                        return null;
                    }
                }
                var mapping = property.GetRelationalTypeMapping();
                var providerType = mapping.Converter?.ProviderClrType ?? property.ClrType;
                providerType = Nullable.GetUnderlyingType(providerType) ?? providerType;
                var elementType = providerType.IsValueType ? typeof(Nullable<>).MakeGenericType(providerType) : providerType;
                columns.Add(new Column(property, mapping.Converter, elementType, (mapping.StoreTypeNameBase ?? mapping.StoreType) + "[]"));
                names.Add(Quote(name));
                casts.Add($"${casts.Count + 1}::{mapping.StoreType}[]");
            }
            var schema = entityType.GetSchema();
            var target = schema is null ? Quote(tableName) : $"{Quote(schema)}.{Quote(tableName)}";
            var sql = $"INSERT INTO {target} ({string.Join(", ", names)}) SELECT * FROM unnest({string.Join(", ", casts)})";
            return new TableInsert([.. columns], sql);
        }

        public object?[] ValuesOf(EntityEntry entry)
        {
            var values = new object?[_columns.Length];
            for (var i = 0; i < _columns.Length; i++)
            {
                var value = entry.Property(_columns[i].Property).CurrentValue;
                values[i] = value is not null && _columns[i].Converter is { } converter ? converter.ConvertToProvider(value) : value;
            }
            return values;
        }

        public NpgsqlBatchCommand Command(List<object?[]> rows)
        {
            var command = new NpgsqlBatchCommand(_sql);
            for (var column = 0; column < _columns.Length; column++)
            {
                var array = Array.CreateInstance(_columns[column].ElementType, rows.Count);
                for (var row = 0; row < rows.Count; row++)
                {
                    array.SetValue(rows[row][column], row);
                }
                command.Parameters.Add(new NpgsqlParameter { Value = array, DataTypeName = _columns[column].ArrayType });
            }
            return command;
        }

        private static string Quote(string identifier) => "\"" + identifier.Replace("\"", "\"\"") + "\"";
    }
}
