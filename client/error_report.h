#ifndef LOAN_GATEWAY_CLIENT_ERROR_REPORT_H_
#define LOAN_GATEWAY_CLIENT_ERROR_REPORT_H_

#include <grpcpp/support/status.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "institutional_loan/v1/error_reason.pb.h"

namespace loan_gateway::client {

// Everything a gRPC error from the gateway says, decoded from its
// google.rpc.Status details.
struct ErrorReport {
  grpc::StatusCode code = grpc::StatusCode::UNKNOWN;
  std::string message;
  std::string reason;  // ErrorInfo.reason, as sent.
  // The same as the API's enum; ERROR_REASON_UNSPECIFIED when there is none
  // or it is newer than this client.
  institutional_loan::v1::ErrorReason reason_code =
      institutional_loan::v1::ERROR_REASON_UNSPECIFIED;
  std::string domain;
  std::map<std::string, std::string> metadata;
  std::vector<std::pair<std::string, std::string>> bad_fields;  // field, why
  std::vector<std::string> preconditions;                       // descriptions
  std::vector<std::string> quota;                               // descriptions
  std::optional<double> retry_after_seconds;
  // The borrow may have executed: an UNKNOWN outcome, or a failure of the
  // call itself (no ErrorInfo from the gateway: connection lost, gateway
  // killed, deadline passed) after the request may have reached it.
  bool may_have_executed = false;
};

ErrorReport DecodeError(const grpc::Status& status);

// Human-readable, several lines.
std::string FormatHuman(const ErrorReport& report);
// One JSON object.
std::string FormatJson(const ErrorReport& report);

}  // namespace loan_gateway::client

#endif  // LOAN_GATEWAY_CLIENT_ERROR_REPORT_H_
