#include "audit/postgres_audit_sink.h"

#include <cstdlib>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "audit/audit_line.h"
#include "postgres/postgres_connection.h"

namespace loan_gateway {
namespace {

constexpr char kSchema[] = R"sql(
CREATE TABLE IF NOT EXISTS audit_log (
  chain  TEXT COLLATE "C" NOT NULL,
  seq    BIGINT NOT NULL,
  sha256 TEXT NOT NULL,
  line   TEXT NOT NULL,
  PRIMARY KEY (chain, seq)
);
)sql";

absl::Status SinkError(const std::string& name, const absl::Status& status) {
  return absl::UnavailableError(absl::StrCat(name, ": ", status.message()));
}

// A chain's lines, in order, verified as a file of them would be.
absl::StatusOr<AuditHead> VerifyChain(PostgresConnection& db,
                                      const std::string& chain) {
  absl::StatusOr<PostgresRows> rows = db.Query(
      "SELECT line FROM audit_log WHERE chain = $1 ORDER BY seq", {chain});
  if (!rows.ok()) return rows.status();
  std::string text;
  for (int i = 0; i < rows->size(); ++i) text += rows->At(i, 0).value_or("");
  std::istringstream in(text);
  return VerifyAuditChain(in);
}

}  // namespace

absl::StatusOr<std::unique_ptr<PostgresAuditSink>> PostgresAuditSink::Open(
    const std::string& url, const std::string& password_file,
    std::string chain) {
  const std::string name = absl::StrCat("table audit_log, chain ", chain);
  absl::StatusOr<std::unique_ptr<PostgresConnection>> db =
      PostgresConnection::Open(url, {.password_file = password_file});
  if (!db.ok()) return SinkError(name, db.status());
  if (absl::Status made = (*db)->ExecSchema(kSchema); !made.ok()) {
    return SinkError(name, made);
  }
  return std::unique_ptr<PostgresAuditSink>(
      new PostgresAuditSink(*std::move(db), std::move(chain)));
}

PostgresAuditSink::PostgresAuditSink(std::unique_ptr<PostgresConnection> db,
                                     std::string chain)
    : db_(std::move(db)),
      chain_(std::move(chain)),
      name_(absl::StrCat("table audit_log, chain ", chain_)) {}

PostgresAuditSink::~PostgresAuditSink() = default;

absl::StatusOr<AuditHead> PostgresAuditSink::Head() {
  absl::StatusOr<AuditHead> head = VerifyChain(*db_, chain_);
  if (head.ok() || !absl::IsFailedPrecondition(head.status())) {
    return head.ok() ? head : SinkError(name_, head.status());
  }
  return absl::FailedPreconditionError(
      absl::StrCat("refusing to continue the audit log's ", name_, ": ",
                   head.status().message()));
}

absl::Status PostgresAuditSink::Append(
    const std::vector<ChainedAuditLine>& lines, const std::string&) {
  if (absl::Status begun = db_->Begin(); !begun.ok()) {
    return SinkError(name_, begun);
  }
  for (const ChainedAuditLine& line : lines) {
    // The primary key refuses a second writer of one chain (a fork).
    absl::StatusOr<PostgresRows> inserted = db_->Exec(
        "INSERT INTO audit_log (chain, seq, sha256, line) VALUES ($1, "
        "$2::bigint, $3, $4)",
        {chain_, absl::StrCat(line.seq), line.sha256, line.text});
    if (!inserted.ok()) {
      db_->Rollback();
      return SinkError(name_, inserted.status());
    }
  }
  absl::Status committed = db_->Commit();
  return committed.ok() ? committed : SinkError(name_, committed);
}

absl::StatusOr<AuditHead> PostgresAuditSink::Recover() {
  absl::StatusOr<PostgresRows> last = db_->Query(
      "SELECT seq, sha256 FROM audit_log WHERE chain = $1 ORDER BY seq DESC "
      "LIMIT 1",
      {chain_});
  if (!last.ok()) return SinkError(name_, last.status());
  if (last->size() == 0) {
    return AuditHead{.sha256 = std::string(kAuditGenesisSha256)};
  }
  return AuditHead{.seq = static_cast<uint64_t>(
                       std::atoll(last->At(0, 0).value_or("0").c_str())),
                   .sha256 = last->At(0, 1).value_or("")};
}

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
