using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace CafConnect.Infrastructure.Persistence.Migrations.SqlServer
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
                type: "nvarchar(256)",
                maxLength: 256,
                nullable: true);

            migrationBuilder.AddColumn<DateTimeOffset>(
                name: "PhoneCodeSetAt",
                table: "Persons",
                type: "datetimeoffset",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "PendingLegacySecretHash",
                table: "Households",
                type: "nvarchar(256)",
                maxLength: 256,
                nullable: true);

            migrationBuilder.AddColumn<DateTimeOffset>(
                name: "PendingLegacySecretIssuedAt",
                table: "Households",
                type: "datetimeoffset",
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
