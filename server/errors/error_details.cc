#include "errors/error_details.h"

#include <algorithm>

#include "google/protobuf/duration.pb.h"
#include "google/protobuf/util/time_util.h"

namespace loan_gateway::errors {
namespace {

std::string TypeUrlOf(const google::protobuf::Message& message) {
  return "type.googleapis.com/" + message.GetDescriptor()->full_name();
}

}  // namespace

absl::Status MakeError(absl::StatusCode code, absl::string_view message,
                       absl::string_view reason,
                       const std::map<std::string, std::string>& metadata) {
  absl::Status status(code, message);
  google::rpc::ErrorInfo info;
  info.set_reason(std::string(reason));
  info.set_domain(kDomain);
  for (const auto& [key, value] : metadata)
    (*info.mutable_metadata())[key] = value;
  AttachDetail(status, info);
  return status;
}

void AttachDetail(absl::Status& status,
                  const google::protobuf::Message& detail) {
  status.SetPayload(TypeUrlOf(detail), absl::Cord(detail.SerializeAsString()));
}

void AttachRetryInfo(absl::Status& status, absl::Duration delay) {
  google::rpc::RetryInfo retry;
  const int64_t ms = std::max<int64_t>(0, absl::ToInt64Milliseconds(delay));
  *retry.mutable_retry_delay() =
      google::protobuf::util::TimeUtil::MillisecondsToDuration(ms);
  AttachDetail(status, retry);
}

std::vector<google::protobuf::Any> AllDetails(const absl::Status& status) {
  std::vector<google::protobuf::Any> details;
  status.ForEachPayload(
      [&](absl::string_view type_url, const absl::Cord& value) {
        google::protobuf::Any any;
        any.set_type_url(std::string(type_url));
        any.set_value(std::string(value));
        details.push_back(std::move(any));
      });
  const std::string error_info_url = TypeUrlOf(google::rpc::ErrorInfo());
  std::sort(details.begin(), details.end(), [&](const auto& a, const auto& b) {
    const bool a_first = a.type_url() == error_info_url;
    const bool b_first = b.type_url() == error_info_url;
    if (a_first != b_first) return a_first;
    return a.type_url() < b.type_url();
  });
  return details;
}

google::rpc::Status ToRpcStatus(const absl::Status& status) {
  google::rpc::Status rpc;
  rpc.set_code(static_cast<int>(status.code()));
  rpc.set_message(std::string(status.message()));
  for (auto& any : AllDetails(status)) *rpc.add_details() = std::move(any);
  return rpc;
}

absl::Status FromRpcStatus(const google::rpc::Status& rpc) {
  absl::Status status(static_cast<absl::StatusCode>(rpc.code()), rpc.message());
  for (const auto& any : rpc.details()) {
    status.SetPayload(any.type_url(), absl::Cord(any.value()));
  }
  return status;
}

void AddErrorMetadata(absl::Status& status,
                      const std::map<std::string, std::string>& metadata) {
  google::rpc::ErrorInfo info;
  if (!GetDetail(status, &info)) info.set_domain(kDomain);
  for (const auto& [key, value] : metadata)
    (*info.mutable_metadata())[key] = value;
  AttachDetail(status, info);
}

}  // namespace loan_gateway::errors
