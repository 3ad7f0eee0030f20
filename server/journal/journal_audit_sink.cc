#include "journal/journal_audit_sink.h"

#include <sqlite3.h>

#include <cstring>
#include <fstream>

#include "absl/strings/str_cat.h"

namespace loan_gateway {
namespace {

absl::Status SinkError(const std::string& name, const absl::Status& status) {
  return absl::UnavailableError(absl::StrCat(name, ": ", status.message()));
}

}  // namespace

JournalAuditSink::JournalAuditSink(BorrowJournal* journal, std::string chain,
                                   std::string name)
    : journal_(journal), chain_(std::move(chain)), name_(std::move(name)) {}

absl::StatusOr<AuditHead> JournalAuditSink::Head() {
  absl::StatusOr<std::string> text = journal_->AuditLines(chain_);
  if (!text.ok()) return SinkError(name_, text.status());
  absl::StatusOr<AuditHead> head = VerifyAuditText(*text);
  if (head.ok() || !absl::IsFailedPrecondition(head.status())) {
    return head.ok() ? head : SinkError(name_, head.status());
  }
  return absl::FailedPreconditionError(
      absl::StrCat("refusing to continue the audit log's ", name_, ": ",
                   head.status().message()));
}

absl::Status JournalAuditSink::Append(
    const std::vector<ChainedAuditLine>& lines, const std::string&) {
  absl::Status appended = journal_->AppendAuditLines(chain_, lines);
  return appended.ok() ? appended : SinkError(name_, appended);
}

absl::StatusOr<AuditHead> JournalAuditSink::Recover() {
  absl::StatusOr<AuditHead> last = journal_->LastAuditLine(chain_);
  return last.ok() ? last : SinkError(name_, last.status());
}

absl::StatusOr<AuditHead> VerifySqliteAuditTable(const std::string& path) {
  sqlite3* db = nullptr;
  const int opened =
      sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  std::string text;
  absl::Status read = absl::OkStatus();
  sqlite3_stmt* stmt = nullptr;
  if (opened != SQLITE_OK ||
      sqlite3_prepare_v2(db, "SELECT line FROM audit_log ORDER BY seq", -1,
                         &stmt, nullptr) != SQLITE_OK) {
    read = absl::UnavailableError(absl::StrCat("cannot read table audit_log: ",
                                               db ? sqlite3_errmsg(db) : "?"));
  } else {
    int rc = SQLITE_ROW;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      text.append(static_cast<const char*>(sqlite3_column_blob(stmt, 0)),
                  sqlite3_column_bytes(stmt, 0));
    }
    if (rc != SQLITE_DONE) {
      read = absl::UnavailableError(
          absl::StrCat("cannot read table audit_log: ", sqlite3_errmsg(db)));
    }
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  if (!read.ok()) return read;
  return VerifyAuditText(text);
}

bool IsSqliteFile(const std::string& path) {
  static constexpr char kMagic[] = "SQLite format 3";  // With its NUL: 16.
  char header[sizeof(kMagic)] = {};
  std::ifstream in(path, std::ios::binary);
  return in.read(header, sizeof(header)) &&
         std::memcmp(header, kMagic, sizeof(kMagic)) == 0;
}

}  // namespace loan_gateway
