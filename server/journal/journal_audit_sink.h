#ifndef LOAN_GATEWAY_SERVER_JOURNAL_JOURNAL_AUDIT_SINK_H_
#define LOAN_GATEWAY_SERVER_JOURNAL_JOURNAL_AUDIT_SINK_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "audit/audit_chain.h"
#include "audit/audit_sink.h"
#include "journal/borrow_journal.h"

namespace loan_gateway {

// The audit log as rows of the journal's table audit_log (the SQLite file
// with --audit_in_journal; PostgreSQL with --journal_url), each row one line
// exactly as a file would hold it. Written through the journal's own
// connection: inside the group open on the calling thread, its lines commit
// with the group's journal writes (AuditLog::OpenDriven); outside one, in a
// transaction of their own. A transaction is there whole or not at all, so
// after a failed one the log reads where the chain ends and goes on
// (recovers).
class JournalAuditSink final : public AuditSink {
 public:
  // `journal` must outlive the sink. `chain`: this process's chain in a
  // database several gateways write ("" in a file); `name`: where it
  // writes, for messages.
  JournalAuditSink(BorrowJournal* journal, std::string chain, std::string name);

  absl::StatusOr<AuditHead> Head() override;
  bool reads_back() const override { return true; }
  absl::Status Append(const std::vector<ChainedAuditLine>& lines,
                      const std::string& bytes) override;
  bool recovers() const override { return true; }
  absl::StatusOr<AuditHead> Recover() override;
  const std::string& name() const override { return name_; }

 private:
  BorrowJournal* const journal_;
  const std::string chain_;
  const std::string name_;
};

// --verify_audit on a journal file: its audit_log table's chain, verified
// as a file of its lines would be (audit_chain.h), read-only (beside a
// running gateway, which WAL allows). Unavailable when it cannot be read.
absl::StatusOr<AuditHead> VerifySqliteAuditTable(const std::string& path);

// Whether `path` is an SQLite database (its file header says so).
bool IsSqliteFile(const std::string& path);

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_JOURNAL_JOURNAL_AUDIT_SINK_H_
