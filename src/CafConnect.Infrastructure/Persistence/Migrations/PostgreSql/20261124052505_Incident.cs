using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace CafConnect.Infrastructure.Persistence.Migrations.PostgreSql
{
    /// <inheritdoc />
    public partial class Incident : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "ProviderSessions",
                columns: table => new
                {
                    Id = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    PersonId = table.Column<Guid>(type: "uuid", nullable: false),
                    CreatedAt = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    EndedAt = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    EndReason = table.Column<string>(type: "character varying(32)", maxLength: 32, nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_ProviderSessions", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "ProviderSessionClients",
                columns: table => new
                {
                    SessionId = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    ClientId = table.Column<string>(type: "character varying(100)", maxLength: 100, nullable: false),
                    FirstAuthorizedAt = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    LastAuthorizedAt = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    LogoutDeliveredAt = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    LogoutAttempts = table.Column<int>(type: "integer", nullable: false),
                    LastLogoutError = table.Column<string>(type: "character varying(500)", maxLength: 500, nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_ProviderSessionClients", x => new { x.SessionId, x.ClientId });
                    table.ForeignKey(
                        name: "FK_ProviderSessionClients_ProviderSessions_SessionId",
                        column: x => x.SessionId,
                        principalTable: "ProviderSessions",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateIndex(
                name: "IX_ProviderSessionClients_LastAuthorizedAt",
                table: "ProviderSessionClients",
                column: "LastAuthorizedAt");

            migrationBuilder.CreateIndex(
                name: "IX_ProviderSessions_CreatedAt",
                table: "ProviderSessions",
                column: "CreatedAt");

            migrationBuilder.CreateIndex(
                name: "IX_ProviderSessions_PersonId",
                table: "ProviderSessions",
                column: "PersonId");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "ProviderSessionClients");

            migrationBuilder.DropTable(
                name: "ProviderSessions");
        }
    }
}
