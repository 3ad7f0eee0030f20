#ifndef LOAN_GATEWAY_SERVER_TRANSPORT_OPEN_FILE_LIMIT_H_
#define LOAN_GATEWAY_SERVER_TRANSPORT_OPEN_FILE_LIMIT_H_

#include <cstdint>

#include "absl/status/statusor.h"

namespace loan_gateway {

struct OpenFileLimit {
  uint64_t soft_before = 0;
  uint64_t soft = 0;  // Now in force.
  uint64_t hard = 0;
};

// Raises this process's soft RLIMIT_NOFILE to its hard limit. Every
// connection costs a descriptor; a default soft limit of 1,024 is one any
// peer can exhaust, while the hard limit is what the operator granted.
absl::StatusOr<OpenFileLimit> RaiseOpenFileLimitToHard();

// Raises the open-file limit (logging it) and checks that `connections` (the
// caps of every listener) plus a reserve for the journal, upstream sockets
// and gRPC's own fit below it, so that no number of peers can make an
// accept() fail for want of descriptors.
absl::Status ReserveDescriptorsForConnections(int64_t connections);

// Descriptors this process has open now (counts /proc/self/fd).
int64_t OpenFileCount();

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_TRANSPORT_OPEN_FILE_LIMIT_H_
