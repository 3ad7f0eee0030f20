#ifndef LOAN_GATEWAY_SERVER_HALT_SHARED_HALT_STORE_H_
#define LOAN_GATEWAY_SERVER_HALT_SHARED_HALT_STORE_H_

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace loan_gateway {

// A halt in force: who set it, why, since when.
struct HaltRecord {
  std::string by;  // The caller's identity, or "halt file".
  std::string reason;
  absl::Time since;
  bool persisted = true;  // False: it could not be written where it belongs.
};

// Where a halt is shared by every gateway of a journal (its database), so
// that a halt through one stops them all and survives a take-over.
// Thread-safe.
class SharedHaltStore {
 public:
  virtual ~SharedHaltStore() = default;
  // The halt in force, if any.
  virtual absl::StatusOr<std::optional<HaltRecord>> Read() = 0;
  // Halts, keeping a halt already in force; returns the one in force.
  virtual absl::StatusOr<HaltRecord> Write(const HaltRecord& record) = 0;
  virtual absl::Status Clear() = 0;
};

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_HALT_SHARED_HALT_STORE_H_
