using CafConnect.Domain.Accounts;
using CafConnect.Domain.Households;
using CafConnect.Domain.Imports;
using CafConnect.Infrastructure.Persistence;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Npgsql;
using NpgsqlTypes;

namespace CafConnect.Bench.Previous;

/// <summary>
/// PostgreSQL path of the import: each batch is streamed with binary COPY into temporary tables, then merged with
/// INSERT … ON CONFLICT — a handful of statements per thousand files instead of one per row. Same semantics as the
/// portable path (AccountImporter.Apply): last row wins, a changed contact loses its verification.
/// </summary>
internal sealed class PreviousPostgreSqlBulkWriter(CafConnectDbContext db, TimeProvider clock)
{
    public async Task WriteAsync(IReadOnlyList<List<HouseholdImportRow>> batch, Dictionary<string, string> legacyHashes, CancellationToken cancellationToken)
    {
        var connection = (NpgsqlConnection)db.Database.GetDbConnection();
        if (connection.State != System.Data.ConnectionState.Open)
        {
            await db.Database.OpenConnectionAsync(cancellationToken);
        }
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var now = clock.GetUtcNow();

        await ExecuteAsync(connection, """
            CREATE TEMP TABLE import_persons (line int, nir varchar(13), provisional_id varchar(9), civility int, birth_name varchar(100),
              usage_name varchar(100), given_names varchar(200), birth_date date, birth_country varchar(60), birth_city varchar(100),
              postal_code varchar(5), mobile varchar(20), email varchar(254), new_id uuid, subject varchar(64)) ON COMMIT DROP;
            CREATE TEMP TABLE import_households (file_number varchar(7), legacy_hash varchar(256), new_id uuid) ON COMMIT DROP;
            CREATE TEMP TABLE import_members (file_number varchar(7), nir varchar(13), provisional_id varchar(9), role int) ON COMMIT DROP;
            """, now, cancellationToken);

        await using (var persons = await connection.BeginBinaryImportAsync(
            "COPY import_persons (line, nir, provisional_id, civility, birth_name, usage_name, given_names, birth_date, birth_country, birth_city, postal_code, mobile, email, new_id, subject) FROM STDIN (FORMAT BINARY)",
            cancellationToken))
        {
            foreach (var row in batch.SelectMany(h => h))
            {
                await persons.StartRowAsync(cancellationToken);
                await persons.WriteAsync(row.Line, NpgsqlDbType.Integer, cancellationToken);
                await WriteNullableAsync(persons, row.Nir, cancellationToken);
                await WriteNullableAsync(persons, row.ProvisionalId, cancellationToken);
                await persons.WriteAsync((int)row.Civility, NpgsqlDbType.Integer, cancellationToken);
                await persons.WriteAsync(row.BirthName, NpgsqlDbType.Varchar, cancellationToken);
                await WriteNullableAsync(persons, row.UsageName, cancellationToken);
                await persons.WriteAsync(row.GivenNames, NpgsqlDbType.Varchar, cancellationToken);
                await persons.WriteAsync(row.BirthDate, NpgsqlDbType.Date, cancellationToken);
                await WriteNullableAsync(persons, row.BirthCountry, cancellationToken);
                await WriteNullableAsync(persons, row.BirthCity, cancellationToken);
                await WriteNullableAsync(persons, row.PostalCode, cancellationToken);
                await WriteNullableAsync(persons, row.Mobile, cancellationToken);
                await WriteNullableAsync(persons, row.Email, cancellationToken);
                await persons.WriteAsync(Guid.NewGuid(), NpgsqlDbType.Uuid, cancellationToken);
                await persons.WriteAsync(PersonAccount.NewSubject(), NpgsqlDbType.Varchar, cancellationToken);
            }
            await persons.CompleteAsync(cancellationToken);
        }

        await using (var households = await connection.BeginBinaryImportAsync(
            "COPY import_households (file_number, legacy_hash, new_id) FROM STDIN (FORMAT BINARY)", cancellationToken))
        {
            foreach (var household in batch)
            {
                await households.StartRowAsync(cancellationToken);
                await households.WriteAsync(household[0].FileNumber, NpgsqlDbType.Varchar, cancellationToken);
                await WriteNullableAsync(households, legacyHashes.GetValueOrDefault(household[0].FileNumber), cancellationToken);
                await households.WriteAsync(Guid.NewGuid(), NpgsqlDbType.Uuid, cancellationToken);
            }
            await households.CompleteAsync(cancellationToken);
        }

        await using (var members = await connection.BeginBinaryImportAsync(
            "COPY import_members (file_number, nir, provisional_id, role) FROM STDIN (FORMAT BINARY)", cancellationToken))
        {
            foreach (var row in batch.SelectMany(h => h))
            {
                await members.StartRowAsync(cancellationToken);
                await members.WriteAsync(row.FileNumber, NpgsqlDbType.Varchar, cancellationToken);
                await WriteNullableAsync(members, row.Nir, cancellationToken);
                await WriteNullableAsync(members, row.ProvisionalId, cancellationToken);
                await members.WriteAsync((int)row.Role, NpgsqlDbType.Integer, cancellationToken);
            }
            await members.CompleteAsync(cancellationToken);
        }

        // One statement per identity kind; DISTINCT ON keeps the last row of a person present twice in the batch
        // (ON CONFLICT may not touch one row twice in a statement).
        foreach (var (key, conflict) in new[] { ("nir", "\"Nir\""), ("provisional_id", "\"ProvisionalId\"") })
        {
            await ExecuteAsync(connection, $"""
                INSERT INTO "Persons" ("Id", "Subject", "Nir", "ProvisionalId", "Civility", "BirthName", "UsageName", "GivenNames", "BirthDate",
                  "BirthCountry", "BirthCity", "PostalCode", "MobilePhone", "MobilePhoneVerified", "Email", "EmailVerified",
                  "CredentialKind", "CreatedAt", "ConcurrencyStamp")
                SELECT DISTINCT ON ({key}) new_id, subject, nir, provisional_id, civility, birth_name, usage_name, given_names, birth_date,
                  birth_country, birth_city, postal_code, mobile, false, email, false, {(int)CredentialKind.None}, @now, gen_random_uuid()
                FROM import_persons WHERE {key} IS NOT NULL ORDER BY {key}, line DESC
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
                  "ConcurrencyStamp" = gen_random_uuid();
                """, now, cancellationToken);
        }

        await ExecuteAsync(connection, """
            INSERT INTO "Households" ("Id", "FileNumber", "LegacySecretHash", "CreatedAt")
            SELECT new_id, file_number, legacy_hash, @now FROM import_households
            ON CONFLICT ("FileNumber") DO UPDATE SET "LegacySecretHash" = COALESCE(EXCLUDED."LegacySecretHash", "Households"."LegacySecretHash");
            """, now, cancellationToken);

        foreach (var (key, column) in new[] { ("nir", "\"Nir\""), ("provisional_id", "\"ProvisionalId\"") })
        {
            await ExecuteAsync(connection, $"""
                INSERT INTO "HouseholdMemberships" ("Id", "HouseholdId", "PersonId", "Role", "Delegated", "JoinedAt")
                SELECT gen_random_uuid(), h."Id", p."Id", m.role, false, @now
                FROM import_members m
                JOIN "Households" h ON h."FileNumber" = m.file_number
                JOIN "Persons" p ON p.{column} = m.{key}
                WHERE m.{key} IS NOT NULL
                ON CONFLICT ("HouseholdId", "PersonId") DO UPDATE SET "Role" = EXCLUDED."Role";
                """, now, cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
    }

    private static async Task WriteNullableAsync(NpgsqlBinaryImporter importer, string? value, CancellationToken cancellationToken)
    {
        if (value is null)
        {
            await importer.WriteNullAsync(cancellationToken);
        }
        else
        {
            await importer.WriteAsync(value, NpgsqlDbType.Varchar, cancellationToken);
        }
    }

    private async Task ExecuteAsync(NpgsqlConnection connection, string sql, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection, (NpgsqlTransaction?)db.Database.CurrentTransaction?.GetDbTransaction());
        command.Parameters.AddWithValue("now", now);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
