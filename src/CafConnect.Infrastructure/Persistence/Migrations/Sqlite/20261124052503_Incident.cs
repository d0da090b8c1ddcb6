using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace CafConnect.Infrastructure.Persistence.Migrations.Sqlite
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
                    Id = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    PersonId = table.Column<Guid>(type: "TEXT", nullable: false),
                    CreatedAt = table.Column<long>(type: "INTEGER", nullable: false),
                    EndedAt = table.Column<long>(type: "INTEGER", nullable: true),
                    EndReason = table.Column<string>(type: "TEXT", maxLength: 32, nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_ProviderSessions", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "ProviderSessionClients",
                columns: table => new
                {
                    SessionId = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    ClientId = table.Column<string>(type: "TEXT", maxLength: 100, nullable: false),
                    FirstAuthorizedAt = table.Column<long>(type: "INTEGER", nullable: false),
                    LastAuthorizedAt = table.Column<long>(type: "INTEGER", nullable: false),
                    LogoutDeliveredAt = table.Column<long>(type: "INTEGER", nullable: true),
                    LogoutAttempts = table.Column<int>(type: "INTEGER", nullable: false),
                    LastLogoutError = table.Column<string>(type: "TEXT", maxLength: 500, nullable: true)
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
