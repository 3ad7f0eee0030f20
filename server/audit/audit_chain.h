#ifndef LOAN_GATEWAY_SERVER_AUDIT_AUDIT_CHAIN_H_
#define LOAN_GATEWAY_SERVER_AUDIT_AUDIT_CHAIN_H_

#include <cstdint>
#include <istream>
#include <string>

#include "absl/status/statusor.h"

namespace loan_gateway {

// The last record of a chain: what the next one continues from. An empty
// chain's head is seq 0 with 64 zeros, what seq 1 carries as prev_sha256.
struct AuditHead {
  uint64_t seq = 0;
  std::string sha256;
};

// Checks a whole audit log (audit_line.h's format): every line is intact
// (its record hashes to its sha256), seqs run 1, 2, 3... and each record's
// prev_sha256 is the previous line's sha256 (64 zeros for seq 1). So an edited
// record, an edit with a recomputed hash, a removed, inserted or moved line
// and a torn last line (no newline: the writer stopped mid-line) all fail:
// FailedPrecondition naming the first broken line, its seq when it has one,
// and what most likely happened. Only removing lines at the end cannot show
// here: compare the head with one kept elsewhere (the gateway logs it at
// every start). Unavailable when `in` cannot be read.
absl::StatusOr<AuditHead> VerifyAuditChain(std::istream& in);

// The same for a chain's whole text (a table's rows, concatenated).
absl::StatusOr<AuditHead> VerifyAuditText(const std::string& text);

// The same for the file at `path`; Unavailable when it cannot be opened.
absl::StatusOr<AuditHead> VerifyAuditFile(const std::string& path);

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_AUDIT_AUDIT_CHAIN_H_
