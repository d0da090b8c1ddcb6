using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace CafConnect.Infrastructure.Persistence.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class ImportFields : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "BirthCity",
                table: "Persons",
                type: "TEXT",
                maxLength: 100,
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "BirthCountry",
                table: "Persons",
                type: "TEXT",
                maxLength: 60,
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "PostalCode",
                table: "Persons",
                type: "TEXT",
                maxLength: 5,
                nullable: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "BirthCity",
                table: "Persons");

            migrationBuilder.DropColumn(
                name: "BirthCountry",
                table: "Persons");

            migrationBuilder.DropColumn(
                name: "PostalCode",
                table: "Persons");
        }
    }
}
