using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace CafConnect.Infrastructure.Persistence.Migrations.Sqlite
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
                type: "TEXT",
                maxLength: 256,
                nullable: true);

            migrationBuilder.AddColumn<long>(
                name: "PhoneCodeSetAt",
                table: "Persons",
                type: "INTEGER",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "PendingLegacySecretHash",
                table: "Households",
                type: "TEXT",
                maxLength: 256,
                nullable: true);

            migrationBuilder.AddColumn<long>(
                name: "PendingLegacySecretIssuedAt",
                table: "Households",
                type: "INTEGER",
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
