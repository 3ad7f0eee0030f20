#ifndef LOAN_GATEWAY_SERVER_SERVICE_CALL_AUDIT_H_
#define LOAN_GATEWAY_SERVER_SERVICE_CALL_AUDIT_H_

#include <string>

#include "absl/status/statusor.h"
#include "institutional_loan/v1/institutional_loan.pb.h"
#include "loan_gateway/audit/v1/audit_record.pb.h"
#include "policy/access_policy.h"
#include "service/operation_call.h"

namespace loan_gateway {

// What the audit trail records of the gateway's decisions. Never the key,
// a signature or a signed payload: only who, what, the rule, the outcome.

// The rule that let a caller in: "callers[<identity>]", or the sandbox's.
std::string AllowingRuleName(const CallerRule* rule);

// Any answered call (GetBorrow, GatewayAdmin, a call refused before its
// request was read): ALLOWED when `status` is OK or not the policy's
// refusal (the rule: `rule`), DENIED with the rule the refusal names.
audit::v1::AuditRecord CallAnsweredRecord(const std::string& method,
                                          const std::string& caller,
                                          const CallerRule* rule,
                                          const absl::Status& status);

// One Borrow's answer: the above, and what it asked and came to.
audit::v1::AuditRecord BorrowAnsweredRecord(
    const OperationCall& call,
    const absl::StatusOr<institutional_loan::v1::BorrowResponse>& result);

// A borrow request about to be signed with `signed_ms` and sent.
audit::v1::AuditRecord RequestSignedRecord(const OperationCall& call,
                                           int64_t signed_ms);

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_SERVICE_CALL_AUDIT_H_
