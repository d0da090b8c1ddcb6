using CafConnect.Domain.Accounts;
using CafConnect.Domain.Households;
using CafConnect.Domain.Imports;
using CafConnect.Infrastructure.Persistence;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using System.Text;
using Npgsql;
using NpgsqlTypes;

namespace CafConnect.Infrastructure.Imports;

/// <summary>
/// PostgreSQL path of the import: each batch is streamed with one binary COPY of its rows and one of its files into
/// temporary tables, then merged with INSERT … ON CONFLICT in one round trip. Same semantics as the portable path
/// (<see cref="AccountImporter.Apply"/>): last row wins, a changed contact loses its verification, an existing
/// membership keeps its role. The rows come checked against the store (ImportReconciliation): a verified contact and
/// an existing file's legacy code are already left out of them.
/// </summary>
/// <remarks>
/// The merge never joins against the whole Persons or Households table: the upserts return the ids they inserted or
/// matched (RETURNING) into small tables, and the memberships are built from those. (Joining the live tables made
/// PostgreSQL scan them whole for every batch, the statistics of a freshly loaded table being stale: an import that
/// slowed down as the base grew.) New rows get time-ordered ids (UUIDv7, as EF Core's PostgreSQL provider generates
/// them), so the primary-key and foreign-key indexes grow at their end instead of at random pages; subjects stay random.
/// </remarks>
internal sealed class PostgreSqlBulkWriter(CafConnectDbContext db, TimeProvider clock)
{
    /// <summary>One batch in one transaction, through the retrying execution strategy (it accepts transactions only when
    /// opened inside it; a retried batch starts over in a new transaction, the merge being upserts).</summary>
    /// <param name="checkAgain">Run first in the transaction: locks the batch's files and returns the files still to write
    /// (docs/decisions.md #57).</param>
    /// <returns>The files written.</returns>
    public Task<List<List<HouseholdImportRow>>> WriteAsync(Func<CancellationToken, Task<List<List<HouseholdImportRow>>>> checkAgain,
        Dictionary<string, string> legacyHashes, CancellationToken cancellationToken) =>
        db.Database.CreateExecutionStrategy().ExecuteAsync(ct => WriteInTransactionAsync(checkAgain, legacyHashes, ct), cancellationToken);

    private async Task<List<List<HouseholdImportRow>>> WriteInTransactionAsync(Func<CancellationToken, Task<List<List<HouseholdImportRow>>>> checkAgain,
        Dictionary<string, string> legacyHashes, CancellationToken cancellationToken)
    {
        var connection = (NpgsqlConnection)db.Database.GetDbConnection();
        if (connection.State != System.Data.ConnectionState.Open)
        {
            await db.Database.OpenConnectionAsync(cancellationToken);
        }
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var batch = await checkAgain(cancellationToken);
        if (batch.Count == 0)
        {
            return batch;
        }
        var now = clock.GetUtcNow();

        // jit off: the temporary tables have no statistics, so the planner overestimates the merge and compiles it (tens of
        // milliseconds per batch for a statement that runs in a few hundred).
        await ExecuteAsync(connection, """
            SET LOCAL jit = off;
            CREATE TEMP TABLE import_rows (line int, file_number varchar(7), role int, nir varchar(13), provisional_id varchar(9),
              civility int, birth_name varchar(100), usage_name varchar(100), given_names varchar(200), birth_date date,
              birth_country varchar(60), birth_city varchar(100), postal_code varchar(5), mobile varchar(20), email varchar(254),
              person_id uuid, subject varchar(64), membership_id uuid) ON COMMIT DROP;
            CREATE TEMP TABLE import_households (file_number varchar(7), legacy_hash varchar(256), household_id uuid) ON COMMIT DROP;
            CREATE TEMP TABLE import_person_ids (person_key varchar(13), id uuid) ON COMMIT DROP;
            CREATE TEMP TABLE import_household_ids (file_number varchar(7), id uuid) ON COMMIT DROP;
            """, now, cancellationToken);

        await using (var rows = await connection.BeginBinaryImportAsync(
            "COPY import_rows (line, file_number, role, nir, provisional_id, civility, birth_name, usage_name, given_names, birth_date, birth_country, birth_city, postal_code, mobile, email, person_id, subject, membership_id) FROM STDIN (FORMAT BINARY)",
            cancellationToken))
        {
            WriteRows(rows, batch);
            await rows.CompleteAsync(cancellationToken);
        }

        await using (var households = await connection.BeginBinaryImportAsync(
            "COPY import_households (file_number, legacy_hash, household_id) FROM STDIN (FORMAT BINARY)", cancellationToken))
        {
            WriteHouseholds(households, batch, legacyHashes);
            await households.CompleteAsync(cancellationToken);
        }

        // One round trip. Persons: one statement per identity kind; DISTINCT ON keeps the last row of a person present
        // twice in the batch (ON CONFLICT may not touch one row twice in a statement). Memberships: DISTINCT ON for the
        // same reason, should two identifiers of the batch lead to the same person.
        var merge = new StringBuilder();
        foreach (var (key, conflict) in new[] { ("nir", "\"Nir\""), ("provisional_id", "\"ProvisionalId\"") })
        {
            merge.Append($"""
                WITH upserted AS (
                  INSERT INTO "Persons" ("Id", "Subject", "Nir", "ProvisionalId", "Civility", "BirthName", "UsageName", "GivenNames", "BirthDate",
                    "BirthCountry", "BirthCity", "PostalCode", "MobilePhone", "MobilePhoneVerified", "Email", "EmailVerified",
                    "CredentialKind", "CreatedAt", "ConcurrencyStamp")
                  SELECT DISTINCT ON ({key}) person_id, subject, nir, provisional_id, civility, birth_name, usage_name, given_names, birth_date,
                    birth_country, birth_city, postal_code, mobile, false, email, false, {(int)CredentialKind.None}, @now, gen_random_uuid()
                  FROM import_rows WHERE {key} IS NOT NULL ORDER BY {key}, line DESC
                  ON CONFLICT ({conflict}) DO UPDATE SET
                    "Civility" = EXCLUDED."Civility", "BirthName" = EXCLUDED."BirthName", "UsageName" = EXCLUDED."UsageName",
                    "GivenNames" = EXCLUDED."GivenNames", "BirthDate" = EXCLUDED."BirthDate", "BirthCountry" = EXCLUDED."BirthCountry",
                    "BirthCity" = EXCLUDED."BirthCity", "PostalCode" = EXCLUDED."PostalCode",
                    "MobilePhoneVerified" = CASE WHEN EXCLUDED."MobilePhone" IS NULL OR EXCLUDED."MobilePhone" = "Persons"."MobilePhone"
                                                 THEN "Persons"."MobilePhoneVerified" ELSE false END,
                    "MobilePhone" = COALESCE(EXCLUDED."MobilePhone", "Persons"."MobilePhone"),
                    "EmailVerified" = CASE WHEN EXCLUDED."Email" IS NULL OR lower(EXCLUDED."Email") = lower("Persons"."Email")
                                           THEN "Persons"."EmailVerified" ELSE false END,
                    "Email" = COALESCE(EXCLUDED."Email", "Persons"."Email"),
                    "ConcurrencyStamp" = gen_random_uuid()
                  RETURNING "Id", {conflict})
                INSERT INTO import_person_ids (person_key, id) SELECT {conflict}, "Id" FROM upserted;

                """);
        }
        merge.Append("""
            WITH upserted AS (
              INSERT INTO "Households" ("Id", "FileNumber", "LegacySecretHash", "CreatedAt", "Pending")
              SELECT household_id, file_number, legacy_hash, @now, false FROM import_households
              ON CONFLICT ("FileNumber") DO UPDATE SET "LegacySecretHash" = COALESCE(EXCLUDED."LegacySecretHash", "Households"."LegacySecretHash")
              RETURNING "Id", "FileNumber")
            INSERT INTO import_household_ids (file_number, id) SELECT "FileNumber", "Id" FROM upserted;

            INSERT INTO "HouseholdMemberships" ("Id", "HouseholdId", "PersonId", "Role", "Delegated", "JoinedAt")
            SELECT DISTINCT ON (h.id, p.id) r.membership_id, h.id, p.id, r.role, false, @now
            FROM import_rows r
            JOIN import_household_ids h ON h.file_number = r.file_number
            JOIN import_person_ids p ON p.person_key = COALESCE(r.nir, r.provisional_id)
            ORDER BY h.id, p.id, r.line DESC
            ON CONFLICT ("HouseholdId", "PersonId") DO NOTHING;
            """);
        await ExecuteAsync(connection, merge.ToString(), now, cancellationToken);

        await transaction.CommitAsync(cancellationToken);
        return batch;
    }

    // The rows are encoded with the synchronous writes: a million rows of 18 fields through asynchronous calls cost the
    // client more CPU than the encoding itself (the importer still flushes its buffer to the server as it fills).
    private static void WriteRows(NpgsqlBinaryImporter rows, IReadOnlyList<List<HouseholdImportRow>> batch)
    {
        foreach (var household in batch)
        {
            foreach (var row in household)
            {
                rows.StartRow();
                rows.Write(row.Line, NpgsqlDbType.Integer);
                rows.Write(row.FileNumber, NpgsqlDbType.Varchar);
                rows.Write((int)row.Role, NpgsqlDbType.Integer);
                WriteNullable(rows, row.Nir);
                WriteNullable(rows, row.ProvisionalId);
                rows.Write((int)row.Civility, NpgsqlDbType.Integer);
                rows.Write(row.BirthName, NpgsqlDbType.Varchar);
                WriteNullable(rows, row.UsageName);
                rows.Write(row.GivenNames, NpgsqlDbType.Varchar);
                rows.Write(row.BirthDate, NpgsqlDbType.Date);
                WriteNullable(rows, row.BirthCountry);
                WriteNullable(rows, row.BirthCity);
                WriteNullable(rows, row.PostalCode);
                WriteNullable(rows, row.Mobile);
                WriteNullable(rows, row.Email);
                rows.Write(Guid.CreateVersion7(), NpgsqlDbType.Uuid);
                rows.Write(PersonAccount.NewSubject(), NpgsqlDbType.Varchar);
                rows.Write(Guid.CreateVersion7(), NpgsqlDbType.Uuid);
            }
        }
    }

    private static void WriteHouseholds(NpgsqlBinaryImporter households, IReadOnlyList<List<HouseholdImportRow>> batch, Dictionary<string, string> legacyHashes)
    {
        foreach (var household in batch)
        {
            households.StartRow();
            households.Write(household[0].FileNumber, NpgsqlDbType.Varchar);
            // A code the check under the lock left out (the file exists by now) is not set, though hashed before.
            WriteNullable(households, household.Any(r => r.LegacySecret is not null) ? legacyHashes.GetValueOrDefault(household[0].FileNumber) : null);
            households.Write(Guid.CreateVersion7(), NpgsqlDbType.Uuid);
        }
    }

    private static void WriteNullable(NpgsqlBinaryImporter importer, string? value)
    {
        if (value is null)
        {
            importer.WriteNull();
        }
        else
        {
            importer.Write(value, NpgsqlDbType.Varchar);
        }
    }

    private async Task ExecuteAsync(NpgsqlConnection connection, string sql, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection, (NpgsqlTransaction?)db.Database.CurrentTransaction?.GetDbTransaction());
        command.Parameters.AddWithValue("now", now);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
