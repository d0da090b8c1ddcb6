using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace CafConnect.Infrastructure.Persistence.Migrations.PostgreSql
{
    /// <inheritdoc />
    public partial class PersonalPhoneCode : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "PhoneCodeHash",
                table: "Persons",
                type: "character varying(256)",
                maxLength: 256,
                nullable: true);

            migrationBuilder.AddColumn<DateTimeOffset>(
                name: "PhoneCodeSetAt",
                table: "Persons",
                type: "timestamp with time zone",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "PendingLegacySecretHash",
                table: "Households",
                type: "character varying(256)",
                maxLength: 256,
                nullable: true);

            migrationBuilder.AddColumn<DateTimeOffset>(
                name: "PendingLegacySecretIssuedAt",
                table: "Households",
                type: "timestamp with time zone",
                nullable: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "PhoneCodeHash",
                table: "Persons");

            migrationBuilder.DropColumn(
                name: "PhoneCodeSetAt",
                table: "Persons");

            migrationBuilder.DropColumn(
                name: "PendingLegacySecretHash",
                table: "Households");

            migrationBuilder.DropColumn(
                name: "PendingLegacySecretIssuedAt",
                table: "Households");
        }
    }
}
