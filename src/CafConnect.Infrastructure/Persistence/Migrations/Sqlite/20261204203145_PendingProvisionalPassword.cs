using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace CafConnect.Infrastructure.Persistence.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class PendingProvisionalPassword : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "PendingProvisionalPasswordHash",
                table: "Persons",
                type: "TEXT",
                maxLength: 256,
                nullable: true);

            migrationBuilder.AddColumn<long>(
                name: "PendingProvisionalPasswordIssuedAt",
                table: "Persons",
                type: "INTEGER",
                nullable: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "PendingProvisionalPasswordHash",
                table: "Persons");

            migrationBuilder.DropColumn(
                name: "PendingProvisionalPasswordIssuedAt",
                table: "Persons");
        }
    }
}
