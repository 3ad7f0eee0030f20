#include "audit/postgres_audit_table.h"

#include "absl/strings/str_cat.h"
#include "postgres/postgres_connection.h"

namespace loan_gateway {
namespace {

// A chain's lines, in order, verified as a file of them would be.
absl::StatusOr<AuditHead> VerifyChain(PostgresConnection& db,
                                      const std::string& chain) {
  absl::StatusOr<PostgresRows> rows = db.Query(
      "SELECT line FROM audit_log WHERE chain = $1 ORDER BY seq", {chain});
  if (!rows.ok()) return rows.status();
  std::string text;
  for (int i = 0; i < rows->size(); ++i) text += rows->At(i, 0).value_or("");
  return VerifyAuditText(text);
}

}  // namespace

absl::StatusOr<std::vector<AuditChainHead>> VerifyAuditTable(
    const std::string& url, const std::string& password_file) {
  absl::StatusOr<std::unique_ptr<PostgresConnection>> db =
      PostgresConnection::Open(url, {.password_file = password_file});
  if (!db.ok()) return db.status();
  absl::StatusOr<PostgresRows> chains =
      (*db)->Query("SELECT DISTINCT chain FROM audit_log ORDER BY chain");
  if (!chains.ok()) return chains.status();
  std::vector<AuditChainHead> heads;
  for (int i = 0; i < chains->size(); ++i) {
    const std::string chain = chains->At(i, 0).value_or("");
    absl::StatusOr<AuditHead> head = VerifyChain(**db, chain);
    if (!head.ok()) {
      return absl::Status(
          head.status().code(),
          absl::StrCat("chain ", chain, ": ", head.status().message()));
    }
    heads.push_back({chain, *head});
  }
  return heads;
}

}  // namespace loan_gateway
