#ifndef LOAN_GATEWAY_SERVER_AUDIT_POSTGRES_AUDIT_TABLE_H_
#define LOAN_GATEWAY_SERVER_AUDIT_POSTGRES_AUDIT_TABLE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "audit/audit_chain.h"

namespace loan_gateway {

// Every chain of the journal database's table audit_log (written by each
// gateway process in its journal's transactions: JournalAuditSink),
// verified as a file of its lines would be (what --verify_audit does for a
// file): each chain's head, or the first broken record of the first chain
// that does not verify (FAILED_PRECONDITION, naming the chain).
struct AuditChainHead {
  std::string chain;
  AuditHead head;
};
absl::StatusOr<std::vector<AuditChainHead>> VerifyAuditTable(
    const std::string& url, const std::string& password_file);

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_AUDIT_POSTGRES_AUDIT_TABLE_H_
