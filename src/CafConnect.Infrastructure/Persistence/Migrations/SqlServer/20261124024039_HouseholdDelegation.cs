using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace CafConnect.Infrastructure.Persistence.Migrations.SqlServer
{
    /// <inheritdoc />
    public partial class HouseholdDelegation : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<DateTimeOffset>(
                name: "DelegationChoiceAt",
                table: "HouseholdMemberships",
                type: "datetimeoffset",
                nullable: true);

            migrationBuilder.AddColumn<DateTimeOffset>(
                name: "DelegationStepSkippedAt",
                table: "HouseholdMemberships",
                type: "datetimeoffset",
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
