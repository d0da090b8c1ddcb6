using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace CafConnect.Infrastructure.Persistence.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class HouseholdDelegation : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<long>(
                name: "DelegationChoiceAt",
                table: "HouseholdMemberships",
                type: "INTEGER",
                nullable: true);

            migrationBuilder.AddColumn<long>(
                name: "DelegationStepSkippedAt",
                table: "HouseholdMemberships",
                type: "INTEGER",
                nullable: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "DelegationChoiceAt",
                table: "HouseholdMemberships");

            migrationBuilder.DropColumn(
                name: "DelegationStepSkippedAt",
                table: "HouseholdMemberships");
        }
    }
}
