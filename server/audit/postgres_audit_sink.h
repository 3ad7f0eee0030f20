#ifndef LOAN_GATEWAY_SERVER_AUDIT_POSTGRES_AUDIT_SINK_H_
#define LOAN_GATEWAY_SERVER_AUDIT_POSTGRES_AUDIT_SINK_H_

#include <memory>
#include <string>
#include <vector>

#include "audit/audit_sink.h"

namespace loan_gateway {

class PostgresConnection;

// The audit log as rows of the journal's database (--journal_url without
// --audit_log), so that a gateway needs no volume: table audit_log, one
// chain per gateway process (`chain`, e.g. "host/pid/start"), each row one
// line exactly as a file would hold it. A batch is one transaction: there
// whole or not at all, so after a failed one the log reads where its chain
// ends and goes on (recovers). On a session of its own.
class PostgresAuditSink final : public AuditSink {
 public:
  static absl::StatusOr<std::unique_ptr<PostgresAuditSink>> Open(
      const std::string& url, const std::string& password_file,
      std::string chain);
  ~PostgresAuditSink() override;

  absl::StatusOr<AuditHead> Head() override;
  bool reads_back() const override { return true; }
  absl::Status Append(const std::vector<ChainedAuditLine>& lines,
                      const std::string& bytes) override;
  bool recovers() const override { return true; }
  absl::StatusOr<AuditHead> Recover() override;
  const std::string& name() const override { return name_; }

 private:
  PostgresAuditSink(std::unique_ptr<PostgresConnection> db, std::string chain);

  std::unique_ptr<PostgresConnection> db_;
  const std::string chain_;
  const std::string name_;
};

// Every chain in the database, verified (what --verify_audit does for a
// file): each chain's head, or the first broken record of the first chain
// that does not verify (FAILED_PRECONDITION, naming the chain).
struct AuditChainHead {
  std::string chain;
  AuditHead head;
};
absl::StatusOr<std::vector<AuditChainHead>> VerifyAuditTable(
    const std::string& url, const std::string& password_file);

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_AUDIT_POSTGRES_AUDIT_SINK_H_
