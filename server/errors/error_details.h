#ifndef LOAN_GATEWAY_SERVER_ERRORS_ERROR_DETAILS_H_
#define LOAN_GATEWAY_SERVER_ERRORS_ERROR_DETAILS_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "google/protobuf/any.pb.h"
#include "google/protobuf/message.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

// Rich error details travel inside absl::Status as payloads keyed by their
// protobuf type URL, so every module can describe an error precisely and only
// the service edge turns it into a grpc::Status.
namespace loan_gateway::errors {

// ErrorInfo.domain of every error the gateway returns.
inline constexpr char kDomain[] = "loan-gateway";

// Builds an error with an ErrorInfo{reason, kDomain, metadata}.
absl::Status MakeError(absl::StatusCode code, absl::string_view message,
                       absl::string_view reason,
                       const std::map<std::string, std::string>& metadata = {});

// Attaches `detail` (replacing a detail of the same type).
void AttachDetail(absl::Status& status,
                  const google::protobuf::Message& detail);

// Attaches a RetryInfo with `delay`.
void AttachRetryInfo(absl::Status& status, absl::Duration delay);

// Reads back a detail of type T; false when absent or unreadable.
template <typename T>
bool GetDetail(const absl::Status& status, T* out) {
  google::protobuf::Any any;
  any.PackFrom(*out);
  auto payload = status.GetPayload(any.type_url());
  return payload.has_value() && out->ParseFromString(std::string(*payload));
}

// Every attached detail as an Any, ErrorInfo first, then by type URL.
std::vector<google::protobuf::Any> AllDetails(const absl::Status& status);

// absl::Status <-> google.rpc.Status (code, message, every detail), to store
// an error and give the same one back later.
google::rpc::Status ToRpcStatus(const absl::Status& status);
absl::Status FromRpcStatus(const google::rpc::Status& rpc);

// Adds metadata entries to the status's ErrorInfo (creating one if missing).
void AddErrorMetadata(absl::Status& status,
                      const std::map<std::string, std::string>& metadata);

}  // namespace loan_gateway::errors

#endif  // LOAN_GATEWAY_SERVER_ERRORS_ERROR_DETAILS_H_
